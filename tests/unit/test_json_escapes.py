"""JSON bytes as Jackson writes them: control characters as \\u00XX with upper-case hex, nothing else touched."""

from __future__ import annotations

import orjson
import pytest

from pgcdc.decode.messages import Begin, Commit, Insert
from pgcdc.events.change import ChangeEvent
from pgcdc.lsn import Lsn
from pgcdc.serialize.assembly import json_bytes
from pgcdc.serialize.records import RecordSerializer
from tests.unit.test_transaction_metadata import COMMIT_US, T, _builder


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
    assert json_bytes(value) == expected
    assert orjson.loads(json_bytes(value)) == value


def test_a_record_value_carries_jacksons_escapes() -> None:
    """The reference row's c_text_ctl (tests/data: Debezium wrote ``ctl\\u0001\\u001F/</``), through a whole
    record: the bytes a consumer reads, not just the helper's."""
    builder, sink, _ = _builder(**{"provide.transaction.metadata": "false"})
    for message, lsn in [
        (Begin(Lsn(200), COMMIT_US, 1), 100),
        (T, 100),
        (Insert(1, ["1", "ctl\x01\x1f/</"]), 100),
        (Commit(Lsn(200), Lsn(208), COMMIT_US), 208),
    ]:
        builder.handle(message, Lsn(lsn))
    (event,) = [r for r in sink.records if isinstance(r, ChangeEvent)]
    value = RecordSerializer(server_name="pfx", dbname="db").value(event)
    assert value is not None
    assert b'"after":{"id":1,"v":"ctl\\u0001\\u001F/</"}' in value
