"""provide.transaction.metadata through the whole pipeline, and the headers of row records (key changes, context)."""

from __future__ import annotations

import uuid
from collections import Counter
from typing import Any

import psycopg

from tests.connector_run import connector_settings, running_connector, unique_prefix
from tests.kafka_read import Record, read_topic


def _xid(conn: psycopg.Connection[Any]) -> int:
    row = conn.execute("SELECT txid_current() % 4294967296").fetchone()
    assert row is not None
    return int(row[0])


def test_begin_end_and_transaction_blocks(database: str, kafka_bootstrap: str) -> None:
    with psycopg.connect(database, autocommit=True) as conn:
        conn.execute("CREATE TABLE public.orders (id int PRIMARY KEY, note text)")
        conn.execute("CREATE TABLE public.lines (order_id int, line text, PRIMARY KEY (order_id, line))")
        conn.execute("CREATE TABLE public.ignored (id int PRIMARY KEY)")
    prefix = unique_prefix()
    settings = connector_settings(
        database,
        prefix,
        **{
            "table.include.list": "public.orders,public.lines",
            "provide.transaction.metadata": "true",
            "snapshot.mode": "no_data",
        },
    )
    with running_connector(settings, kafka_bootstrap), psycopg.connect(database) as conn:
        xids = [_xid(conn)]
        conn.execute("INSERT INTO public.orders VALUES (1, 'a'), (2, 'b')")
        conn.execute("INSERT INTO public.ignored VALUES (1)")
        conn.execute("INSERT INTO public.lines VALUES (1, 'x')")
        conn.execute("UPDATE public.orders SET note = 'c' WHERE id = 1")
        conn.commit()
        xids.append(_xid(conn))
        conn.execute("SELECT pg_logical_emit_message(true, 'audit', 'in a transaction')")
        conn.execute("DELETE FROM public.lines")
        conn.commit()
        conn.execute("SELECT pg_logical_emit_message(false, 'audit', 'on its own')")
        conn.commit()
        xids.append(_xid(conn))
        conn.execute("INSERT INTO public.orders VALUES (3, 'd')")
        conn.commit()
        markers = read_topic(kafka_bootstrap, f"{prefix}.transaction", until=lambda got: len(got) >= 6)
        orders = read_topic(kafka_bootstrap, f"{prefix}.public.orders", until=lambda got: len(got) >= 4)
        lines = read_topic(kafka_bootstrap, f"{prefix}.public.lines", until=lambda got: len(got) >= 3)
        messages = read_topic(kafka_bootstrap, f"{prefix}.message", until=lambda got: len(got) >= 2)

    assert len(markers) == 6
    keys, values = [m.key_json for m in markers], [m.value_json for m in markers]
    assert {k["schema"]["name"] for k in keys} == {"io.debezium.connector.common.TransactionMetadataKey"}
    assert {v["schema"]["name"] for v in values} == {"io.debezium.connector.common.TransactionMetadataValue"}
    payloads = [v["payload"] for v in values]
    assert [k["payload"]["id"] for k in keys] == [p["id"] for p in payloads]
    assert [p["status"] for p in payloads] == ["BEGIN", "END"] * 3
    assert [int(p["id"].split(":")[0]) for p in payloads] == [x for x in xids for _ in (0, 1)]
    # The message's collection is named by its LSN, so its place in the list changes from run to run.
    assert [(p["event_count"], _sorted(p["data_collections"])) for p in payloads] == [
        (None, None),
        (4, [("public.lines", 1), ("public.orders", 3)]),
        (None, None),
        (2, [(_message_collection(payloads[3]), 1), ("public.lines", 1)]),
        (None, None),
        (1, [("public.orders", 1)]),
    ]
    # Two tables: listed as java.util.HashMap iterates them.
    assert [c["data_collection"] for c in payloads[1]["data_collections"]] == [
        "public.orders",
        "public.lines",
    ]

    events = [r for r in orders + lines + messages if r.value is not None]
    by_xid: dict[int, list[dict[str, Any]]] = {}
    for record in events:
        payload = record.value_json["payload"]
        if payload["transaction"] is None:
            assert payload["op"] == "m" and payload["source"]["txId"] is None  # the non-transactional message
            continue
        by_xid.setdefault(payload["source"]["txId"], []).append(payload)
    assert sorted(by_xid) == sorted(xids)
    for number, xid in enumerate(xids):
        begin, end = payloads[2 * number], payloads[2 * number + 1]
        begin_lsn, end_lsn = int(begin["id"].split(":")[1]), int(end["id"].split(":")[1])
        ordered = sorted(by_xid[xid], key=lambda p: p["transaction"]["total_order"])
        assert [p["transaction"]["total_order"] for p in ordered] == list(range(1, end["event_count"] + 1))
        per_table: Counter[str] = Counter()
        for payload in ordered:
            block, source = payload["transaction"], payload["source"]
            assert block["id"] == f"{xid}:{source['lsn']}"
            assert begin_lsn <= source["lsn"] < end_lsn
            collection = f"{source['schema']}.{source['table']}" if payload["op"] != "m" else "message"
            per_table[collection] += 1
            assert block["data_collection_order"] == (per_table[collection] if collection != "message" else 1)
            assert begin["ts_ms"] == end["ts_ms"] == source["ts_ms"]
    (message,) = [p for p in by_xid[xids[1]] if p["op"] == "m"]
    assert _message_collection(payloads[3]).endswith(f"@{message['source']['lsn']:x}")
    first = sorted(by_xid[xids[0]], key=lambda p: p["transaction"]["total_order"])
    assert [(p["op"], (p["after"] or p["before"])) for p in first] == [
        ("c", {"id": 1, "note": "a"}),
        ("c", {"id": 2, "note": "b"}),
        ("c", {"order_id": 1, "line": "x"}),
        ("u", {"id": 1, "note": "c"}),
    ]
    schema = orders[0].value_json["schema"]["fields"][3]
    assert (schema["field"], schema["name"]) == ("transaction", "event.block")


def _sorted(collections: list[dict[str, Any]] | None) -> list[tuple[str, int]] | None:
    if collections is None:
        return None
    return sorted((c["data_collection"], c["event_count"]) for c in collections)


def _message_collection(end: dict[str, Any]) -> str:
    """The message's own data collection: Debezium's class name, '@' and (in pgcdc) the message's LSN."""
    found = [c["data_collection"] for c in end["data_collections"] if c["data_collection"].startswith("io.")]
    assert len(found) == 1
    name, _, lsn = found[0].partition("@")
    assert name == "io.debezium.connector.postgresql.LogicalDecodingMessageMonitor$LogicalDecodingMessageId"
    assert int(lsn, 16) > 0
    return found[0]


def test_key_changes_name_the_other_key_in_headers(database: str, kafka_bootstrap: str) -> None:
    with psycopg.connect(database, autocommit=True) as conn:
        conn.execute("CREATE TABLE public.t (id int, name text, v int, PRIMARY KEY (id, name))")
    prefix = unique_prefix()
    settings = connector_settings(
        database, prefix, **{"table.include.list": "public.t", "snapshot.mode": "no_data"}
    )
    with running_connector(settings, kafka_bootstrap), psycopg.connect(database, autocommit=True) as conn:
        conn.execute("INSERT INTO public.t VALUES (1, 'a\"b\\c', 0)")
        conn.execute("UPDATE public.t SET id = 10, name = 'é' WHERE id = 1")
        conn.execute("UPDATE public.t SET v = 1 WHERE id = 10")
        conn.execute("DELETE FROM public.t WHERE id = 10")
        records = read_topic(kafka_bootstrap, f"{prefix}.public.t", until=lambda got: len(got) >= 7)
    assert [_op(r) for r in records] == ["c", "d", "tombstone", "c", "u", "d", "tombstone"]
    new_key = ("__debezium.newkey", '{"id":10,"name":"é"}'.encode())
    old_key = ("__debezium.oldkey", b'{"id":1,"name":"a\\"b\\\\c"}')
    # extended.headers.enabled (on by default): Debezium 3's context headers after the key-change header.
    run_id = records[0].headers[-1][1]
    assert run_id is not None and uuid.UUID(run_id.decode()).version == 7
    context = (
        ("__debezium.context.connectorLogicalName", prefix.encode()),
        ("__debezium.context.taskId", b"0"),
        ("__debezium.context.connectorName", b"postgresql"),
        ("__debezium.context.runId", run_id),
    )
    assert [r.headers for r in records] == [
        context,
        (new_key, *context),
        (new_key, *context),
        (old_key, *context),
        context,
        context,
        context,
    ]
    assert records[1].key_json["payload"] == {"id": 1, "name": 'a"b\\c'}
    assert records[3].key_json["payload"] == {"id": 10, "name": "é"}


def _op(record: Record) -> str:
    return "tombstone" if record.value is None else str(record.value_json["payload"]["op"])


def test_without_extended_headers_and_name_columns(database: str, kafka_bootstrap: str) -> None:
    """extended.headers.enabled=false leaves rows without headers; a name column is its text in the snapshot and
    null (NOT NULL: "") when streamed, as Debezium 3.6 writes it."""
    with psycopg.connect(database, autocommit=True) as conn:
        conn.execute("CREATE TABLE public.n (id int PRIMARY KEY, owner name, tag name NOT NULL)")
        conn.execute("INSERT INTO public.n VALUES (1, 'alice', 'x')")
    prefix = unique_prefix()
    settings = connector_settings(
        database, prefix, **{"table.include.list": "public.n", "extended.headers.enabled": "false"}
    )
    with running_connector(settings, kafka_bootstrap), psycopg.connect(database, autocommit=True) as conn:
        conn.execute("INSERT INTO public.n VALUES (2, 'bob', 'y')")
        records = read_topic(kafka_bootstrap, f"{prefix}.public.n", until=lambda got: len(got) >= 2)
    assert [(_op(r), r.value_json["payload"]["after"], r.headers) for r in records] == [
        ("r", {"id": 1, "owner": "alice", "tag": "x"}, ()),
        ("c", {"id": 2, "owner": None, "tag": ""}, ()),
    ]
