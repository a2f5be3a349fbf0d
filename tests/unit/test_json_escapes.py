"""JSON bytes as Jackson writes them: control characters as \\u00XX with upper-case hex, nothing else touched."""

from __future__ import annotations

import orjson
import pytest

from pgcdc.serialize.records import _dumps


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("a\x1fb", b'"a\\u001Fb"'),
        ("\x00\x0b", b'"\\u0000\\u000B"'),
        ("tab\tnew\nline", b'"tab\\tnew\\nline"'),
        ("literal \\u001f text", b'"literal \\\\u001f text"'),
        ("backslash then control \\\x1e", b'"backslash then control \\\\\\u001E"'),
        ({"k\x1a": ["\x7f", "é"]}, '{"k\\u001A":["\x7f","é"]}'.encode()),
    ],
)
def test_control_escapes_are_upper_case_and_everything_else_is_unchanged(
    value: object, expected: bytes
) -> None:
    assert _dumps(value) == expected
    assert orjson.loads(_dumps(value)) == value
