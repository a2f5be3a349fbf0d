"""Control characters escaped as Jackson writes them: ``\\u00XX`` with upper-case hex, where orjson writes
lower-case. The same JSON, other bytes; rare enough (a control character in a value) to be plain Python, which both
forms of ``assembly`` call."""

from __future__ import annotations

import re

# An escape is a backslash preceded by an even number of backslashes (an odd one is an escaped backslash).
_CONTROL_ESCAPE = re.compile(rb"(?<!\\)((?:\\\\)*)\\u00([0-9a-f]{2})")


def _upper(match: re.Match[bytes]) -> bytes:
    return match.group(1) + b"\\u00" + match.group(2).upper()


def upper_case_escapes(data: bytes) -> bytes:
    """``data`` (orjson's output) with each ``\\u00xx`` escape's hex digits in upper case."""
    return _CONTROL_ESCAPE.sub(_upper, data)
