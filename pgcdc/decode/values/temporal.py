"""pgoutput column text -> the Python value whose JSON is what Debezium + JsonConverter write for the column.

A converter is chosen once per column, so the per-value call does no mode branching. Values come from
PostgreSQL's output functions with the server defaults DateStyle ISO, bytea_output hex and
extra_float_digits 1 (shortest round-trip floats, the digits Java writes too). Floats are returned as
``orjson.Fragment`` holding Java's spelling (``1.0E16``, ``100.0``), because orjson spells numbers
differently from Jackson. The renderers here (dates, times, timestamps, floats, decimals) are also
what ``pgcdc.serialize.fields`` uses for column defaults, so a default is spelled like a value.
"""

from __future__ import annotations

import re
import struct
from base64 import urlsafe_b64encode
from binascii import Error as BinasciiError
from binascii import a2b_hex, b2a_base64
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import orjson

from pgcdc.decode.modes import TypeModes
from pgcdc.decode.relation import ColumnInfo
from pgcdc.errors import DecodeError

Converter = Callable[[str], object]
"""pgoutput text of a non-null value -> its JSON-ready value."""
Render = Callable[[int], object]
"""A canonical integer (epoch day, nanos of day, epoch nanos) -> its JSON-ready value."""

_I64_MIN, _I64_MAX = -(2**63), 2**63 - 1
_NS_PER_DAY = 86_400_000_000_000
_SAFE_NANOS = (_I64_MAX - 1_000_000) * 1000
# Debezium's stand-ins for PostgreSQL's infinities (PostgresValueConverter): instants given in micros, and for
# dates two LocalDates far in the past, which is what the connector really emits when streaming.
_INFINITY_NS = 9223372036825200000 * 1000
_MINUS_INFINITY_NS = -9223372036832400000 * 1000
_EPOCH = datetime(1970, 1, 1)
_EPOCH_ORDINAL = _EPOCH.toordinal()
_MICROSECOND = timedelta(microseconds=1)
_from_iso_date = date.fromisoformat
_from_iso_datetime = datetime.fromisoformat
_SPECIAL_DECIMALS = {"NaN": "NAN", "Infinity": "POSITIVE_INFINITY", "-Infinity": "NEGATIVE_INFINITY"}
_FLOAT32 = struct.Struct("<f")
_BITS32 = struct.Struct("<I")
_MAX_FLOAT32_BITS = 0x7F7FFFFF
_MIN_NORMAL_DOUBLE = 2.2250738585072014e-308
_MIN_NORMAL_FLOAT = 1.1754943508222875e-38

_DATE = re.compile(r"([0-9]{4,10})-([0-9]{2})-([0-9]{2})(?: (AD|BC))?")
_TIME = re.compile(r"([0-9]*):([0-9]*):([0-9]*)(?:\.([0-9]*))?")
_CLOCK = r"([0-9]{2}):([0-9]{2})(?::([0-9]{2})(?:\.([0-9]{0,9}))?)?"
_OFFSET = r"([+-])([0-9]{2})(?::([0-9]{2}))?"
_TIMESTAMP = re.compile(
    r"([0-9]{4,10})-([0-9]{2})-([0-9]{2}) " + _CLOCK + r"(?:" + _OFFSET + r"(?::([0-9]{2}))?)?(?: (AD|BC))?"
)
_TIMETZ = re.compile(_CLOCK + _OFFSET)
_TIMETZ_SECONDS = re.compile(_CLOCK + _OFFSET + r":[0-9]{2}")


def _malformed(what: str, text: str) -> DecodeError:
    return DecodeError(
        f"malformed {what} value {text[:80]!r} in pgoutput; check that the server runs with "
        "DateStyle ISO and bytea_output hex, then report it if it persists"
    )


def value_converter(column: ColumnInfo, modes: TypeModes) -> Converter | None:
    """The converter for ``column`` under ``modes``, or None when pgcdc does not support its type yet."""
    factory = _FACTORIES.get(column.type_name)
    return None if factory is None else factory(column, modes)


# --- shared with pgcdc.serialize.fields -------------------------------------------------------------------


def time_precision(column: ColumnInfo) -> int:
    """Fractional-second digits of a time/timestamp column; PostgreSQL's default is 6."""
    return 6 if column.type_modifier < 0 else column.type_modifier


def numeric_shape(column: ColumnInfo) -> tuple[int, int] | None:
    """(precision, scale) of ``numeric(p,s)``, or None for a numeric without typmod (variable scale)."""
    if column.type_modifier < 4:
        return None
    packed = column.type_modifier - 4
    # PostgreSQL 15 keeps the scale as an 11-bit signed number.
    return (packed >> 16) & 0xFFFF, ((packed & 0x7FF) ^ 1024) - 1024


def java_double(value: float) -> object:
    """A double as Jackson writes it: Java's Double.toString spelling, NaN and the infinities as strings."""
    if value != value:
        return "NaN"
    if value in (float("inf"), float("-inf")):
        return "Infinity" if value > 0 else "-Infinity"
    if 1e-3 <= abs(value) < 1e7:
        return orjson.Fragment(repr(value))  # Python and Java both write this range plainly: 100.0, 0.001
    text = repr(value)
    if 0 < abs(value) < _MIN_NORMAL_DOUBLE:
        text = _two_digits(text, value)
    return orjson.Fragment(_java_spelling(text))


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


def epoch_day(year: int, month: int, day: int) -> int:
    """Days since 1970-01-01 of a proleptic Gregorian date (year 0 is 1 BC); ValueError if there is none."""
    if not (1 <= month <= 12 and 1 <= day <= 31) or (day > 28 and day > _month_length(year, month)):
        raise ValueError(f"no such date {year}-{month}-{day}")
    # Howard Hinnant's days_from_civil; floor division keeps it right for negative years.
    y = year - (month <= 2)
    era = y // 400
    yoe = y - era * 400
    doy = (153 * ((month + 9) % 12) + 2) // 5 + day - 1
    return era * 146097 + yoe * 365 + yoe // 4 - yoe // 100 + doy - 719468


def _month_length(year: int, month: int) -> int:
    if month == 2:
        return 29 if year % 4 == 0 and (year % 100 != 0 or year % 400 == 0) else 28
    return 30 if month in (4, 6, 9, 11) else 31


def iso_date(day: int) -> str:
    """ISO_LOCAL_DATE of an epoch day: years beyond 9999 get a '+', years before 1 a '-' (year 0 is 1 BC)."""
    z = day + 719468
    era = z // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    month = mp + 3 if mp < 10 else mp - 9
    year = yoe + era * 400 + (month <= 2)
    text = f"{year:04d}" if 0 <= year <= 9999 else (f"+{year}" if year > 0 else f"-{-year:04d}")
    return f"{text}-{month:02d}-{doy - (153 * mp + 2) // 5 + 1:02d}"


def iso_clock(nanos_of_day: int, width: int = 0) -> str:
    """HH:MM:SS then the fraction: ``width`` digits, or with width 0 as few as needed (ISO_LOCAL_TIME)."""
    seconds, nanos = divmod(nanos_of_day, 1_000_000_000)
    minutes, second = divmod(seconds, 60)
    clock = f"{minutes // 60:02d}:{minutes % 60:02d}:{second:02d}"
    if 0 < width <= 9:
        return f"{clock}.{nanos // 10 ** (9 - width):0{width}d}"
    return f"{clock}.{nanos:09d}".rstrip("0") if nanos else clock


def zoned_timestamp(epoch_nanos: int, width: int) -> str:
    """io.debezium.time.ZonedTimestamp of a UTC instant, with the column's number of fractional digits."""
    day, nanos = divmod(epoch_nanos, _NS_PER_DAY)
    return f"{iso_date(day)}T{iso_clock(nanos, width)}Z"


def date_renderer(modes: TypeModes) -> Render:
    """Epoch day -> io.debezium.time.Date / connect Date (Java int, so it wraps) / IsoDate."""
    if modes.time_precision_mode == "isostring":
        return lambda day: iso_date(day) + "Z"
    return lambda day: (day + 2**31) % 2**32 - 2**31


def time_renderer(precision: int, modes: TypeModes) -> Render:
    """Nanos past midnight -> Time (ms), MicroTime, NanoTime, connect Time (ms) or IsoTime, by mode."""
    mode = modes.time_precision_mode
    if mode == "isostring":
        return lambda nanos: iso_clock(nanos % _NS_PER_DAY) + "Z"
    if mode == "nanoseconds":
        return lambda nanos: nanos
    if mode == "connect" or (mode == "adaptive" and precision <= 3):
        return lambda nanos: nanos // 1_000_000
    return lambda nanos: nanos // 1000


def timestamp_renderer(precision: int, modes: TypeModes) -> Render:
    """Epoch nanos of a local date-time read as UTC -> Timestamp, MicroTimestamp, NanoTimestamp, IsoTimestamp.

    Raises OverflowError where Debezium fails to convert (the value, or the default, is then dropped).
    """
    mode = modes.time_precision_mode
    if mode == "isostring":
        return lambda nanos: zoned_timestamp(nanos, 0)
    if mode == "nanoseconds":
        return _epoch_nanos
    if mode == "connect" or (mode in ("adaptive", "adaptive_time_microseconds") and precision <= 3):
        return _epoch_millis
    return _epoch_micros


def _epoch_millis(nanos: int) -> int:
    millis = nanos // 1_000_000
    if _I64_MIN <= millis <= _I64_MAX:
        return millis
    raise OverflowError("timestamp beyond int64 milliseconds")


def _epoch_micros(nanos: int) -> int:
    if -_SAFE_NANOS <= nanos <= _SAFE_NANOS:
        return nanos // 1000
    # Conversions.toEpochMicros: TimeUnit saturates the seconds at the int64 bounds, then the add wraps.
    seconds, rest = divmod(nanos, 1_000_000_000)
    micros = min(max(seconds * 1_000_000, _I64_MIN), _I64_MAX) + rest // 1000
    return (micros - _I64_MIN) % 2**64 + _I64_MIN


def _epoch_nanos(nanos: int) -> int:
    # NanoTimestamp multiplies the epoch day out first, so 1677-09-21 is refused even where the sum would fit.
    day = nanos // _NS_PER_DAY
    if _I64_MIN <= day * _NS_PER_DAY <= _I64_MAX and _I64_MIN <= nanos <= _I64_MAX:
        return nanos
    raise OverflowError("timestamp outside int64 nanoseconds (1677-09-21 .. 2262-04-11)")


# --- converters -----------------------------------------------------------------------------------------


def _integer(what: str, bits: int) -> Converter:
    low, high = -(2 ** (bits - 1)), 2 ** (bits - 1) - 1

    def convert(text: str) -> object:
        try:
            value = int(text)
        except ValueError:
            raise _malformed(what, text) from None
        if low <= value <= high:
            return value
        raise _malformed(what, text)

    return convert


def _boolean(text: str) -> object:
    # PgOutputColumnValue.asBoolean: "t" in any case is true, anything else false.
    return text == "t" or text == "T"


def _text(text: str) -> object:
    return text


def _float(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise _malformed("floating-point", text) from None


def _missing(column: ColumnInfo, what: str) -> Converter:
    """Where Debezium fails to convert a value it leaves the field null (JsonConverter then writes the
    default); a NOT NULL column without a default makes Debezium stop, so pgcdc stops too."""
    nullable = column.optional or column.default_expr is not None

    def missing(text: str) -> object:
        if nullable:
            return None
        raise DecodeError(
            f"{what} value {text!r} of NOT NULL column {column.name!r} has no Debezium "
            "representation in this mode; change the handling mode or the column"
        )

    return missing


def _numeric(column: ColumnInfo, modes: TypeModes) -> Converter | None:
    shape = numeric_shape(column)
    if shape is not None and shape[1] < 0:
        return None  # numeric(p, -s): how Debezium reads the scale is not established
    mode = modes.decimal_handling_mode
    if mode == "double":
        return lambda text: java_double(_float(text))
    if mode == "string":
        special = _SPECIAL_DECIMALS
        return lambda text: special.get(text, text)  # PostgreSQL already prints the plain, scaled form
    missing = _missing(column, "NaN/Infinity numeric")
    if shape is None:
        return _variable_decimal(missing)
    return _fixed_decimal(shape[1], missing)


def _fixed_decimal(scale: int, missing: Converter) -> Converter:
    def convert(text: str) -> object:
        point = text.find(".")
        digits = text if point < 0 else text[:point] + text[point + 1 :]
        try:
            unscaled = int(digits)
        except ValueError:
            if text in _SPECIAL_DECIMALS:
                return missing(text)
            raise _malformed("numeric", text) from None
        places = 0 if point < 0 else len(text) - point - 1
        if places != scale:
            if places < scale:
                unscaled *= 10 ** (scale - places)
            else:
                unscaled, dropped = divmod(unscaled, 10 ** (places - scale))
                if dropped:
                    raise _malformed("numeric", text)
        return decimal_base64(unscaled)

    return convert


def _variable_decimal(missing: Converter) -> Converter:
    def convert(text: str) -> object:
        point = text.find(".")
        if point < 0:
            fraction, digits = "", text
        else:
            fraction = text[point + 1 :].rstrip("0")  # stripTrailingZeros, but never a negative scale
            digits = text[:point] + fraction
        try:
            unscaled = int(digits)
        except ValueError:
            if text in _SPECIAL_DECIMALS:
                return missing(text)
            raise _malformed("numeric", text) from None
        return {"scale": len(fraction), "value": decimal_base64(unscaled)}

    return convert


def _date(column: ColumnInfo, modes: TypeModes) -> Converter:
    render = date_renderer(modes)
    # What the streaming decoder makes of PostgreSQL's infinities (DateTimeFormat, PostgresValueConverter).
    specials = {
        "infinity": render(epoch_day(-5877611, 6, 21)),
        "-infinity": render(epoch_day(-5877611, 6, 22)),
    }

    def convert(text: str) -> object:
        try:  # years 1..9999 the fast way; BC, later years and infinities below
            return render(_from_iso_date(text).toordinal() - _EPOCH_ORDINAL)
        except ValueError:
            pass
        match = _DATE.fullmatch(text)
        if match is None:
            if text in specials:
                return specials[text]
            raise _malformed("date", text)
        year, month, day, era = match.groups()
        try:
            return render(epoch_day(int(year) if era != "BC" else 1 - int(year), int(month), int(day)))
        except ValueError:
            raise _malformed("date", text) from None

    return convert


def _time(column: ColumnInfo, modes: TypeModes) -> Converter:
    render = time_renderer(time_precision(column), modes)

    def convert(text: str) -> object:
        # Strings.asDuration: hours may be 24, the fraction is read as nanoseconds.
        match = _TIME.fullmatch(text)
        if match is None or not all(match.group(1, 2, 3)):
            raise _malformed("time", text)
        hours, minutes, seconds, fraction = match.groups()
        nanos = int((fraction or "0")[:9].ljust(9, "0"))
        return render(((int(hours) * 60 + int(minutes)) * 60 + int(seconds)) * 1_000_000_000 + nanos)

    return convert


def _local_nanos(match: re.Match[str], text: str, what: str) -> int:
    """Epoch nanos of the date-time in a _TIMESTAMP match, read as UTC (LocalDateTime rules, so hour < 24)."""
    year, month, day, hour, minute, second, fraction = match.group(1, 2, 3, 4, 5, 6, 7)
    try:
        days = epoch_day(int(year) if match.group(12) != "BC" else 1 - int(year), int(month), int(day))
    except ValueError:
        raise _malformed(what, text) from None
    h, m, s = int(hour), int(minute), int(second or 0)
    if h > 23 or m > 59 or s > 59:
        raise _malformed(what, text)
    return days * _NS_PER_DAY + ((h * 60 + m) * 60 + s) * 1_000_000_000 + int((fraction or "0").ljust(9, "0"))


def _timestamp(column: ColumnInfo, modes: TypeModes) -> Converter:
    render = timestamp_renderer(time_precision(column), modes)
    missing = _missing(column, "out-of-range timestamp")
    if modes.time_precision_mode == "nanoseconds":
        specials: dict[str, object] = {"infinity": _I64_MAX, "-infinity": _I64_MIN}
    else:
        specials = {"infinity": render(_INFINITY_NS), "-infinity": render(_MINUS_INFINITY_NS)}

    def convert(text: str) -> object:
        try:  # years 1..9999 the fast way
            moment = _from_iso_datetime(text)
            if moment.tzinfo is None:
                return render((moment - _EPOCH) // _MICROSECOND * 1000)
        except (ValueError, OverflowError):
            pass
        match = _TIMESTAMP.fullmatch(text)
        if match is None or match.group(8) is not None:
            if text in specials:
                return specials[text]
            raise _malformed("timestamp", text)
        try:
            return render(_local_nanos(match, text, "timestamp"))
        except OverflowError:
            return missing(text)

    return convert


def _timestamptz(column: ColumnInfo, modes: TypeModes) -> Converter:
    width = time_precision(column)

    def fraction(micros: int) -> str:
        if 0 < width <= 6:
            return f".{micros:06d}"[: width + 1]
        return f".{micros:06d}".rstrip("0") if micros else ""

    def convert(text: str) -> object:
        try:  # years 1..9999 the fast way
            moment = _from_iso_datetime(text)
        except ValueError:
            moment = None
        if moment is not None and moment.tzinfo is not None:
            tail = f".{moment.microsecond:06d}Z" if width == 6 else fraction(moment.microsecond) + "Z"
            if (
                text[-3:] == "+00" and text[10:11] == " " and text[16:17] == ":"
            ):  # a UTC server: reuse its text
                return f"{text[:10]}T{text[11:19]}{tail}"
            try:
                return moment.astimezone(UTC).isoformat()[:19] + tail
            except OverflowError:
                pass  # moved out of years 1..9999
        match = _TIMESTAMP.fullmatch(text)
        if match is None or match.group(8) is None:
            if text == "infinity" or text == "-infinity":
                return text
            raise _malformed("timestamptz", text)
        sign, hours, minutes, seconds = match.group(8, 9, 10, 11)
        offset = (int(hours) * 60 + int(minutes or 0)) * 60 + int(seconds or 0)
        local = _local_nanos(match, text, "timestamptz")
        return zoned_timestamp(
            local - offset * 1_000_000_000 if sign == "+" else local + offset * 1_000_000_000, width
        )

    return convert


def _timetz(text: str) -> object:
    # Debezium reads the offset as +HH[:mm]; one with seconds stops the connector, so it stops pgcdc too.
    match = _TIMETZ.fullmatch(text)
    if match is None:
        if _TIMETZ_SECONDS.fullmatch(text):
            raise DecodeError(
                f"timetz value {text!r} has an offset with seconds, which Debezium cannot read "
                "either (its connector stops); change the value or leave the column out"
            )
        raise _malformed("timetz", text)
    hour, minute, second, fraction, sign, off_hours, off_minutes = match.groups()
    h, m, s = int(hour), int(minute), int(second or 0)
    if h > 24 or m > 59 or s > 59 or (h == 24 and (m or s or int(fraction or 0))):
        raise _malformed("timetz", text)
    offset = (int(off_hours) * 60 + int(off_minutes or 0)) * 60 * (1 if sign == "+" else -1)
    nanos = ((h * 60 + m) * 60 + s - offset) * 1_000_000_000 + int((fraction or "0").ljust(9, "0"))
    return iso_clock(nanos % _NS_PER_DAY) + "Z"


def _bytea(column: ColumnInfo, modes: TypeModes) -> Converter:
    mode = modes.binary_handling_mode

    def raw(text: str) -> bytes:
        if not text.startswith("\\x"):
            raise _malformed("bytea", text)
        try:
            return a2b_hex(text[2:])
        except (BinasciiError, ValueError):
            raise _malformed("bytea", text) from None

    if mode == "hex":
        return lambda text: raw(text).hex()
    if mode == "base64-url-safe":
        return lambda text: urlsafe_b64encode(raw(text)).decode("ascii")
    # "bytes" is base64 in JSON (Jackson's binary node), and "base64" is that same text as a string.
    return lambda text: b2a_base64(raw(text), newline=False).decode("ascii")


def _fixed(converter: Converter) -> Callable[[ColumnInfo, TypeModes], Converter | None]:
    return lambda column, modes: converter


_FACTORIES: dict[str, Callable[[ColumnInfo, TypeModes], Converter | None]] = {
    "int2": _fixed(_integer("smallint", 16)),
    "int4": _fixed(_integer("integer", 32)),
    "int8": _fixed(_integer("bigint", 64)),
    "bool": _fixed(_boolean),
    "float4": _fixed(lambda text: java_float(_float(text))),
    "float8": _fixed(lambda text: java_double(_float(text))),
    "numeric": _numeric,
    "text": _fixed(_text),
    "varchar": _fixed(_text),
    "bpchar": _fixed(_text),
    "uuid": _fixed(_text),
    "json": _fixed(_text),
    "jsonb": _fixed(_text),
    "date": _date,
    "time": _time,
    "timestamp": _timestamp,
    "timestamptz": _timestamptz,
    "timetz": _fixed(_timetz),
    "bytea": _bytea,
}
