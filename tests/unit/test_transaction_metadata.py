"""provide.transaction.metadata and key-change headers, from decoded messages to record bytes (no services).

The expected bytes are what the real Debezium 3.6.3 wrote (through Kafka Connect 4.3's JsonConverter and
SimpleHeaderConverter) for the same statements; only ids, LSNs and times are this test's own.
"""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from pgcdc.ack.tracker import AckTracker
from pgcdc.config import parse_config
from pgcdc.decode.messages import (
    Begin,
    Commit,
    Insert,
    LogicalMessage,
    RelationColumn,
    RelationMessage,
    Truncate,
    Update,
)
from pgcdc.decode.relation import ColumnInfo
from pgcdc.errors import ConfigError
from pgcdc.events.builder import EventBuilder
from pgcdc.events.change import ChangeEvent, TransactionMarker
from pgcdc.events.table import CapturedTable, build_table
from pgcdc.events.transaction import MESSAGE_COLLECTION, TransactionMetadata
from pgcdc.lsn import Lsn
from pgcdc.serialize.headers import struct_header
from pgcdc.serialize.records import RecordSerializer

DEBEZIUM_BEGIN_KEY = (
    b'{"schema":{"type":"struct","fields":[{"type":"string","optional":false,"field":"id"}],"optional":false,'
    b'"name":"io.debezium.connector.common.TransactionMetadataKey","version":1},"payload":{"id":"729:22320584"}}'
)
_VALUE_SCHEMA = (
    b'{"schema":{"type":"struct","fields":[{"type":"string","optional":false,"field":"status"},{"type":"string",'
    b'"optional":false,"field":"id"},{"type":"int64","optional":true,"field":"event_count"},{"type":"array",'
    b'"items":{"type":"struct","fields":[{"type":"string","optional":false,"field":"data_collection"},'
    b'{"type":"int64","optional":false,"field":"event_count"}],"optional":true,"name":"event.collection",'
    b'"version":1},"optional":true,"field":"data_collections"},{"type":"int64","optional":false,"field":"ts_ms"}],'
    b'"optional":false,"name":"io.debezium.connector.common.TransactionMetadataValue","version":1},'
)
DEBEZIUM_BEGIN_VALUE = _VALUE_SCHEMA + (
    b'"payload":{"status":"BEGIN","id":"729:22320584","event_count":null,"data_collections":null,'
    b'"ts_ms":1796300202273}}'
)
DEBEZIUM_END_VALUE = _VALUE_SCHEMA + (
    b'"payload":{"status":"END","id":"729:22321504","event_count":4,"data_collections":[{"data_collection":'
    b'"public.t","event_count":3},{"data_collection":"public.t2","event_count":1}],"ts_ms":1796300202273}}'
)
COMMIT_US = 1796300202273170


def _config(**extra: str) -> Any:
    return parse_config(
        {"topic.prefix": "pfx", "database.url": "postgresql://u@h/db", "provide.transaction.metadata": "true"}
        | extra,
        env={},
    )


def _table(oid: int, name: str, columns: list[tuple[str, int, str]], key: tuple[str, ...]) -> RelationMessage:
    return RelationMessage(
        oid, "public", name, "d", tuple(RelationColumn(int(c in key), c, oid_, -1) for c, oid_, _ in columns)
    )


T = _table(1, "t", [("id", 23, "int4"), ("v", 25, "text")], ("id",))
T2 = _table(2, "t2", [("a", 23, "int4"), ("b", 25, "text")], ("a", "b"))
KEYS = {1: ("id",), 2: ("a", "b")}


class ListSink:
    def __init__(self) -> None:
        self.records: list[ChangeEvent | TransactionMarker] = []

    def emit(self, event: ChangeEvent) -> None:
        self.records.append(event)

    def mark(self, marker: TransactionMarker) -> None:
        self.records.append(marker)


def _builder(**extra: str) -> tuple[EventBuilder, ListSink, AckTracker]:
    config = _config(**extra)

    def describe(message: RelationMessage) -> CapturedTable:
        types = {23: "int4", 25: "text"}
        columns = {
            c.name: ColumnInfo(
                c.name, c.type_oid, types[c.type_oid], -1, c.name not in KEYS[message.oid], None
            )
            for c in message.columns
        }
        return build_table(message, columns, KEYS[message.oid], config, warn=lambda text: None)

    sink, tracker = ListSink(), AckTracker()
    return EventBuilder(config=config, describe=describe, tracker=tracker, sink=sink), sink, tracker


def _stream(builder: EventBuilder) -> None:
    """The probe's first two transactions: four changes to two tables, then a key-changing update."""
    feed: list[tuple[Any, int]] = [
        (Begin(Lsn(22321472), COMMIT_US, 729), 22320584),
        (T, 22320584),
        (Insert(1, ["1", "a"]), 22320584),
        (Insert(1, ["2", "b"]), 22320808),
        (T2, 22320936),
        (Insert(2, ["1", "x"]), 22320936),
        (Update(1, None, False, ["1", "c"]), 22321160),
        (Commit(Lsn(22321472), Lsn(22321504), COMMIT_US), 22321504),
        (Begin(Lsn(22321672), COMMIT_US, 730), 22321504),
        (Update(1, ["1", None], True, ["10", "c"]), 22321504),
        (Commit(Lsn(22321672), Lsn(22321704), COMMIT_US), 22321704),
    ]
    for message, lsn in feed:
        builder.handle(message, Lsn(lsn))


def _summary(record: ChangeEvent | TransactionMarker) -> tuple[Any, ...]:
    if isinstance(record, TransactionMarker):
        return (record.status, record.id, record.event_count, record.data_collections)
    block = record.transaction
    tx = None if block is None else (block.id, block.total_order, block.data_collection_order)
    return ("tombstone" if record.tombstone else record.op, record.key, tx)


def test_begin_events_and_end_carry_debeziums_ids_and_counts() -> None:
    builder, sink, _ = _builder()
    _stream(builder)
    assert [_summary(r) for r in sink.records] == [
        ("BEGIN", "729:22320584", None, None),
        ("c", {"id": 1}, ("729:22320584", 1, 1)),
        ("c", {"id": 2}, ("729:22320808", 2, 2)),
        ("c", {"a": 1, "b": "x"}, ("729:22320936", 3, 1)),
        ("u", {"id": 1}, ("729:22321160", 4, 3)),
        ("END", "729:22321504", 4, [("public.t", 3), ("public.t2", 1)]),
        ("BEGIN", "730:22321504", None, None),
        ("d", {"id": 1}, ("730:22321504", 1, 1)),
        ("tombstone", {"id": 1}, None),
        ("c", {"id": 10}, ("730:22321504", 2, 2)),
        ("END", "730:22321704", 2, [("public.t", 2)]),
    ]


def test_transaction_records_are_byte_for_byte_debeziums() -> None:
    builder, sink, _ = _builder()
    _stream(builder)
    serializer = RecordSerializer(server_name="pfx", dbname="postgres")
    begin, end = (r for r in sink.records if isinstance(r, TransactionMarker) and r.id.startswith("729:"))
    assert serializer.transaction_marker(begin) == (DEBEZIUM_BEGIN_KEY, DEBEZIUM_BEGIN_VALUE)
    key, value = serializer.transaction_marker(end)
    assert key == DEBEZIUM_BEGIN_KEY.replace(b"22320584", b"22321504")
    assert value == DEBEZIUM_END_VALUE
    insert = next(r for r in sink.records if isinstance(r, ChangeEvent) and r.key == {"id": 2})
    written = serializer.value(insert)
    assert written is not None
    assert (
        b',"transaction":{"id":"729:22320808","total_order":2,"data_collection_order":2},"op":"c",' in written
    )


def test_markers_and_events_share_the_transactions_ack() -> None:
    """BEGIN and END are acknowledged like events: the commit is safe only when Kafka holds them too."""
    builder, sink, tracker = _builder()
    builder.handle(Begin(Lsn(200), COMMIT_US, 5), Lsn(100))
    builder.handle(T, Lsn(100))
    builder.handle(Insert(1, ["1", "a"]), Lsn(110))
    builder.handle(Commit(Lsn(190), Lsn(200), COMMIT_US), Lsn(200))
    acks = {id(r.ack) for r in sink.records}
    assert len(sink.records) == 3 and len(acks) == 1
    ack = sink.records[0].ack
    assert ack is not None
    for _ in sink.records:
        ack.sent()
    for _ in sink.records[:2]:
        ack.delivered(None, None)
    assert tracker.safe_lsn() == Lsn(0)  # END not yet acknowledged
    ack.delivered(None, None)
    assert tracker.safe_lsn() == Lsn(200)


def test_messages_truncates_and_empty_transactions() -> None:
    builder, sink, _ = _builder(**{"skipped.operations": "none"})
    builder.handle(T, Lsn(1))
    builder.handle(Begin(Lsn(400), COMMIT_US, 7), Lsn(300))
    builder.handle(LogicalMessage(True, Lsn(300), "pre", b"x"), Lsn(300))
    builder.handle(Truncate((1,), False, False), Lsn(310))
    builder.handle(Commit(Lsn(390), Lsn(400), COMMIT_US), Lsn(400))
    builder.handle(LogicalMessage(False, Lsn(410), "pre", b"y"), Lsn(410))
    builder.handle(Begin(Lsn(500), COMMIT_US, 8), Lsn(420))  # a transaction of tables not captured
    builder.handle(Commit(Lsn(490), Lsn(500), COMMIT_US), Lsn(500))
    assert [_summary(r) for r in sink.records] == [
        ("BEGIN", "7:300", None, None),
        ("m", {"prefix": "pre"}, ("7:300", 1, 1)),
        ("t", None, ("7:310", 2, 1)),
        ("END", "7:400", 2, [("public.t", 1), (f"{MESSAGE_COLLECTION}@12c", 1)]),
        ("m", {"prefix": "pre"}, None),  # non-transactional: no block, no BEGIN/END
        ("BEGIN", "8:420", None, None),
        ("END", "8:500", 0, []),
    ]


def test_off_by_default() -> None:
    config = parse_config({"topic.prefix": "pfx", "database.url": "postgresql://u@h/db"}, env={})
    assert not config.provide_transaction_metadata
    assert config.transaction_topic == "pfx.transaction"
    builder, sink, _ = _builder(**{"provide.transaction.metadata": "false"})
    _stream(builder)
    assert all(isinstance(r, ChangeEvent) and r.transaction is None for r in sink.records)
    serializer = RecordSerializer(server_name="pfx", dbname="postgres")
    written = serializer.value(next(r for r in sink.records if isinstance(r, ChangeEvent)))
    assert written is not None and b',"transaction":null,' in written


def test_transaction_topic_setting() -> None:
    assert _config(**{"topic.transaction": "tx-meta"}).transaction_topic == "pfx.tx-meta"
    with pytest.raises(ConfigError, match=r"topic\.transaction='a b' may contain only"):
        _config(**{"topic.transaction": "a b"})
    with pytest.raises(ConfigError, match=r"provide\.transaction\.metadata='yes' is not a boolean"):
        _config(**{"provide.transaction.metadata": "yes"})


@pytest.mark.parametrize(
    ("inserted", "listed"),
    [
        # What java.util.HashMap<String, Long> iterates, checked on JDK 17.
        (["public.t2", "public.t"], ["public.t", "public.t2"]),
        (
            ["public.orders", "public.customers", "inventory.items", "public.line_items", "s.é"],
            ["public.orders", "public.customers", "public.line_items", "inventory.items", "s.é"],
        ),
    ],
)
def test_data_collections_in_java_hash_map_order(inserted: list[str], listed: list[str]) -> None:
    metadata = TransactionMetadata()
    metadata.begin(1, 1)
    for name in inserted:
        metadata.block(name, 2)
    assert [name for name, _ in metadata.end(3)[2]] == listed


def test_a_wide_transaction_changes_the_order_of_later_ones() -> None:
    """Debezium clears one HashMap between transactions; clear() keeps the capacity it grew to."""
    metadata = TransactionMetadata()
    metadata.begin(1, 1)
    for i in range(14):
        metadata.block(f"public.table_{i}", 2)
    order = [int(name.rsplit("_", 1)[1]) for name, _ in metadata.end(3)[2]]
    assert order == [9, 11, 8, 12, 7, 6, 10, 13, 1, 0, 5, 4, 3, 2]
    metadata.begin(2, 4)
    for name in ["public.orders", "public.customers", "inventory.items", "public.line_items", "s.é"]:
        metadata.block(name, 5)
    assert [name for name, _ in metadata.end(6)[2]] == [
        "public.orders",
        "public.customers",
        "public.line_items",
        "s.é",
        "inventory.items",
    ]


def test_key_change_headers_as_a_connect_worker_writes_them() -> None:
    builder, sink, _ = _builder(**{"provide.transaction.metadata": "false"})
    _stream(builder)
    serializer = RecordSerializer(server_name="pfx", dbname="postgres")
    changed = [r for r in sink.records if isinstance(r, ChangeEvent) and r.key_change is not None]
    assert [(r.op, r.tombstone, serializer.headers(r)) for r in changed] == [
        ("d", False, {"__debezium.newkey": b'{"id":10}'}),
        ("d", True, {"__debezium.newkey": b'{"id":10}'}),
        ("c", False, {"__debezium.oldkey": b'{"id":1}'}),
    ]
    plain = [r for r in sink.records if isinstance(r, ChangeEvent) and r.key_change is None]
    assert all(serializer.headers(r) is None for r in plain)


def _field(field: str, kind: str, **extra: Any) -> dict[str, Any]:
    return {"type": kind, "optional": True, **extra, "field": field}


def test_header_text_of_every_kind_of_key_field() -> None:
    """Each expected string is SimpleHeaderConverter's output for the same Connect struct (JDK 17)."""
    decimal = "org.apache.kafka.connect.data.Decimal"
    variable = [_field("scale", "int32"), _field("value", "bytes")]
    fields = [
        _field("i", "int32"),
        _field("l", "int64"),
        _field("s", "string"),
        _field("d", "double"),
        _field("b", "boolean"),
        _field("by", "bytes"),
        _field("dec", "bytes", name=decimal, parameters={"scale": "2"}),
        _field("dec2", "bytes", name=decimal, parameters={"scale": "9"}),
        _field("date", "int32", name="org.apache.kafka.connect.data.Date"),
        _field("time", "int32", name="org.apache.kafka.connect.data.Time"),
        _field("ts", "int64", name="org.apache.kafka.connect.data.Timestamp"),
        _field("n", "string"),
        _field("vsd", "struct", name="io.debezium.data.VariableScaleDecimal", fields=variable),
        _field("a", "array", items={"type": "int32", "optional": False}),
    ]
    row = {
        "i": 7,
        "l": -9007199254740993,
        "s": 'a"b\\c\n\u00e9\u0001/',
        "d": orjson.Fragment(b"1.0E10"),
        "b": True,
        "by": "AQL/",
        "dec": "AJY=",  # 150 at scale 2
        "dec2": "AQ==",  # 1 at scale 9
        "date": 3,
        "time": 3723004,
        "ts": 1700000000123,
        "n": None,
        "vsd": {"scale": 2, "value": "AJY="},
        "a": [1, 2],
    }
    expected = (
        '{"i":7,"l":-9007199254740993,"s":"a\\"b\\\\c\n\u00e9\u0001/","d":1.0E10,"b":true,"by":"AQL/",'
        '"dec":1.50,"dec2":1E-9,"date":1970-01-04,"time":01:02:03.004Z,"ts":2023-11-14T22:13:20.123Z,'
        '"n":null,"vsd":{"scale":2,"value":"AJY="},"a":[1,2]}'
    )
    assert struct_header(fields, row) == expected.encode()


@pytest.mark.parametrize(
    ("unscaled", "scale", "text"),
    [(1000, 0, "1000"), (1, -3, "1E+3"), (1, 7, "1E-7"), (1, 6, "0.000001"), (-123400, 4, "-12.3400")],
)
def test_decimal_header_text_is_big_decimal_to_string(unscaled: int, scale: int, text: str) -> None:
    import base64

    data = base64.b64encode(unscaled.to_bytes(8, "big", signed=True)).decode()
    field = _field(
        "d", "bytes", name="org.apache.kafka.connect.data.Decimal", parameters={"scale": str(scale)}
    )
    assert struct_header([field], {"d": data}) == f'{{"d":{text}}}'.encode()


def test_the_transaction_topic_is_listed_among_the_connectors_topics() -> None:
    from pgcdc.api.shapes import connector_topics

    config = {"topic.prefix": "pfx", "database.url": "postgresql://u@h/db", "topic.transaction": "tx"}
    existing = {"k.pfx.public.t", "k.pfx.tx", "k.pfx.message", "k.other"}
    listed = connector_topics(config, ["public.t"], kafka_prefix="k.", existing=existing)
    assert listed == ["k.pfx.message", "k.pfx.public.t"]
    config["provide.transaction.metadata"] = "true"
    listed = connector_topics(config, ["public.t"], kafka_prefix="k.", existing=existing)
    assert listed == ["k.pfx.message", "k.pfx.public.t", "k.pfx.tx"]


@pytest.mark.parametrize(
    ("schema", "value", "text"),
    [  # Kafka Connect 4.3's Values.convertToString on JDK 17 (UTC): the pattern follows the instant
        ("Date", -735160, "00:00:00.000Z"),  # 44 BC: any instant before 1970-01-02 is written as a time
        ("Date", 0, "00:00:00.000Z"),
        ("Date", 1, "1970-01-02"),
        ("Date", 2932897, "10000-01-01"),
        ("Timestamp", -63524073599750, "16:00:00.250Z"),
        ("Timestamp", -1, "23:59:59.999Z"),
        ("Timestamp", 86399999, "23:59:59.999Z"),
        ("Timestamp", 86400000, "1970-01-02"),  # a midnight: only the date
        ("Timestamp", 86400001, "1970-01-02T00:00:00.001Z"),
        ("Timestamp", 946684799000, "1999-12-31T23:59:59.000Z"),
        ("Timestamp", 253402300800000, "10000-01-01"),
        ("Time", 3723456, "01:02:03.456Z"),
    ],
)
def test_date_time_header_text_follows_the_instant_as_connect_does(
    schema: str, value: int, text: str
) -> None:
    field = _field("v", "int64", name=f"org.apache.kafka.connect.data.{schema}")
    assert struct_header([field], {"v": value}) == f'{{"v":{text}}}'.encode()
