"""Numbers: integers, floats, numeric (precise/double/string), money and oid as Debezium writes them."""

from __future__ import annotations

from decimal import Decimal

from pgcdc.decode.modes import TypeModes
from pgcdc.decode.relation import ColumnInfo
from pgcdc.decode.values.converter import Converter, malformed, missing
from pgcdc.decode.values.java_number import decimal_base64, java_double, java_float

SPECIAL_DECIMALS = {"NaN": "NAN", "Infinity": "POSITIVE_INFINITY", "-Infinity": "NEGATIVE_INFINITY"}
"""numeric's NaN and infinities as Debezium's string mode spells them."""


MAX_SCALE = 1000
"""The largest scale PostgreSQL declares; a larger one is how Debezium reads a negative scale."""


def numeric_shape(column: ColumnInfo) -> tuple[int, int] | None:
    """(precision, scale) of ``numeric(p,s)`` as Debezium reads them, or None for a numeric without typmod.

    pgjdbc, which Debezium asks, takes the scale's 16 low bits; PostgreSQL 15+ keeps the scale as an 11-bit
    signed number, so ``numeric(5,-2)`` reads as scale 2046: Debezium writes its values (12300, say) right, with
    2046 zeros after the point, and pgcdc does the same.
    """
    if column.type_modifier < 4:
        return None
    packed = column.type_modifier - 4
    return (packed >> 16) & 0xFFFF, packed & 0xFFFF


def integer(what: str, bits: int) -> Converter:
    low, high = -(2 ** (bits - 1)), 2 ** (bits - 1) - 1

    def convert(text: str) -> object:
        try:
            value = int(text)
        except ValueError:
            raise malformed(what, text) from None
        if low <= value <= high:
            return value
        raise malformed(what, text)

    return convert


def boolean(text: str) -> object:
    # PgOutputColumnValue.asBoolean: "t" in any case is true, anything else false.
    return text == "t" or text == "T"


def parse_float(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise malformed("floating-point", text) from None


def numeric_converter(column: ColumnInfo, modes: TypeModes) -> Converter | None:
    shape = numeric_shape(column)
    mode = modes.decimal_handling_mode
    if mode == "double":
        return lambda text: java_double(parse_float(text))
    if mode == "string":
        special = SPECIAL_DECIMALS
        if shape is not None and shape[1] > MAX_SCALE:
            return _negative_scale_text(shape[1])
        return lambda text: special.get(text, text)  # PostgreSQL already prints the plain, scaled form
    absent = missing(column, "NaN/Infinity numeric")
    if shape is None:
        return variable_decimal(absent)
    return fixed_decimal(shape[1], absent)


def _negative_scale_text(scale: int) -> Converter:
    """String mode of a negative scale (see numeric_shape): PostgreSQL prints a whole number, Debezium then
    ``scale`` zeros after a point."""
    zeros = "." + "0" * scale
    special = SPECIAL_DECIMALS

    def convert(text: str) -> object:
        return special[text] if text in special else text + zeros

    return convert


def fixed_decimal(scale: int, absent: Converter) -> Converter:
    def convert(text: str) -> object:
        point = text.find(".")
        digits = text if point < 0 else text[:point] + text[point + 1 :]
        try:
            unscaled = _digits(digits)
        except ValueError:
            if text in SPECIAL_DECIMALS:
                return absent(text)
            raise malformed("numeric", text) from None
        places = 0 if point < 0 else len(text) - point - 1
        if places != scale:
            if places < scale:
                unscaled *= 10 ** (scale - places)
            else:
                unscaled, dropped = divmod(unscaled, 10 ** (places - scale))
                if dropped:
                    raise malformed("numeric", text)
        return decimal_base64(unscaled)

    return convert


def variable_decimal(absent: Converter) -> Converter:
    def convert(text: str) -> object:
        point = text.find(".")
        if point < 0:
            fraction, digits = "", text
        else:
            fraction = text[point + 1 :].rstrip("0")  # stripTrailingZeros, but never a negative scale
            digits = text[:point] + fraction
        try:
            unscaled = _digits(digits)
        except ValueError:
            if text in SPECIAL_DECIMALS:
                return absent(text)
            raise malformed("numeric", text) from None
        return {"scale": len(fraction), "value": decimal_base64(unscaled)}

    return convert


def _digits(text: str) -> int:
    """int(text), also past Python's 4300-digit limit for str -> int (numeric has up to 147455 digits)."""
    if len(text) < 4000:
        return int(text)
    if not text.lstrip("-").isdigit() or not text.isascii():
        raise ValueError(text[:80])
    return int(Decimal(text))


def float4_converter(column: ColumnInfo, modes: TypeModes) -> Converter:
    return lambda text: java_float(parse_float(text))


def float8_converter(column: ColumnInfo, modes: TypeModes) -> Converter:
    return lambda text: java_double(parse_float(text))


def money_converter(column: ColumnInfo, modes: TypeModes) -> Converter:
    """money: PostgresMoney's reading of cash_out text ($1,234.56, -$1.00), by decimal.handling.mode; precise
    rounds half up to money.fraction.digits."""
    mode = modes.decimal_handling_mode
    if mode == "string":
        return _money_text
    if mode == "double":
        return lambda text: java_double(float(_money_text(text)))
    digits = modes.money_fraction_digits

    def precise(text: str) -> object:
        whole, _, fraction = _money_text(text).partition(".")
        negative = whole.startswith("-")
        unscaled = int((whole.lstrip("-") or "0") + fraction[:digits].ljust(digits, "0"))
        if fraction[digits : digits + 1] >= "5":  # HALF_UP: the first dropped digit decides
            unscaled += 1
        return decimal_base64(-unscaled if negative else unscaled)

    return precise


def _money_text(text: str) -> str:
    # PostgresMoney.removeCurrencySymbol: sign or parentheses, then one currency character, then no commas.
    if not text:
        raise malformed("money", text)
    negative = text[0] in "(-"
    value = text[1:] if negative else text
    if value.endswith(")"):
        value = value[:-1]
    if value and not value[0].isdigit() and value[0] != ".":
        value = value[1:]
    value = value.replace(",", "")
    whole, _, fraction = value.partition(".")
    if not (whole or fraction) or not (whole + fraction).isdigit() or not value.isascii():
        raise malformed("money", text)
    return "-" + value if negative else value


def oid_converter(column: ColumnInfo, modes: TypeModes) -> Converter:
    return integer("oid", 64)
