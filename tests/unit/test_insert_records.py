"""Inserts written straight from their tuples (KafkaSink.emit_insert) are the records their events would make,
byte for byte: keys, values, headers and topics, with and without transaction metadata (no services)."""

from __future__ import annotations

from typing import Any, cast

import pytest

from bench.hotpath import NullProducer, offline_sink
from pgcdc.ack.tracker import AckTracker, TransactionAck
from pgcdc.config import parse_config
from pgcdc.decode.messages import Begin, Commit, Insert, RelationColumn, RelationMessage, Update
from pgcdc.decode.relation import ColumnInfo
from pgcdc.events.builder import EventBuilder
from pgcdc.events.change import SourcePosition
from pgcdc.events.table import CapturedTable, build_table
from pgcdc.events.transaction import TransactionMetadata
from pgcdc.lsn import Lsn
from pgcdc.produce.producer import KafkaSink
from pgcdc.serialize import records
from pgcdc.serialize.records import RecordSerializer

COMMIT_US = 1_796_300_202_273_170
COLUMNS = [  # name, type oid, type, NOT NULL, default
    ("id", 23, "int4", True, None),
    ("n", 20, "int8", True, "5"),
    ("v", 25, "text", False, None),
    ("at", 1184, "timestamptz", False, None),
    ("price", 1700, "numeric", False, None),
]
RELATION = RelationMessage(
    1, "public", "items", "d", tuple(RelationColumn(int(n == "id"), n, oid, -1) for n, oid, *_ in COLUMNS)
)
ROWS = [
    ["1", "10", "plain", "2026-12-03 14:55:09.273170+00", "1.50"],
    ["2", None, 'ctl\x01\x1f and "quotes" \\ é \u2028', None, None],
    ["3", "-9223372036854775808", "", "2026-12-03 14:55:09+00", "-0.01"],
    ["4", "0", None, "1970-01-01 00:00:00.5+00", "123456789.123"],
    ["5", "7", "x" * 300, "2026-12-03 14:55:09.273170+00", "0"],
]


class _Recorder(NullProducer):
    """A producer that keeps every record it is given, in order."""

    def __init__(self) -> None:
        super().__init__(None)
        self.records: list[tuple[Any, ...]] = []

    def produce(self, topic: str, value: bytes | None, key: bytes | None, *extra: Any) -> None:
        headers = extra[-1]
        self.records.append(
            (topic, key, value, list(headers.items()) if isinstance(headers, dict) else headers)
        )


class _CountingSink(KafkaSink):
    """KafkaSink that counts the inserts it wrote straight from their tuples, or (``fused`` False) writes none."""

    def __init__(self, *, fused: bool, **settings: Any) -> None:
        super().__init__(**settings)
        self.fused = fused
        self.written = 0

    def emit_insert(
        self,
        table: CapturedTable,
        values: Any,
        lsn: Lsn,
        position: SourcePosition,
        ack: TransactionAck | None,
        transactions: TransactionMetadata | None,
    ) -> bool:
        if not self.fused:
            return False
        written = super().emit_insert(table, values, lsn, position, ack, transactions)
        self.written += written
        return written


class _Watching:
    """A signal observer with a window open: every row event must reach ``changed``."""

    watching = True

    def __init__(self) -> None:
        self.changed_keys: list[Any] = []

    def signal(self, *args: Any) -> None:
        pass

    def changed(self, table: CapturedTable, key: Any, tx_id: int | None) -> None:
        self.changed_keys.append(key)


def _written(*, fused: bool, metadata: bool, signals: Any = None) -> tuple[list[tuple[Any, ...]], int]:
    config = parse_config(
        {
            "topic.prefix": "pfx",
            "database.url": "postgresql://u@h/db",
            "provide.transaction.metadata": str(metadata).lower(),
        },
        env={},
    )
    producer = _Recorder()
    serializer = RecordSerializer(server_name="pfx", dbname="db", run_id="1796300202273-1")
    sink = cast(_CountingSink, offline_sink(serializer, producer, sink_class=_CountingSink, fused=fused))
    catalog = {
        name: ColumnInfo(name, oid, type_name, -1, not not_null, default)
        for name, oid, type_name, not_null, default in COLUMNS
    }
    builder = EventBuilder(
        config=config,
        describe=lambda message: build_table(message, catalog, ("id",), config, warn=print),
        tracker=AckTracker(),
        sink=sink,
        signals=signals,
    )
    lsn = 0x1000
    for xid in (740, 741):
        builder.handle(Begin(Lsn(lsn + 900), COMMIT_US, xid), Lsn(lsn))
        if xid == 740:
            builder.handle(RELATION, Lsn(lsn))
        for number, row in enumerate(ROWS):
            lsn += 100
            builder.handle(Insert(1, [str(int(row[0]) + xid * 10), *row[1:]]), Lsn(lsn))
            if number == 2:
                builder.handle(Update(1, None, False, [row[0], "1", "updated", None, None]), Lsn(lsn + 50))
        builder.handle(Commit(Lsn(lsn + 900), Lsn(lsn + 932), COMMIT_US), Lsn(lsn + 932))
        lsn += 1000
    return producer.records, sink.written


@pytest.fixture(autouse=True)
def _fixed_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(records, "time_ns", lambda: 1_796_300_203_000_123_456)


@pytest.mark.parametrize("metadata", [False, True])
def test_inserts_written_from_their_tuples_are_the_records_their_events_make(metadata: bool) -> None:
    straight, written = _written(fused=True, metadata=metadata)
    from_events, none = _written(fused=False, metadata=metadata)
    assert none == 0
    # Each transaction's first two inserts build the table's template through their events; the rest need none.
    assert written == 2 * (len(ROWS) - 2)
    assert straight == from_events
    assert all(
        headers for topic, *_, headers in straight if topic == "pfx.public.items"
    )  # the context headers
    assert len(straight) == 2 * (len(ROWS) + 1) + (4 if metadata else 0)


def test_no_insert_skips_its_event_while_an_incremental_snapshot_window_watches() -> None:
    signals = _Watching()
    straight, written = _written(fused=True, metadata=False, signals=signals)
    assert written == 0
    assert len(signals.changed_keys) == 2 * (len(ROWS) + 1)
    assert straight == _written(fused=False, metadata=False)[0]
