"""interval: pgoutput text (IntervalStyle postgres) -> MicroDuration micros or an ISO 8601 Interval string.

Debezium reads the text with pgjdbc's PGInterval (int fields, seconds rounded to micros) and then computes in
doubles with a 30.4375-day month; the same operations in the same order give the same results here.
"""

from __future__ import annotations

from decimal import ROUND_DOWN, Decimal
from functools import lru_cache

from pgcdc.decode.modes import TypeModes
from pgcdc.decode.relation import ColumnInfo
from pgcdc.decode.values.converter import Converter, malformed
from pgcdc.decode.values.java_number import java_double_text
from pgcdc.errors import DecodeError

_I32_MIN, _I32_MAX = -(2**31), 2**31 - 1
_I64_MIN, _I64_MAX = -(2**63), 2**63 - 1
_NANO = Decimal("1e-9")
Fields = tuple[int, int, int, int, int, float]
"""years, months, days, hours, minutes, seconds as PGInterval holds them."""


def interval_converter(column: ColumnInfo, modes: TypeModes) -> Converter:
    render = iso_interval if modes.interval_handling_mode == "string" else micro_duration

    # Parsing costs ~10 us; a column's intervals repeat ('1 day', '00:30:00'), so a small cache pays.
    @lru_cache(maxsize=1024)
    def convert(text: str) -> object:
        return render(parse_interval(text))

    return convert


def parse_interval(text: str) -> Fields:
    """PGInterval.setValue for the postgres and postgres_verbose styles."""
    if text.startswith("P"):
        raise malformed("interval", text)  # iso_8601 style: pgcdc pins IntervalStyle postgres
    verbose = text.startswith("@")
    years = months = days = hours = minutes = 0
    seconds = 0.0
    value: str | None = None
    try:
        for index, token in enumerate(text.replace("+", " ").replace("@", " ").lower().split()):
            if index % 2 == 0:
                colon = token.find(":")
                if colon < 0:
                    value = token
                    continue
                negative = token[0] == "-"
                hours = _int(token[int(negative) : colon])
                minutes = _int(token[colon + 1 : colon + 3])
                second_colon = token.find(":", colon + 1)
                if second_colon >= 0:
                    seconds = _double(token[second_colon + 1 :])
                if negative:
                    hours, minutes, seconds = -hours, -minutes, -seconds
                value = None
            elif token.startswith("year"):
                years = _int(value)
            elif token.startswith("mon"):
                months = _int(value)
            elif token.startswith("day"):
                days = _int(value)
            elif token.startswith("hour"):
                hours = _int(value)
            elif token.startswith("min"):
                minutes = _int(value)
            elif token.startswith("sec"):
                seconds = _double(value)
    except (ValueError, OverflowError):
        raise DecodeError(
            f"interval value {text[:80]!r} does not fit pgjdbc's PGInterval (int fields), which stops "
            "Debezium's connector too; change the value or leave the column out"
        ) from None
    if verbose and text.endswith("ago"):
        years, months, days, hours, minutes, seconds = -years, -months, -days, -hours, -minutes, -seconds
    return years, months, days, hours, minutes, _rounded_seconds(seconds, text)


def _int(text: str | None) -> int:
    if text is None:
        return 0
    value = int(text)  # Integer.parseInt: optional sign, ASCII digits
    if not (_I32_MIN <= value <= _I32_MAX) or not text.lstrip("+-").isdigit():
        raise ValueError(text)
    return value


def _double(text: str | None) -> float:
    return 0.0 if text is None else float(text)


def _rounded_seconds(seconds: float, text: str) -> float:
    # PGInterval.setSeconds: Math.round to micros, then whole seconds (an int) and micros, read back as a double.
    total = _java_long(_floor(seconds * 1_000_000.0 + 0.5))
    whole = abs(total) // 1_000_000 * (1 if total >= 0 else -1)
    if not (_I32_MIN <= whole <= _I32_MAX):
        raise DecodeError(f"interval value {text[:80]!r} has more seconds than PGInterval holds")
    return whole + (total - whole * 1_000_000) / 1_000_000.0


def _floor(value: float) -> float:
    return value if value != value or value in (float("inf"), float("-inf")) else float(int(value // 1))


def _java_long(value: float) -> int:
    """Java's (long) cast of a double: NaN is 0, out-of-range values saturate, the fraction is dropped."""
    if value != value:
        return 0
    if value >= 9.223372036854775807e18:
        return _I64_MAX
    if value <= -9.223372036854775808e18:
        return _I64_MIN
    return int(value)


def _wrap32(value: int) -> int:
    return (value - _I32_MIN) % 2**32 + _I32_MIN


def micro_duration(fields: Fields) -> int:
    """MicroDuration.durationMicros with a 30.4375-day month, in Java's double arithmetic."""
    years, months, days, hours, minutes, seconds = fields
    number_of_days = _wrap32(years * 12 + months) * 30.4375 + days
    number_of_seconds = ((number_of_days * 24.0 + hours) * 60.0 + minutes) * 60.0 + seconds
    return _java_long(number_of_seconds * 1_000_000.0 + 0)


def iso_interval(fields: Fields) -> str:
    """io.debezium.time.Interval.toIsoString: seconds from Double.toString, at most 9 places, no trailing 0s."""
    years, months, days, hours, minutes, seconds = fields
    amount = Decimal(java_double_text(seconds))
    if amount.as_tuple().exponent < -9:  # type: ignore[operator]
        amount = amount.quantize(_NANO, rounding=ROUND_DOWN)
    plain = "0" if amount == 0 else format(amount.normalize(), "f")
    return f"P{years}Y{months}M{days}DT{hours}H{minutes}M{plain}S"
