"""Numbers as Java and Jackson write them: Double/Float.toString spellings and BigDecimal bytes and text.

Floats are returned as ``orjson.Fragment`` holding Java's spelling (``1.0E16``, ``100.0``), because orjson spells
numbers differently from Jackson.
"""

from __future__ import annotations

import struct
from binascii import b2a_base64
from decimal import Decimal

import orjson

_FLOAT32 = struct.Struct("<f")
_BITS32 = struct.Struct("<I")
_MAX_FLOAT32_BITS = 0x7F7FFFFF
_MIN_NORMAL_DOUBLE = 2.2250738585072014e-308
_MIN_NORMAL_FLOAT = 1.1754943508222875e-38
_INF, _MINUS_INF = float("inf"), float("-inf")


def java_double(value: float) -> object:
    """A double as Jackson writes it: Java's Double.toString spelling, NaN and the infinities as strings."""
    if value != value or value in (_INF, _MINUS_INF):
        return java_double_text(value)
    return orjson.Fragment(java_double_text(value))


def java_double_text(value: float) -> str:
    """Double.toString(value): ``1.0``, ``1.0E300``, ``-0.0``, ``NaN``, ``Infinity``."""
    if value != value:
        return "NaN"
    if value in (_INF, _MINUS_INF):
        return "Infinity" if value > 0 else "-Infinity"
    if 1e-3 <= abs(value) < 1e7:
        return repr(value)  # Python and Java both write this range plainly: 100.0, 0.001
    text = repr(value)
    if 0 < abs(value) < _MIN_NORMAL_DOUBLE:
        text = _two_digits(text, value)
    return _java_spelling(text)


def java_float(value: float) -> object:
    """A float (single precision) as Jackson writes it; ``value`` is the shortest decimal of the float32."""
    if value != value or value in (float("inf"), float("-inf")):
        return java_double(value)
    if 1e-3 <= abs(value) < 1e7:
        return orjson.Fragment(repr(value))
    text = repr(value)
    if 0 < abs(value) < _MIN_NORMAL_FLOAT:
        text = _two_digits(text, _exact32(value))
    return orjson.Fragment(_java_spelling(text))


def float32_shortest(value: float) -> float:
    """The float32 nearest ``value`` (Float.parseFloat), as the double whose repr is its shortest decimal.

    Like PostgreSQL's float4out (and what the oracle's Java wrote), a decimal exactly halfway to a neighbour
    does not count as reading back: 3e10 is spelled 3.0000001E10.
    """
    exact = _exact32(value)
    if exact != exact or exact in (float("inf"), float("-inf")) or exact == 0:
        return exact
    (bits,) = _BITS32.unpack(_FLOAT32.pack(abs(exact)))
    here = Decimal(abs(exact))
    below = (here + Decimal(_float32_of_bits(bits - 1))) / 2
    above = (
        here + (here - below)
        if bits == _MAX_FLOAT32_BITS
        else (here + Decimal(_float32_of_bits(bits + 1))) / 2
    )
    for digits in range(1, 10):
        text = f"{abs(exact):.{digits - 1}e}"
        if below < Decimal(text) < above:
            return float(text) if exact > 0 else -float(text)
    return exact


def _exact32(value: float) -> float:
    exact: float = _FLOAT32.unpack(_FLOAT32.pack(value))[0]
    return exact


def _float32_of_bits(bits: int) -> float:
    exact: float = _FLOAT32.unpack(_BITS32.pack(bits))[0]
    return exact


def _two_digits(text: str, exact: float) -> str:
    # Java (JDK 19+) never writes a one-digit significand: among two-digit decimals that round to the value it
    # takes the closest, which differs from the one digit only for subnormals (4.9E-324, 1.4E-45).
    significant = text.lstrip("-").partition("e")[0].replace(".", "").strip("0")
    return f"{exact:.1e}" if len(significant) == 1 else text


def _java_spelling(text: str) -> str:
    """Python's shortest repr -> Java's layout: plain for 1e-3 <= |v| < 1e7, else d.dddE<n>."""
    sign = ""
    if text[0] == "-":
        sign, text = "-", text[1:]
    mantissa, _, exponent = text.partition("e")
    whole, _, fraction = mantissa.partition(".")
    digits = whole + fraction
    significant = digits.lstrip("0")
    if not significant:
        return sign + "0.0"
    point = len(whole) - 1 - (len(digits) - len(significant)) + (int(exponent) if exponent else 0)
    significant = significant.rstrip("0")
    if -3 <= point < 7:
        if point < 0:
            return f"{sign}0.{'0' * (-point - 1)}{significant}"
        return f"{sign}{significant[: point + 1].ljust(point + 1, '0')}.{significant[point + 1 :] or '0'}"
    return f"{sign}{significant[0]}.{significant[1:] or '0'}E{point}"


def decimal_base64(unscaled: int) -> str:
    """Base64 of Java's BigInteger.toByteArray(): minimal two's complement, big-endian, at least one byte."""
    size = ((unscaled if unscaled >= 0 else ~unscaled).bit_length() >> 3) + 1
    return b2a_base64(unscaled.to_bytes(size, "big", signed=True), newline=False).decode("ascii")


def plain_decimal(unscaled: int, scale: int) -> str:
    """Java's BigDecimal.toPlainString() of unscaled * 10**-scale."""
    if scale <= 0:
        return str(unscaled * 10**-scale)
    digits = str(abs(unscaled)).rjust(scale + 1, "0")
    return f"{'-' if unscaled < 0 else ''}{digits[:-scale]}.{digits[-scale:]}"
