"""At-least-once delivery: kill -9 at any moment loses no committed change; an idle slot holds no WAL."""

from __future__ import annotations

import signal
import threading
import time
from pathlib import Path

import psycopg
import pytest

from tests.connector_run import (
    connector_settings,
    kill_9_while_writing,
    pgcdc_process,
    running_connector,
    unique_prefix,
    wait_until,
)
from tests.kafka_read import read_topic

ROWS = 20000
PER_TRANSACTION = 20
# The writer is paced so that the kills land while it writes, not after.
TRANSACTION_PAUSE_S = 0.01


def ids_on_topic(records: list) -> set[int]:  # type: ignore[type-arg]
    return {r.value_json["payload"]["after"]["id"] for r in records if r.value is not None}


def test_kill_9_and_restart_loses_no_committed_change(
    database: str, kafka_bootstrap: str, tmp_path: Path
) -> None:
    with psycopg.connect(database, autocommit=True) as conn:
        conn.execute("CREATE TABLE public.items (id int PRIMARY KEY, note text)")
    prefix = unique_prefix()
    topic = f"{prefix}.public.items"
    settings = connector_settings(database, prefix, **{"table.include.list": "public.items"})

    def workload() -> None:
        with psycopg.connect(database, autocommit=True) as conn:
            for start in range(1, ROWS + 1, PER_TRANSACTION):
                with conn.transaction():
                    conn.execute(
                        "INSERT INTO public.items SELECT g, 'n' || g FROM generate_series(%s::int, %s::int) g",
                        (start, start + PER_TRANSACTION - 1),
                    )
                # A rolled-back transaction must never appear.
                with pytest.raises(psycopg.errors.RaiseException), conn.transaction():
                    conn.execute("INSERT INTO public.items VALUES (%s, 'rolled back')", (-start,))
                    conn.execute("DO $$ BEGIN RAISE EXCEPTION 'roll back'; END $$")
                time.sleep(TRANSACTION_PAUSE_S)

    writer = threading.Thread(target=workload)
    process = pgcdc_process(settings, kafka_bootstrap, tmp_path)
    try:
        process = kill_9_while_writing(
            process,
            settings,
            kafka_bootstrap,
            tmp_path,
            writer=writer,
            topic=topic,
            counts=(2000, 8000, 14000),
        )
        records = read_topic(
            kafka_bootstrap,
            topic,
            until=lambda got: ids_on_topic(got) >= set(range(1, ROWS + 1)),
            timeout=180,
        )
    finally:
        process.terminate()
        code = process.wait(60)
    assert code == 0, (tmp_path / "c.log").read_text()[-3000:]
    seen = ids_on_topic(records)
    assert seen == set(range(1, ROWS + 1)), "rolled-back or foreign ids on the topic"
    # Duplicates may come only from the unconfirmed tail at each kill, never more than the rows written.
    assert len(records) < 2 * ROWS


def test_sigterm_drains_confirms_and_exits_zero(database: str, kafka_bootstrap: str, tmp_path: Path) -> None:
    with psycopg.connect(database, autocommit=True) as conn:
        conn.execute("CREATE TABLE public.items (id int PRIMARY KEY)")
    prefix = unique_prefix()
    settings = connector_settings(database, prefix, **{"table.include.list": "public.items"})
    process = pgcdc_process(settings, kafka_bootstrap, tmp_path)
    try:
        wait_until(lambda: b"streaming" in (tmp_path / "c.log").read_bytes(), timeout=60, what="streaming")
        with psycopg.connect(database, autocommit=True) as conn:
            conn.execute("INSERT INTO public.items SELECT generate_series(1, 500)")
            lsn_after = conn.execute("SELECT pg_current_wal_lsn()").fetchone()[0]  # type: ignore[index]
        read_topic(kafka_bootstrap, f"{prefix}.public.items", until=lambda got: len(got) >= 500)
    finally:
        process.send_signal(signal.SIGTERM)
        code = process.wait(60)
    assert code == 0, (tmp_path / "c.log").read_text()[-3000:]
    with psycopg.connect(database, autocommit=True) as conn:
        confirmed_past = conn.execute(
            "SELECT confirmed_flush_lsn >= %s::pg_lsn FROM pg_replication_slots WHERE slot_name = %s",
            (lsn_after, settings["slot.name"]),
        ).fetchone()
    assert confirmed_past == (True,)


def test_idle_slot_does_not_retain_wal_while_another_table_churns(
    database: str, kafka_bootstrap: str
) -> None:
    with psycopg.connect(database, autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE public.quiet (id int PRIMARY KEY); CREATE TABLE public.busy (id int, pad text)"
        )
    prefix = unique_prefix()
    settings = connector_settings(database, prefix, **{"table.include.list": "public.quiet"})
    with running_connector(settings, kafka_bootstrap), psycopg.connect(database, autocommit=True) as conn:
        before = conn.execute("SELECT pg_current_wal_lsn()").fetchone()[0]  # type: ignore[index]
        for _ in range(4):
            conn.execute(
                "INSERT INTO public.busy SELECT g, repeat('x', 200) FROM generate_series(1, 25000) g"
            )
        written = conn.execute("SELECT pg_current_wal_lsn() - %s::pg_lsn", (before,)).fetchone()[0]  # type: ignore[index]
        assert written > 16 * 1024 * 1024, "the churn should have written well over 16 MB of WAL"

        def retained() -> bool:
            row = conn.execute(
                "SELECT pg_current_wal_lsn() - confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = %s",
                (settings["slot.name"],),
            ).fetchone()
            return row is not None and row[0] < 1024 * 1024

        wait_until(retained, timeout=60, what="the idle slot to confirm past the other table's WAL")
