"""Dates, times and timestamps: pgoutput text -> Debezium's temporal values, in every time.precision.mode.

The renderers here turn a canonical integer (epoch day, nanos of day, epoch nanos) into the mode's value; they are
what ``pgcdc.serialize.defaults`` uses for column defaults too, so a default is spelled like a value. Text comes
from PostgreSQL's output functions with DateStyle ISO.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

from pgcdc.decode.modes import TypeModes
from pgcdc.decode.relation import ColumnInfo
from pgcdc.decode.values.calendar import NS_PER_DAY, epoch_day, iso_clock, iso_date, zoned_timestamp
from pgcdc.decode.values.converter import Converter, malformed, missing
from pgcdc.errors import DecodeError

Render = Callable[[int], object]
"""A canonical integer (epoch day, nanos of day, epoch nanos) -> its JSON-ready value."""

_I64_MIN, _I64_MAX = -(2**63), 2**63 - 1
_SAFE_NANOS = (_I64_MAX - 1_000_000) * 1000
# Debezium's stand-ins for PostgreSQL's infinities (PostgresValueConverter): instants given in micros, and for
# dates two LocalDates far in the past, which is what the connector really emits when streaming.
INFINITY_NS = 9223372036825200000 * 1000
MINUS_INFINITY_NS = -9223372036832400000 * 1000
_EPOCH = datetime(1970, 1, 1)
_EPOCH_ORDINAL = _EPOCH.toordinal()
_MICROSECOND = timedelta(microseconds=1)
_from_iso_date = date.fromisoformat
_from_iso_datetime = datetime.fromisoformat

_DATE = re.compile(r"([0-9]{4,10})-([0-9]{2})-([0-9]{2})(?: (AD|BC))?")
_TIME = re.compile(r"([0-9]*):([0-9]*):([0-9]*)(?:\.([0-9]*))?")
_CLOCK = r"([0-9]{2}):([0-9]{2})(?::([0-9]{2})(?:\.([0-9]{0,9}))?)?"
_OFFSET = r"([+-])([0-9]{2})(?::([0-9]{2}))?"
TIMESTAMP = re.compile(
    r"([0-9]{4,10})-([0-9]{2})-([0-9]{2}) " + _CLOCK + r"(?:" + _OFFSET + r"(?::([0-9]{2}))?)?(?: (AD|BC))?"
)
TIMETZ = re.compile(_CLOCK + _OFFSET)
_TIMETZ_SECONDS = re.compile(_CLOCK + _OFFSET + r":[0-9]{2}")


def time_precision(column: ColumnInfo) -> int:
    """Fractional-second digits of a time/timestamp column; PostgreSQL's default is 6."""
    return 6 if column.type_modifier < 0 else column.type_modifier


def date_renderer(modes: TypeModes) -> Render:
    """Epoch day -> io.debezium.time.Date / connect Date (Java int, so it wraps) / IsoDate."""
    if modes.time_precision_mode == "isostring":
        return lambda day: iso_date(day) + "Z"
    return lambda day: (day + 2**31) % 2**32 - 2**31


def time_renderer(precision: int, modes: TypeModes) -> Render:
    """Nanos past midnight -> Time (ms), MicroTime, NanoTime, connect Time (ms) or IsoTime, by mode."""
    mode = modes.time_precision_mode
    if mode == "isostring":
        return lambda nanos: iso_clock(nanos % NS_PER_DAY) + "Z"
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
    day = nanos // NS_PER_DAY
    if _I64_MIN <= day * NS_PER_DAY <= _I64_MAX and _I64_MIN <= nanos <= _I64_MAX:
        return nanos
    raise OverflowError("timestamp outside int64 nanoseconds (1677-09-21 .. 2262-04-11)")


# --- converters -----------------------------------------------------------------------------------------


def date_converter(column: ColumnInfo, modes: TypeModes) -> Converter:
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
            raise malformed("date", text)
        year, month, day, era = match.groups()
        try:
            return render(epoch_day(int(year) if era != "BC" else 1 - int(year), int(month), int(day)))
        except ValueError:
            raise malformed("date", text) from None

    return convert


def time_converter(column: ColumnInfo, modes: TypeModes) -> Converter:
    render = time_renderer(time_precision(column), modes)

    def convert(text: str) -> object:
        # Strings.asDuration: hours may be 24, the fraction is read as nanoseconds.
        match = _TIME.fullmatch(text)
        if match is None or not all(match.group(1, 2, 3)):
            raise malformed("time", text)
        hours, minutes, seconds, fraction = match.groups()
        nanos = int((fraction or "0")[:9].ljust(9, "0"))
        return render(((int(hours) * 60 + int(minutes)) * 60 + int(seconds)) * 1_000_000_000 + nanos)

    return convert


def local_nanos(match: re.Match[str], text: str, what: str) -> int:
    """Epoch nanos of the date-time in a TIMESTAMP match, read as UTC (LocalDateTime rules, so hour < 24)."""
    year, month, day, hour, minute, second, fraction = match.group(1, 2, 3, 4, 5, 6, 7)
    try:
        days = epoch_day(int(year) if match.group(12) != "BC" else 1 - int(year), int(month), int(day))
    except ValueError:
        raise malformed(what, text) from None
    h, m, s = int(hour), int(minute), int(second or 0)
    if h > 23 or m > 59 or s > 59:
        raise malformed(what, text)
    return days * NS_PER_DAY + ((h * 60 + m) * 60 + s) * 1_000_000_000 + int((fraction or "0").ljust(9, "0"))


def timestamp_converter(column: ColumnInfo, modes: TypeModes) -> Converter:
    render = timestamp_renderer(time_precision(column), modes)
    absent = missing(column, "out-of-range timestamp")
    if modes.time_precision_mode == "nanoseconds":
        specials: dict[str, object] = {"infinity": _I64_MAX, "-infinity": _I64_MIN}
    else:
        specials = {"infinity": render(INFINITY_NS), "-infinity": render(MINUS_INFINITY_NS)}

    def convert(text: str) -> object:
        try:  # years 1..9999 the fast way
            moment = _from_iso_datetime(text)
            if moment.tzinfo is None:
                return render((moment - _EPOCH) // _MICROSECOND * 1000)
        except (ValueError, OverflowError):
            pass
        match = TIMESTAMP.fullmatch(text)
        if match is None or match.group(8) is not None:
            if text in specials:
                return specials[text]
            raise malformed("timestamp", text)
        try:
            return render(local_nanos(match, text, "timestamp"))
        except OverflowError:
            return absent(text)

    return convert


def timestamptz_converter(column: ColumnInfo, modes: TypeModes) -> Converter:
    width = time_precision(column)
    full_micros = width == 6

    def fraction(micros: int) -> str:
        if 0 < width <= 6:
            return f".{micros:06d}"[: width + 1]
        return f".{micros:06d}".rstrip("0") if micros else ""

    def convert(text: str) -> object:
        if (
            full_micros
            and len(text) == 29
            and text[26] == "+"
            and text[27] == "0"
            and text[28] == "0"
            and text[19] == "."
            and text[10] == " "
        ):
            # Six fraction digits (nine times in ten): Debezium's text is the same characters, rearranged. Tested
            # one character at a time and joined once: three allocations where slicing and adding took six.
            return f"{text[:10]}T{text[11:26]}Z"
        if text[-3:] == "+00" and text[10:11] == " " and text[4:5] == "-" and text[19:20] in (".", "+"):
            # A UTC server's own text (4-digit years, not BC): the answer is a re-arrangement of it, no parse.
            micros = int(text[20:-3].ljust(6, "0")) if text[19] == "." else 0
            tail = f".{micros:06d}Z" if width == 6 else fraction(micros) + "Z"
            return f"{text[:10]}T{text[11:19]}{tail}"
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
        match = TIMESTAMP.fullmatch(text)
        if match is None or match.group(8) is None:
            if text == "infinity" or text == "-infinity":
                return text
            raise malformed("timestamptz", text)
        sign, hours, minutes, seconds = match.group(8, 9, 10, 11)
        offset = (int(hours) * 60 + int(minutes or 0)) * 60 + int(seconds or 0)
        local = local_nanos(match, text, "timestamptz")
        return zoned_timestamp(
            local - offset * 1_000_000_000 if sign == "+" else local + offset * 1_000_000_000, width
        )

    return convert


def _timetz(text: str) -> object:
    # Debezium reads the offset as +HH[:mm]; one with seconds stops the connector, so it stops pgcdc too.
    match = TIMETZ.fullmatch(text)
    if match is None:
        if _TIMETZ_SECONDS.fullmatch(text):
            raise DecodeError(
                f"timetz value {text!r} has an offset with seconds, which Debezium cannot read "
                "either (its connector stops); change the value or leave the column out"
            )
        raise malformed("timetz", text)
    hour, minute, second, fraction, sign, off_hours, off_minutes = match.groups()
    h, m, s = int(hour), int(minute), int(second or 0)
    if h > 24 or m > 59 or s > 59 or (h == 24 and (m or s or int(fraction or 0))):
        raise malformed("timetz", text)
    offset = (int(off_hours) * 60 + int(off_minutes or 0)) * 60 * (1 if sign == "+" else -1)
    nanos = ((h * 60 + m) * 60 + s - offset) * 1_000_000_000 + int((fraction or "0").ljust(9, "0"))
    return iso_clock(nanos % NS_PER_DAY) + "Z"


def timetz_converter(column: ColumnInfo, modes: TypeModes) -> Converter:
    return _timetz
