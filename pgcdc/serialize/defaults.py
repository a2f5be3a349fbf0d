"""A column's default as Debezium 3.6 puts it in the field schema (PostgresDefaultValueConverter).

The ``pg_get_expr`` text is reduced to its first quoted literal (or the bare token), a function call or
CURRENT_* becomes a per-type placeholder (0, '', 1970-01-01, ...), and the result goes through the value
converter, so it is spelled like a value. Anything Debezium cannot parse (an expression, 'NaN'::numeric,
'infinity'::timestamptz) leaves the field without a default; so do types it has no parser for (bytea, timetz,
money, inet, hstore, arrays...) and every column of a domain type (Debezium looks the parser up by the domain's
name). JsonConverter writes the default for a null.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from pgcdc.decode.modes import TypeModes
from pgcdc.decode.relation import ColumnInfo
from pgcdc.decode.values.binary import bit_length, bits_converter
from pgcdc.decode.values.calendar import epoch_day, zoned_timestamp
from pgcdc.decode.values.interval import iso_interval, micro_duration, parse_interval
from pgcdc.decode.values.java_number import (
    decimal_base64,
    float32_shortest,
    java_double,
    java_float,
    plain_decimal,
)
from pgcdc.decode.values.numeric import numeric_shape
from pgcdc.decode.values.temporal import date_renderer, time_precision, time_renderer, timestamp_renderer
from pgcdc.errors import DecodeError

ABSENT = object()
"""The column has no default in its schema."""
_NS_PER_DAY = 86_400_000_000_000
_MAX_NANOS_OF_DAY = _NS_PER_DAY - 1  # LocalTime.MAX / LocalDateTime.MAX end on .999999999
_MAX_DAY, _MIN_DAY = epoch_day(999999999, 12, 31), epoch_day(-999999999, 1, 1)  # LocalDate.MAX / MIN


class _NoDefault(Exception):
    """Debezium could not turn the default expression into a value; the schema then has no default."""


# PostgresDefaultValueConverter's patterns. Java's '.' stops at any line terminator, hence the class.
_FUNCTION = re.compile(r"\(?[A-Za-z0-9_.]+\([^\n\r\x85\u2028\u2029]*\)")
_LITERAL = re.compile(r"'([^']*(?:''[^']*)*)'")
_CURRENT = {"current_timestamp", "current_time", "current_date", "localtime", "localtimestamp"}
_JAVA_INT = re.compile(r"[+-]?[0-9]+")
_JAVA_DECIMAL = re.compile(r"[+-]?(?:([0-9]+)(?:\.([0-9]*))?|\.([0-9]+))(?:[eE]([+-]?[0-9]+))?")
_JAVA_FLOAT = re.compile(r"[+-]?(?:NaN|Infinity|(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)[fFdD]?")
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_LOCAL_TIME = re.compile(r"([0-9]{2}):([0-9]{2})(?::([0-9]{2})(?:\.([0-9]{0,9}))?)?")
_JAVA_WHITESPACE = "".join(chr(c) for c in range(33))  # String.trim() strips every char <= U+0020
# Debezium trims the expression for these types only (TRIM_DATA_TYPES); text keeps its spaces.
_TRIMMED = {
    "bool",
    "numeric",
    "float4",
    "float8",
    "int2",
    "int4",
    "int8",
    "uuid",
    "date",
    "time",
    "timestamp",
    "timestamptz",
    "bit",
    "varbit",
    "interval",
}


def column_default(column: ColumnInfo, modes: TypeModes) -> object:
    """The schema default of ``column``, or ``ABSENT``."""
    expr = column.default_expr
    if expr is None or column.type_kind == "d" or column.element_type_name is not None:
        return ABSENT
    parse = _enum if column.enum_values else _DEFAULT_PARSERS.get(column.type_name)
    if parse is None:
        return ABSENT
    if column.type_name in _TRIMMED:
        expr = expr.strip(_JAVA_WHITESPACE)
    try:
        return parse(column, modes, expr)
    except (_NoDefault, ValueError, OverflowError, DecodeError):
        return ABSENT


def _extract(expr: str, placeholder: str) -> str:
    """The literal inside a default expression; ``placeholder`` when a function or CURRENT_* generates it."""
    if _FUNCTION.match(expr) or expr.lower() in _CURRENT:
        return placeholder
    if "'" not in expr:
        if expr.startswith("NULL::"):
            raise _NoDefault
        return expr
    match = _LITERAL.search(expr)
    if match is None:
        raise _NoDefault
    return match.group(1).replace("''", "'")


def _not_null(expr: str) -> str:
    # parseNullDefault: a NULL cast is no default at all.
    if expr.startswith("NULL::"):
        raise _NoDefault
    return expr


def _int(bits: int) -> _DefaultParser:
    def parse(column: ColumnInfo, modes: TypeModes, expr: str) -> object:
        text = _extract(_not_null(expr), "0")
        if _JAVA_INT.fullmatch(text) is None:
            raise _NoDefault
        value = int(text)
        if -(2 ** (bits - 1)) <= value < 2 ** (bits - 1):
            return value
        raise _NoDefault

    return parse


def _numeric(column: ColumnInfo, modes: TypeModes, expr: str) -> object:
    text = _extract(_not_null(expr), "0.0")
    match = _JAVA_DECIMAL.fullmatch(text)
    if match is None:
        raise _NoDefault  # 'NaN'::numeric among others: new BigDecimal() refuses it
    whole, fraction, bare_fraction, exponent = match.groups()
    fraction = fraction or bare_fraction or ""
    unscaled = int((whole or "") + fraction or "0") * (-1 if text.startswith("-") else 1)
    scale = len(fraction) - int(exponent or 0)
    shape = numeric_shape(column)
    if shape is not None:
        # setScale without rounding: a default with more digits than the column has fails in Debezium too.
        if scale < shape[1]:
            unscaled *= 10 ** (shape[1] - scale)
        elif scale > shape[1]:
            unscaled, dropped = divmod(unscaled, 10 ** (scale - shape[1]))
            if dropped:
                raise _NoDefault
        scale = shape[1]
    mode = modes.decimal_handling_mode
    if mode == "double":
        return java_double(float(plain_decimal(unscaled, scale)))
    if mode == "string":
        return plain_decimal(unscaled, scale)
    if shape is None:
        raise _NoDefault  # a VariableScaleDecimal default is a Struct, which Connect refuses (KAFKA-12694)
    return decimal_base64(unscaled)


def _float(single: bool) -> _DefaultParser:
    def parse(column: ColumnInfo, modes: TypeModes, expr: str) -> object:
        text = _extract(_not_null(expr), "0.0").strip(_JAVA_WHITESPACE)
        if _JAVA_FLOAT.fullmatch(text) is None:
            raise _NoDefault
        value = float(text.rstrip("fFdD"))
        return java_float(float32_shortest(value)) if single else java_double(value)

    return parse


def _bool(column: ColumnInfo, modes: TypeModes, expr: str) -> object:
    return _extract(_not_null(expr), "false").lower() == "true"


def _string(placeholder: str) -> _DefaultParser:
    return lambda column, modes, expr: _extract(expr, placeholder)


def _uuid(column: ColumnInfo, modes: TypeModes, expr: str) -> object:
    text = _extract(expr, "00000000-0000-0000-0000-000000000000")
    if _UUID.fullmatch(text) is None:
        raise _NoDefault
    return text.lower()


def _date(column: ColumnInfo, modes: TypeModes, expr: str) -> object:
    text = _extract(expr, "1970-01-01")
    if text in ("infinity", "-infinity"):  # LocalDateTime.MAX / MIN
        return date_renderer(modes)(_MAX_DAY if text[0] == "i" else _MIN_DAY)
    day, _, _ = _backend_timestamp(text)
    return date_renderer(modes)(day)


def _time(column: ColumnInfo, modes: TypeModes, expr: str) -> object:
    text = _extract(expr, "00:00")
    if text == "24:00:00":  # pgjdbc reads it as LocalTime.MAX
        nanos = _MAX_NANOS_OF_DAY
    else:
        match = _LOCAL_TIME.fullmatch(text)  # LocalTime.parse: strict ISO_LOCAL_TIME
        if match is None:
            raise _NoDefault
        hour, minute, second, fraction = match.groups()
        if int(hour) > 23 or int(minute) > 59 or int(second or 0) > 59:
            raise _NoDefault
        seconds = (int(hour) * 60 + int(minute)) * 60 + int(second or 0)
        nanos = seconds * 10**9 + int((fraction or "0").ljust(9, "0"))
    return time_renderer(time_precision(column), modes)(nanos)


def _timestamp(column: ColumnInfo, modes: TypeModes, expr: str) -> object:
    text = _extract(expr, "1970-01-01")
    if text in ("infinity", "-infinity"):  # OffsetDateTime.MAX / MIN, of which only the local part is used
        nanos = _MAX_DAY * _NS_PER_DAY + _MAX_NANOS_OF_DAY if text[0] == "i" else _MIN_DAY * _NS_PER_DAY
    else:
        day, nanos_of_day, _ = _backend_timestamp(text)
        nanos = day * _NS_PER_DAY + nanos_of_day
    return timestamp_renderer(time_precision(column), modes)(nanos)


def _timestamptz(column: ColumnInfo, modes: TypeModes, expr: str) -> object:
    text = _extract(expr, "1970-01-01")
    if text in ("infinity", "-infinity"):
        raise _NoDefault  # OffsetDateTime.MAX cannot be moved to UTC
    day, nanos_of_day, offset = _backend_timestamp(text)
    return zoned_timestamp(day * _NS_PER_DAY + nanos_of_day - offset * 10**9, time_precision(column))


def _backend_timestamp(text: str) -> tuple[int, int, int]:
    """pgjdbc's parseBackendTimestamp: [date] [time] [offset] [AD|BC] -> (epoch day, nanos of day, offset)."""
    match = _BACKEND.fullmatch(text)
    if match is None or (match.group(1) is None and match.group(4) is None):
        raise _NoDefault
    year, month, day, hour, minute, second, fraction, sign, off_h, off_m, off_s, era = match.groups()
    if hour is not None and (int(hour) > 23 or int(minute) > 59 or int(second) > 59):
        raise _NoDefault
    y = int(year or 1970)
    days = epoch_day(y if era != "BC" else 1 - y, int(month or 1), int(day or 1))
    nanos = ((int(hour or 0) * 60 + int(minute or 0)) * 60 + int(second or 0)) * 10**9
    nanos += int((fraction or "0")[:9].ljust(9, "0"))
    offset = (int(off_h or 0) * 60 + int(off_m or 0)) * 60 + int(off_s or 0)
    return days, nanos, -offset if sign == "-" else offset


_BACKEND = re.compile(
    r"\s*(?:([0-9]+)-([0-9]+)-([0-9]+)\s*)?"
    r"(?:([0-9]+):([0-9]+):([0-9]+)(?:\.([0-9]*))?\s*)?"
    r"(?:([+-])([0-9]+)(?::([0-9]+))?(?::([0-9]+))?\s*)?"
    r"(AD|BC)?"
)


def _bits(placeholder: str) -> _DefaultParser:
    def parse(column: ColumnInfo, modes: TypeModes, expr: str) -> object:
        text = _extract(expr, placeholder)
        if bit_length(column) <= 1 and len(text) == 1:
            return text == "1"  # the mapper's own Boolean for a one-character bit default
        return bits_converter(column, modes)(text)

    return parse


def _interval(column: ColumnInfo, modes: TypeModes, expr: str) -> object:
    fields = parse_interval(_extract(expr, "epoch"))
    return iso_interval(fields) if modes.interval_handling_mode == "string" else micro_duration(fields)


def _enum(column: ColumnInfo, modes: TypeModes, expr: str) -> object:
    # extractEnumDefault: '<label>'::<the enum's type name>, the label taken verbatim between the quotes.
    cast = expr.rfind("::")
    if cast < 0 or expr[cast + 2 :].replace('"', "").rpartition(".")[2] != column.type_name:
        raise _NoDefault
    literal = expr[:cast]
    if len(literal) < 2 or literal[0] != "'" or literal[-1] != "'":
        raise _NoDefault
    return literal[1:-1]


_DefaultParser = Callable[[ColumnInfo, TypeModes, str], object]
_DEFAULT_PARSERS: dict[str, _DefaultParser] = {
    "int2": _int(16),
    "int4": _int(32),
    "int8": _int(64),
    "numeric": _numeric,
    "float4": _float(True),
    "float8": _float(False),
    "bool": _bool,
    "text": _string(""),
    "varchar": _string(""),
    "bpchar": _string(""),
    "json": _string("{}"),
    "jsonb": _string("{}"),
    "uuid": _uuid,
    "date": _date,
    "time": _time,
    "timestamp": _timestamp,
    "timestamptz": _timestamptz,
    "bit": _bits("00"),
    "varbit": _bits("0"),
    "xml": _string(""),
    "interval": _interval,
}
