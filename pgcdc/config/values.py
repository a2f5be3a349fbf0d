"""Setting text -> typed values: the parsers every settings module shares, each naming the key it rejects."""

from __future__ import annotations

import re

from pgcdc.errors import ConfigError


def parse_bool(key: str, text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    raise ConfigError(f"{key}={text!r} is not a boolean: use true or false")


def parse_int(key: str, text: str, *, minimum: int) -> int:
    try:
        value = int(text.strip())
    except ValueError:
        raise ConfigError(f"{key}={text!r} is not a whole number") from None
    if value < minimum:
        raise ConfigError(f"{key}={value} is below its minimum of {minimum}")
    return value


def parse_choice(key: str, text: str, choices: tuple[str, ...]) -> str:
    value = text.strip().lower()
    if value not in choices:
        raise ConfigError(f"{key}={text!r} is not one of: {', '.join(choices)}")
    return value


def parse_topic_name(key: str, text: str) -> str:
    if not re.fullmatch(r"[A-Za-z0-9._-]+", text):
        raise ConfigError(f"{key}={text!r} may contain only letters, digits, '.', '_' and '-'")
    return text


def split_list(text: str | None) -> tuple[str, ...]:
    # Debezium splits on commas that are not escaped with a backslash.
    if not text:
        return ()
    parts = re.split(r"(?<!\\),", text)
    return tuple(p.strip().replace("\\,", ",") for p in parts if p.strip())


def compile_patterns(key: str, text: str | None) -> tuple[re.Pattern[str], ...]:
    patterns = []
    for item in split_list(text):
        try:
            patterns.append(re.compile(item))
        except re.error as err:
            raise ConfigError(f"{key}: {item!r} is not a valid regular expression ({err})") from None
    return tuple(patterns)
