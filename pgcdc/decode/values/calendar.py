"""Calendar arithmetic on epoch days (proleptic Gregorian, as java.time counts) and ISO renderings of them."""

from __future__ import annotations

NS_PER_DAY = 86_400_000_000_000


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
    day, nanos = divmod(epoch_nanos, NS_PER_DAY)
    return f"{iso_date(day)}T{iso_clock(nanos, width)}Z"


def julian_epoch_day(year: int, month: int, day: int) -> int:
    """Days since 1970-01-01 of a Julian-calendar date (year 0 is 1 BC), as java.util's hybrid calendar reads
    dates before 1582-10-15."""
    a = (14 - month) // 12
    y = year + 4800 - a
    m = month + 12 * a - 3
    return day + (153 * m + 2) // 5 + 365 * y + y // 4 - 32083 - 2440588
