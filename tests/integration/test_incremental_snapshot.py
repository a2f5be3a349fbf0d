"""Ad-hoc incremental snapshots (Debezium's execute-snapshot signal) while the stream goes on."""

from __future__ import annotations

import json
import random
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
import pytest

from pgcdc.snapshot.incremental import IncrementalSnapshot
from tests.connector_run import (
    connector_settings,
    pgcdc_process,
    running_connector,
    unique_prefix,
    wait_until,
)
from tests.kafka_read import Record, read_topic

SIGNAL_TABLE = "public.debezium_signal"


def create_tables(dsn: str, *statements: str) -> None:
    """The signal table, then the test's own tables and rows."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE public.debezium_signal "
            "(id varchar(64) PRIMARY KEY, type varchar(32) NOT NULL, data varchar(2048))"
        )
        for statement in statements:
            conn.execute(statement)


def send_signal(dsn: str, signal_id: str, kind: str, data: Any) -> None:
    text = data if isinstance(data, str) or data is None else json.dumps(data)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("INSERT INTO public.debezium_signal VALUES (%s, %s, %s)", (signal_id, kind, text))


def snapshot_of(*tables: str, **extra: Any) -> dict[str, Any]:
    return {"data-collections": list(tables), "type": "incremental", **extra}


def settings_for(dsn: str, prefix: str, tables: str, **extra: str) -> dict[str, str]:
    return connector_settings(
        dsn,
        prefix,
        **{
            "table.include.list": tables,
            "snapshot.mode": "no_data",
            "signal.data.collection": SIGNAL_TABLE,
            **extra,
        },
    )


def rebuilt_state(records: list[Record]) -> dict[int, Any]:
    """What a consumer applying the topic in order holds: the last value per key, deletes removing it."""
    state: dict[int, Any] = {}
    for record in records:
        key = record.key_json["payload"]["id"]
        value = record.value_json
        if value is None or value["payload"]["op"] == "d":
            state.pop(key, None)
        else:
            state[key] = value["payload"]["after"]["v"]
    return state


def table_and_topic(
    dsn: str, bootstrap: str, topic: str, *, end_id: int
) -> tuple[dict[int, Any], list[Record]]:
    """public.items as it is now, and its topic read up to a last insert made after that read, so the topic is
    known to hold every change before it."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        table = {int(i): v for i, v in conn.execute("SELECT id, v FROM public.items").fetchall()}
        conn.execute("INSERT INTO public.items VALUES (%s, 'end')", (end_id,))
    table[end_id] = "end"
    records = read_topic(
        bootstrap,
        topic,
        until=lambda got: any(r.key_json["payload"]["id"] == end_id for r in got),
        timeout=120,
    )
    return table, records


def incremental_rows(records: list[Record]) -> list[dict[str, Any]]:
    return [
        r.value_json["payload"]
        for r in records
        if r.value is not None and r.value_json["payload"]["op"] == "r"
    ]


def windows_opened(conn: psycopg.Connection[tuple[object, ...]]) -> int:
    """The chunks pgcdc has begun: the open watermarks it wrote into the signal table."""
    row = conn.execute(
        "SELECT count(*) FROM public.debezium_signal WHERE type = 'snapshot-window-open'"
    ).fetchone()
    assert row is not None
    return int(str(row[0]))


@contextmanager
def racing_writes(dsn: str, ids: int) -> Iterator[threading.Event]:
    """Updates, deletes and re-inserts of random keys, one per transaction, until the block ends."""
    stop = threading.Event()
    rng = random.Random(7)

    def write() -> None:
        with psycopg.connect(dsn, autocommit=True) as conn:
            step = 0
            while not stop.is_set():
                step += 1
                key = rng.randint(1, ids)
                choice = rng.random()
                if choice < 0.7:
                    conn.execute("UPDATE public.items SET v = %s WHERE id = %s", (f"u{step}", key))
                elif choice < 0.85:
                    conn.execute("DELETE FROM public.items WHERE id = %s", (key,))
                else:
                    conn.execute(
                        "INSERT INTO public.items VALUES (%s, %s) ON CONFLICT (id) DO UPDATE SET v = excluded.v",
                        (key, f"i{step}"),
                    )

    thread = threading.Thread(target=write, daemon=True)
    thread.start()
    try:
        yield stop
    finally:
        stop.set()
        thread.join(30)


def test_signal_snapshots_a_table_while_its_keys_change(database: str, kafka_bootstrap: str) -> None:
    rows = 4000
    create_tables(
        database,
        "CREATE TABLE public.items (id int PRIMARY KEY, v text)",
        f"INSERT INTO public.items SELECT g, 'old' || g FROM generate_series(1, {rows}) g",
    )
    prefix = unique_prefix()
    settings = settings_for(database, prefix, "public.items", **{"incremental.snapshot.chunk.size": "100"})
    with running_connector(settings, kafka_bootstrap) as connector:
        with racing_writes(database, rows):
            send_signal(database, "sig-1", "execute-snapshot", snapshot_of("public.items"))
            wait_until(
                lambda: connector.status.snapshot.get("state") == "completed",
                timeout=120,
                what="the incremental snapshot to complete",
            )
        progress = dict(connector.status.snapshot)
        table, records = table_and_topic(database, kafka_bootstrap, f"{prefix}.public.items", end_id=rows + 1)
    snapshot_rows = incremental_rows(records)
    assert snapshot_rows, "the signal snapshotted nothing"
    assert rebuilt_state(records) == table, "the topic disagrees with the table: a stale snapshot row won"
    first = snapshot_rows[0]
    assert first["source"]["snapshot"] == "incremental"
    assert first["source"]["lsn"] is None and first["source"]["txId"] is None
    assert first["before"] is None
    assert progress["kind"] == "incremental" and progress["tables_remaining"] == 0
    # rows deleted by the writer are never read, so the chunks are counted from the rows read
    assert progress["rows_scanned"] >= len(snapshot_rows)
    assert progress["chunks"] >= progress["rows_scanned"] // 100
    signals = read_topic(
        kafka_bootstrap, f"{prefix}.public.debezium_signal", until=lambda got: len(got) >= 3, timeout=30
    )
    kinds = {r.value_json["payload"]["after"]["type"] for r in signals}
    assert {"execute-snapshot", "snapshot-window-open", "snapshot-window-close"} <= kinds


def test_changes_between_chunk_read_and_window_close_win_over_the_chunk(
    database: str, kafka_bootstrap: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The race DBLog's watermarks exist for, made certain: right after each chunk is read, another session
    updates its first key and deletes its second, before pgcdc writes the close watermark."""
    create_tables(
        database,
        "CREATE TABLE public.items (id int PRIMARY KEY, v text)",
        "INSERT INTO public.items SELECT g, 'old' FROM generate_series(1, 30) g",
    )
    real_chunk = IncrementalSnapshot._chunk
    raced: list[int] = []

    def chunk_then_race(self: IncrementalSnapshot, task: Any) -> Any:
        rows = real_chunk(self, task)
        ids = [row["id"] for row in rows.values()]
        if len(ids) >= 2:
            with psycopg.connect(database, autocommit=True) as conn:
                conn.execute("UPDATE public.items SET v = 'raced' WHERE id = %s", (ids[0],))
                conn.execute("DELETE FROM public.items WHERE id = %s", (ids[1],))
            raced.extend(ids[:2])
        return rows

    monkeypatch.setattr(IncrementalSnapshot, "_chunk", chunk_then_race)
    prefix = unique_prefix()
    settings = settings_for(database, prefix, "public.items", **{"incremental.snapshot.chunk.size": "10"})
    with running_connector(settings, kafka_bootstrap) as connector:
        send_signal(database, "sig", "execute-snapshot", snapshot_of("public.items"))
        wait_until(lambda: connector.status.snapshot.get("state") == "completed", timeout=60, what="snapshot")
        table, records = table_and_topic(database, kafka_bootstrap, f"{prefix}.public.items", end_id=1000)
    assert len(raced) == 6
    assert rebuilt_state(records) == table
    snapshotted = {p["after"]["id"] for p in incremental_rows(records)}
    assert snapshotted == set(range(1, 31)) - set(raced)


def test_additional_conditions_filter_and_stop_snapshot(database: str, kafka_bootstrap: str) -> None:
    create_tables(
        database,
        "CREATE TABLE public.items (id int PRIMARY KEY, v text)",
        "CREATE TABLE public.other (id int PRIMARY KEY, v text)",
        "INSERT INTO public.items SELECT g, 'x' FROM generate_series(1, 100) g",
        "INSERT INTO public.other SELECT g, 'y' FROM generate_series(1, 50) g",
    )
    prefix = unique_prefix()
    settings = settings_for(
        database, prefix, "public.items,public.other", **{"incremental.snapshot.chunk.size": "7"}
    )
    with running_connector(settings, kafka_bootstrap) as connector:
        # Started and stopped in one transaction: the stop arrives before the first window closes.
        with psycopg.connect(database) as conn:
            for signal_id, kind, data in (
                ("s1", "execute-snapshot", snapshot_of("public.other")),
                ("s2", "stop-snapshot", {"data-collections": ["public.other"], "type": "incremental"}),
            ):
                conn.execute(
                    "INSERT INTO public.debezium_signal VALUES (%s, %s, %s)",
                    (signal_id, kind, json.dumps(data)),
                )
        wait_until(lambda: connector.status.snapshot.get("state") == "stopped", timeout=30, what="the stop")
        send_signal(
            database,
            "s3",
            "execute-snapshot",
            snapshot_of(
                "public\\.ite.*",
                **{"additional-conditions": [{"data-collection": "public.items", "filter": "id % 10 = 0"}]},
            ),
        )
        wait_until(lambda: connector.status.snapshot.get("state") == "completed", timeout=60, what="s3")
        with psycopg.connect(database, autocommit=True) as conn:
            conn.execute("INSERT INTO public.other VALUES (1000, 'end')")
        other = read_topic(kafka_bootstrap, f"{prefix}.public.other", until=lambda got: len(got) >= 1)
        items = read_topic(kafka_bootstrap, f"{prefix}.public.items", until=lambda got: len(got) >= 10)
    assert [r.value_json["payload"]["op"] for r in other] == ["c"], "the stopped snapshot wrote rows"
    assert sorted(p["after"]["id"] for p in incremental_rows(items)) == list(range(10, 101, 10))


def test_bad_signals_are_logged_and_skipped(
    database: str, kafka_bootstrap: str, caplog: pytest.LogCaptureFixture
) -> None:
    create_tables(
        database,
        "CREATE TABLE public.items (id int PRIMARY KEY, v text)",
        "CREATE TABLE public.nokey (id int, v text)",
        "ALTER TABLE public.nokey REPLICA IDENTITY FULL",
        "INSERT INTO public.items VALUES (1, 'a'), (2, 'b')",
    )
    prefix = unique_prefix()
    settings = settings_for(database, prefix, "public.items,public.nokey")
    with caplog.at_level("WARNING"), running_connector(settings, kafka_bootstrap) as connector:
        send_signal(database, "bad-json", "execute-snapshot", "{not json")
        send_signal(database, "bad-table", "execute-snapshot", snapshot_of("public.missing"))
        send_signal(database, "bad-key", "execute-snapshot", snapshot_of("public.nokey"))
        send_signal(
            database,
            "bad-filter",
            "execute-snapshot",
            snapshot_of(
                "public.items",
                **{"additional-conditions": [{"data-collection": "public.items", "filter": "nope >"}]},
            ),
        )
        send_signal(database, "bad-type", "no-such-signal", "{}")
        with psycopg.connect(database, autocommit=True) as conn:
            conn.execute("UPDATE public.items SET v = 'changed' WHERE id = 1")
        send_signal(database, "good", "execute-snapshot", snapshot_of("public.items"))
        records = read_topic(
            kafka_bootstrap,
            f"{prefix}.public.items",
            until=lambda got: len(incremental_rows(got)) >= 2,
            timeout=60,
        )
        assert connector.status.state == "available"
    assert [r.value_json["payload"]["op"] for r in records] == ["u", "r", "r"]
    text = caplog.text
    assert "signal 'bad-json' (execute-snapshot) has data that is not JSON" in text
    assert "data-collection 'public.missing' matches no table" in text
    assert "table public.nokey has no primary key" in text
    assert "incremental snapshot of public.items failed" in text
    assert "signal 'bad-type' has type 'no-such-signal'" in text


def test_a_restart_mid_snapshot_resumes_from_the_open_chunk(database: str, kafka_bootstrap: str) -> None:
    create_tables(
        database,
        "CREATE TABLE public.items (id int PRIMARY KEY, v text)",
        "INSERT INTO public.items SELECT g, 'x' FROM generate_series(1, 400) g",
    )
    prefix = unique_prefix()
    settings = settings_for(database, prefix, "public.items", **{"incremental.snapshot.chunk.size": "1"})
    with running_connector(settings, kafka_bootstrap) as connector:
        send_signal(database, "sig", "execute-snapshot", snapshot_of("public.items"))
        wait_until(lambda: connector.status.snapshot.get("rows_scanned", 0) >= 10, timeout=60, what="chunks")
    assert connector.status.snapshot["state"] == "running", (
        "the snapshot ended before the stop; use more rows"
    )
    scanned_before = connector.status.snapshot["rows_scanned"]
    with running_connector(settings, kafka_bootstrap) as connector:
        wait_until(
            lambda: connector.status.snapshot.get("state") == "completed", timeout=120, what="the resume"
        )
        assert connector.status.snapshot["signal"] == "sig"
        _, records = table_and_topic(database, kafka_bootstrap, f"{prefix}.public.items", end_id=1000)
    snapshotted = [p["after"]["id"] for p in incremental_rows(records)]
    assert set(snapshotted) == set(range(1, 401))
    assert snapshotted.count(1) == 1, "the restarted snapshot started over instead of resuming"
    # at least once: only the chunk that was open at the stop is read twice
    assert len(snapshotted) - 400 <= 1, (
        f"{len(snapshotted) - 400} rows written twice ({scanned_before} before)"
    )


def test_kill_9_mid_snapshot_under_writes_leaves_no_gap_and_no_stale_row(
    database: str, kafka_bootstrap: str, tmp_path: Path
) -> None:
    rows = 3000
    create_tables(
        database,
        "CREATE TABLE public.items (id int PRIMARY KEY, v text)",
        f"INSERT INTO public.items SELECT g, 'old' || g FROM generate_series(1, {rows}) g",
    )
    prefix = unique_prefix()
    settings = settings_for(database, prefix, "public.items", **{"incremental.snapshot.chunk.size": "10"})
    topic = f"{prefix}.public.items"
    log = tmp_path / "c.log"
    process = pgcdc_process(settings, kafka_bootstrap, tmp_path)
    try:
        wait_until(lambda: b"streaming" in log.read_bytes(), timeout=60, what="streaming")
        with racing_writes(database, rows):
            send_signal(database, "sig", "execute-snapshot", snapshot_of("public.items"))
            # Killed by pgcdc's own progress, its open watermarks as it writes them, a sixth of the way in. A
            # reader of the topic lags far behind: waiting for it let the whole snapshot finish before the kill
            # once, leaving nothing to resume.
            with psycopg.connect(database, autocommit=True) as watcher:
                wait_until(
                    lambda: windows_opened(watcher) >= 50, timeout=60, what="50 chunks of the snapshot"
                )
            process.kill()
            process.wait(30)
            before_kill = log.read_bytes()
            assert b"incremental snapshot completed" not in before_kill
            killed_at = len(before_kill)
            process = pgcdc_process(settings, kafka_bootstrap, tmp_path)
            # It resumes from the last open watermark it confirmed up to (or, had it confirmed nothing past the
            # signal yet, meets the signal again and starts over); either way it must finish.
            try:
                wait_until(
                    lambda: b"incremental snapshot completed" in log.read_bytes()[killed_at:],
                    timeout=120,
                    what="the snapshot to finish after the restart",
                )
            except AssertionError as err:
                restarted = log.read_bytes()[killed_at:].decode(errors="replace")
                raise AssertionError(
                    f"{err}; the restarted connector's log ends:\n{restarted[-4000:]}"
                ) from None
        table, records = table_and_topic(database, kafka_bootstrap, topic, end_id=rows + 1)
    finally:
        process.kill()
        process.wait(30)
    assert rebuilt_state(records) == table, "the topic disagrees with the table after kill -9"
    snapshotted = {p["after"]["id"] for p in incremental_rows(records)}
    assert len(snapshotted) > rows // 2
