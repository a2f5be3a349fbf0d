"""extended.headers.enabled: Debezium 3's __debezium.context.* headers on row records (no services).

Expected names, order and bytes are what the real Debezium 3.6.3 wrote (Kafka Connect 4.3's SimpleHeaderConverter)
for a snapshot row, an insert, a key-changing update (delete, tombstone, create) and a delete: the key-change
header first, then connectorLogicalName, taskId, connectorName and runId; no headers on messages.
"""

from __future__ import annotations

import uuid

import pytest

from pgcdc.decode.messages import Begin, Commit, LogicalMessage
from pgcdc.errors import ConfigError
from pgcdc.events.change import ChangeEvent
from pgcdc.lsn import Lsn
from pgcdc.serialize.headers import Headers, context_headers, new_run_id
from pgcdc.serialize.records import RecordSerializer
from tests.unit.test_transaction_metadata import COMMIT_US, _builder, _config, _stream

RUN_ID = "01a23bf0-1a6c-7edf-a18e-964f44cea7d9"
CONTEXT = [
    ("__debezium.context.connectorLogicalName", b"pfx"),
    ("__debezium.context.taskId", b"0"),
    ("__debezium.context.connectorName", b"postgresql"),
    ("__debezium.context.runId", RUN_ID.encode()),
]


def _events() -> list[ChangeEvent]:
    builder, sink, _ = _builder(**{"provide.transaction.metadata": "false"})
    _stream(builder)
    builder.handle(Begin(Lsn(22400000), COMMIT_US, 731), Lsn(22400000))
    builder.handle(LogicalMessage(True, Lsn(22400008), "pre", b"x"), Lsn(22400008))
    builder.handle(Commit(Lsn(22400016), Lsn(22400024), COMMIT_US), Lsn(22400024))
    builder.handle(LogicalMessage(False, Lsn(22400032), "pre", b"y"), Lsn(22400032))
    return [r for r in sink.records if isinstance(r, ChangeEvent)]


def pairs(headers: Headers | None) -> list[tuple[str, str | bytes | None]] | None:
    """The headers as Kafka stores them: name and value pairs, in order."""
    return None if headers is None else list(headers.items())


def test_context_headers_bytes_are_debeziums() -> None:
    assert pairs(context_headers(logical_name="pfx", run_id=RUN_ID)) == CONTEXT
    # A worker writes a STRING header as its UTF-8 text, unquoted and unescaped.
    assert context_headers(logical_name='é"x', run_id=RUN_ID)["__debezium.context.connectorLogicalName"] == (
        'é"x'.encode()
    )


def test_every_row_record_carries_them_after_the_key_change_header() -> None:
    serializer = RecordSerializer(server_name="pfx", dbname="postgres", run_id=RUN_ID)
    summary = [
        ("tombstone" if e.tombstone else e.op, e.key, pairs(serializer.headers(e)))
        for e in _events()
        if e.table is not None
    ]
    assert summary == [
        ("c", {"id": 1}, CONTEXT),
        ("c", {"id": 2}, CONTEXT),
        ("c", {"a": 1, "b": "x"}, CONTEXT),
        ("u", {"id": 1}, CONTEXT),
        ("d", {"id": 1}, [("__debezium.newkey", b'{"id":10}'), *CONTEXT]),
        ("tombstone", {"id": 1}, [("__debezium.newkey", b'{"id":10}'), *CONTEXT]),
        ("c", {"id": 10}, [("__debezium.oldkey", b'{"id":1}'), *CONTEXT]),
    ]


def test_plain_rows_share_one_dict_and_messages_get_none() -> None:
    serializer = RecordSerializer(server_name="pfx", dbname="postgres", run_id=RUN_ID)
    events = _events()
    plain = [serializer.headers(e) for e in events if e.table is not None and e.key_change is None]
    assert all(h is plain[0] for h in plain)  # built once per run, not per record
    messages = [e for e in events if e.table is None]
    assert len(messages) == 2
    assert [serializer.headers(e) for e in messages] == [None, None]


def test_off_leaves_only_the_key_change_headers() -> None:
    serializer = RecordSerializer(server_name="pfx", dbname="postgres", run_id=None)
    headers = [serializer.headers(e) for e in _events()]
    assert [pairs(h) for h in headers if h is not None] == [
        [("__debezium.newkey", b'{"id":10}')],
        [("__debezium.newkey", b'{"id":10}')],
        [("__debezium.oldkey", b'{"id":1}')],
    ]


def test_run_id_is_a_version_7_uuid_of_the_start_time() -> None:
    first = uuid.UUID(new_run_id(now_ms=0x01A23BF01A6C))
    assert first.version == 7
    assert first.variant == uuid.RFC_4122
    assert first.int >> 80 == 0x01A23BF01A6C  # the first 48 bits are the milliseconds, as Debezium's
    assert len({new_run_id(now_ms=1) for _ in range(100)}) == 100


def test_setting_defaults_to_on_and_takes_booleans_only() -> None:
    assert _config().extended_headers is True
    assert _config(**{"extended.headers.enabled": "false"}).extended_headers is False
    with pytest.raises(ConfigError, match=r"extended\.headers\.enabled='no' is not a boolean"):
        _config(**{"extended.headers.enabled": "no"})
