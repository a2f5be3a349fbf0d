"""Dates and times inside arrays, as Debezium reads them: through pgjdbc's java.sql types, not java.time.

Array elements reach Debezium as java.sql.Date/Time/Timestamp built in the JVM's (UTC) hybrid Julian/Gregorian
calendar, which differs from the scalar path: a date keeps its fields but loses BC, a time keeps milliseconds, a
timetz keeps whole seconds, a timestamp before 1582-10-15 is a Julian date, a timestamptz keeps its UTC fields
but loses BC. The infinities become fixed far-off values.
"""

from __future__ import annotations

import re

from pgcdc.decode.modes import TypeModes
from pgcdc.decode.relation import ColumnInfo
from pgcdc.decode.values.calendar import NS_PER_DAY, epoch_day, iso_clock, julian_epoch_day, zoned_timestamp
from pgcdc.decode.values.converter import Converter, malformed
from pgcdc.decode.values.temporal import (
    INFINITY_NS,
    MINUS_INFINITY_NS,
    TIMESTAMP,
    TIMETZ,
    date_converter,
    date_renderer,
    time_precision,
    time_renderer,
    timestamp_converter,
    timestamp_renderer,
    timestamptz_converter,
)

_I64_MIN, _I64_MAX = -(2**63), 2**63 - 1
_DATE = re.compile(r"([0-9]{4,10})-([0-9]{2})-([0-9]{2})(?: (AD|BC))?")
_TIME = re.compile(r"([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]{1,9}))?")
# java.sql.Date/Timestamp of PostgreSQL's infinities as LocalDate fields (the era dropped).
_DATE_INFINITY = epoch_day(292278994, 8, 16)
_DATE_MINUS_INFINITY = epoch_day(292269055, 12, 2)
_TSTZ_MINUS_INFINITY_NS = (epoch_day(292269055, 12, 2) * 86_400 + 23 * 3600) * 1_000_000_000
_GREGORIAN_START = (1582, 10, 15)


def date_element(column: ColumnInfo, modes: TypeModes) -> Converter:
    render = date_renderer(modes)
    specials = {"infinity": render(_DATE_INFINITY), "-infinity": render(_DATE_MINUS_INFINITY)}
    scalar = date_converter(column, modes)

    def convert(text: str) -> object:
        if text[-1:] not in ("C", "y", ""):  # neither BC nor an infinity: as in a date column
            return scalar(text)
        match = _DATE.fullmatch(text)
        if match is None:
            if text in specials:
                return specials[text]
            raise malformed("date", text)
        year, month, day, _ = match.groups()
        try:
            return render(epoch_day(int(year), int(month), int(day)))
        except ValueError:
            raise malformed("date", text) from None

    return convert


def time_element(column: ColumnInfo, modes: TypeModes) -> Converter:
    render = time_renderer(time_precision(column), modes)

    def convert(text: str) -> object:
        match = _TIME.fullmatch(text)
        if match is None:
            raise malformed("time", text)
        hours, minutes, seconds, fraction = match.groups()
        millis = ((int(hours) * 60 + int(minutes)) * 60 + int(seconds)) * 1000 + int(
            (fraction or "0")[:3].ljust(3, "0")
        )
        return render(millis % 86_400_000 * 1_000_000)

    return convert


def timetz_element(column: ColumnInfo, modes: TypeModes) -> Converter:
    def convert(text: str) -> object:
        match = TIMETZ.fullmatch(text)
        if match is None:
            raise malformed("timetz", text)
        hour, minute, second, _, sign, off_hours, off_minutes = match.groups()
        offset = (int(off_hours) * 60 + int(off_minutes or 0)) * 60 * (1 if sign == "+" else -1)
        seconds = (int(hour) * 60 + int(minute)) * 60 + int(second or 0) - offset
        return iso_clock(seconds % 86_400 * 1_000_000_000) + "Z"

    return convert


def timestamp_element(column: ColumnInfo, modes: TypeModes) -> Converter:
    render = timestamp_renderer(time_precision(column), modes)
    scalar = timestamp_converter(column, modes)
    if modes.time_precision_mode == "nanoseconds":
        specials: dict[str, object] = {"infinity": _I64_MAX, "-infinity": _I64_MIN}
    else:
        specials = {"infinity": render(INFINITY_NS), "-infinity": render(MINUS_INFINITY_NS)}

    def convert(text: str) -> object:
        if text[:4] > "1582" and text[4:5] == "-" and text[-1:] != "C":  # Gregorian years: as in a column
            return scalar(text)
        match = TIMESTAMP.fullmatch(text)
        if match is None or match.group(8) is not None:
            if text in specials:
                return specials[text]
            raise malformed("timestamp", text)
        try:
            return render(_hybrid_nanos(match, text))
        except OverflowError:
            return None  # Debezium leaves the element null

    return convert


def timestamptz_element(column: ColumnInfo, modes: TypeModes) -> Converter:
    width = time_precision(column)
    minus_infinity = zoned_timestamp(_TSTZ_MINUS_INFINITY_NS, width)
    scalar = timestamptz_converter(column, modes)

    def convert(text: str) -> object:
        if text[-1:] != "C" and text != "-infinity":  # not BC: as in a timestamptz column
            return scalar(text)
        match = TIMESTAMP.fullmatch(text)
        if match is None or match.group(8) is None:
            if text == "infinity":
                return text
            if text == "-infinity":
                return minus_infinity
            raise malformed("timestamptz", text)
        year, month, day, hour, minute, second, fraction, sign, off_h, off_m, off_s = match.group(
            *range(1, 12)
        )
        try:
            days = epoch_day(int(year), int(month), int(day))
        except ValueError:
            raise malformed("timestamptz", text) from None
        offset = (int(off_h) * 60 + int(off_m or 0)) * 60 + int(off_s or 0)
        seconds = (
            (int(hour) * 60 + int(minute)) * 60 + int(second or 0) - (offset if sign == "+" else -offset)
        )
        nanos = (days * 86_400 + seconds) * 1_000_000_000 + int((fraction or "0").ljust(9, "0"))
        return zoned_timestamp(nanos, width)

    return convert


def _hybrid_nanos(match: re.Match[str], text: str) -> int:
    """Epoch nanos of a timestamp text read in java.util's hybrid calendar (Julian before 1582-10-15), as UTC."""
    year, month, day, hour, minute, second = (int(g or 0) for g in match.group(1, 2, 3, 4, 5, 6))
    fraction_text = match.group(7) or "0"
    if match.group(12) == "BC":
        year = 1 - year
    try:
        if (year, month, day) < _GREGORIAN_START:
            days = julian_epoch_day(year, month, day)
        else:
            days = epoch_day(year, month, day)
    except ValueError:
        raise malformed("timestamp", text) from None
    clock = ((hour * 60 + minute) * 60 + second) * 1_000_000_000 + int(fraction_text.ljust(9, "0"))
    return days * NS_PER_DAY + clock
