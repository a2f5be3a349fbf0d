"""Initial snapshots: existing rows as op r, then the stream with no gap and no overlap; crash-safe by design."""

from __future__ import annotations

import gc
import logging
import re
import signal
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest

from pgcdc.config import parse_config
from pgcdc.pipeline import Connector
from pgcdc.produce.client import kafka_settings
from pgcdc.snapshot.copy import reads_row_addresses
from pgcdc.snapshot.parallel import ParallelCopy
from tests.connector_run import (
    connector_settings,
    pgcdc_process,
    running_connector,
    unique_prefix,
    wait_until,
)
from tests.kafka_read import Record, read_topic


def slot_exists(dsn: str, slot: str) -> bool:
    with psycopg.connect(dsn, autocommit=True) as conn:
        return (
            conn.execute("SELECT 1 FROM pg_replication_slots WHERE slot_name = %s", (slot,)).fetchone()
            is not None
        )


@contextmanager
def racing_inserts(dsn: str, statement: str, first_id: int, end_id: int) -> Iterator[Callable[[], list[int]]]:
    """Insert one row per transaction from a thread (ids first_id, first_id + 1, ...) while the block runs:
    writes racing a snapshot, each of which must reach Kafka exactly once. Yields ``finish``, which stops the
    writer and returns the ids it committed."""
    stop = threading.Event()
    written: list[int] = []

    def write() -> None:
        with psycopg.connect(dsn, autocommit=True) as conn:
            for next_id in range(first_id, end_id):
                if stop.is_set():
                    return
                conn.execute(statement, (next_id,))
                written.append(next_id)

    thread = threading.Thread(target=write)
    thread.start()

    def finish() -> list[int]:
        stop.set()
        thread.join(30)
        return written

    try:
        yield finish
    finally:
        finish()


def ops_by_id(records: list[Record]) -> dict[int, list[str]]:
    seen: dict[int, list[str]] = {}
    for record in records:
        if record.value is not None:
            payload = record.value_json["payload"]
            row = payload["after"] or payload["before"]
            seen.setdefault(row["id"], []).append(payload["op"])
    return seen


def test_snapshot_then_stream_without_gap_or_overlap_under_concurrent_writes(
    database: str, kafka_bootstrap: str
) -> None:
    with psycopg.connect(database, autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE public.a (id int PRIMARY KEY, v text); CREATE TABLE public.b (id int PRIMARY KEY)"
        )
        conn.execute("INSERT INTO public.a SELECT g, 'old' FROM generate_series(1, 20000) g")
        conn.execute("INSERT INTO public.b SELECT generate_series(1, 3)")
    prefix = unique_prefix()
    settings = connector_settings(database, prefix, **{"table.include.list": "public.a,public.b"})
    with (
        racing_inserts(database, "INSERT INTO public.a VALUES (%s, 'new')", 20001, 40000) as finish,
        running_connector(settings, kafka_bootstrap) as connector,
    ):
        written = finish()
        records = read_topic(
            kafka_bootstrap,
            f"{prefix}.public.a",
            until=lambda got: (
                len(got) >= 20000 + len(written) and len(ops_by_id(got)) >= 20000 + len(written)
            ),
            timeout=120,
        )
        b_records = read_topic(kafka_bootstrap, f"{prefix}.public.b", until=lambda got: len(got) >= 3)
        assert connector.status.snapshot["rows_scanned"] >= 20003
        assert connector.status.snapshot["tables_remaining"] == 0
    seen = ops_by_id(records)
    assert set(seen) == set(range(1, 20001)) | set(written)
    assert all(len(ops) == 1 for ops in seen.values()), "a row appeared twice: snapshot and stream overlap"
    assert all(seen[i] == ["r"] for i in range(1, 20001))
    flags = [
        r.value_json["payload"]["source"]["snapshot"] for r in records if r.value_json["payload"]["op"] == "r"
    ]
    assert flags[0] == "first" and flags[-1] == "last_in_data_collection" and set(flags[1:-1]) <= {"true"}
    assert [r.value_json["payload"]["source"]["snapshot"] for r in b_records] == [
        "first_in_data_collection",
        "true",
        "last",
    ]


def test_interrupted_snapshot_leaves_no_slot_and_runs_again(database: str, kafka_bootstrap: str) -> None:
    with psycopg.connect(database, autocommit=True) as conn:
        conn.execute("CREATE TABLE public.big (id int PRIMARY KEY, pad text)")
        conn.execute("INSERT INTO public.big SELECT g, repeat('p', 100) FROM generate_series(1, 60000) g")
    prefix = unique_prefix()
    settings = connector_settings(database, prefix, **{"table.include.list": "public.big"})
    connector = Connector(
        config=parse_config(settings, env={}), kafka=kafka_settings(kafka_bootstrap, env={})
    )
    thread = threading.Thread(target=connector.run, daemon=True)
    thread.start()
    wait_until(
        lambda: connector.status.snapshot.get("rows_scanned", 0) > 0, timeout=60, what="the snapshot to run"
    )
    connector.stop()
    thread.join(60)
    assert connector.status.snapshot["rows_scanned"] < 60000
    assert not slot_exists(database, settings["slot.name"]), "an unfinished snapshot must not leave the slot"
    with running_connector(settings, kafka_bootstrap):
        records = read_topic(
            kafka_bootstrap,
            f"{prefix}.public.big",
            until=lambda got: len(got) >= 60000 and len(ops_by_id(got)) >= 60000,
            timeout=180,
        )
    assert set(ops_by_id(records)) == set(range(1, 60001))
    assert slot_exists(database, settings["slot.name"])


def test_initial_only_copies_then_stops_and_no_data_skips_the_copy(
    database: str, kafka_bootstrap: str
) -> None:
    with psycopg.connect(database, autocommit=True) as conn:
        conn.execute("CREATE TABLE public.t (id int PRIMARY KEY)")
        conn.execute("INSERT INTO public.t SELECT generate_series(1, 5)")
    only = unique_prefix()
    settings = connector_settings(
        database, only, **{"table.include.list": "public.t", "snapshot.mode": "initial_only"}
    )
    Connector(config=parse_config(settings, env={}), kafka=kafka_settings(kafka_bootstrap, env={})).run()
    assert len(read_topic(kafka_bootstrap, f"{only}.public.t", until=lambda got: len(got) >= 5)) == 5
    assert not slot_exists(database, settings["slot.name"])

    none = unique_prefix()
    settings = connector_settings(
        database, none, **{"table.include.list": "public.t", "snapshot.mode": "no_data"}
    )
    with running_connector(settings, kafka_bootstrap), psycopg.connect(database, autocommit=True) as conn:
        conn.execute("INSERT INTO public.t VALUES (6)")
        records = read_topic(kafka_bootstrap, f"{none}.public.t", until=lambda got: len(got) >= 1)
    assert ops_by_id(records) == {6: ["c"]}


def published(dsn: str, publication: str) -> set[str]:
    with psycopg.connect(dsn, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT schemaname || '.' || tablename FROM pg_publication_tables WHERE pubname = %s",
            (publication,),
        ).fetchall()
    return {str(r[0]) for r in rows}


def test_table_added_to_a_streaming_connector_is_snapshotted_without_gap_or_overlap(
    database: str, kafka_bootstrap: str
) -> None:
    with psycopg.connect(database, autocommit=True) as conn:
        conn.execute("CREATE TABLE public.a (id int PRIMARY KEY); CREATE TABLE public.b (id int PRIMARY KEY)")
        conn.execute("INSERT INTO public.b SELECT generate_series(1, 5000)")
    prefix = unique_prefix()
    settings = connector_settings(database, prefix, **{"table.include.list": "public.a"})
    with running_connector(settings, kafka_bootstrap), psycopg.connect(database, autocommit=True) as conn:
        conn.execute("INSERT INTO public.a VALUES (1)")
        read_topic(kafka_bootstrap, f"{prefix}.public.a", until=lambda got: len(got) >= 1)

    added = {**settings, "table.include.list": "public.a,public.b"}
    with (
        racing_inserts(database, "INSERT INTO public.b VALUES (%s)", 5001, 20000) as finish,
        running_connector(added, kafka_bootstrap),
    ):
        written = finish()
        expected = 5000 + len(written)
        records = read_topic(
            kafka_bootstrap,
            f"{prefix}.public.b",
            until=lambda got: len(got) >= expected and len(ops_by_id(got)) >= expected,
            timeout=120,
        )
    seen = ops_by_id(records)
    assert set(seen) == set(range(1, 5001)) | set(written)
    assert all(len(ops) == 1 for ops in seen.values()), "a row of the added table was written twice"
    assert all(seen[i] == ["r"] for i in range(1, 5001))
    assert published(database, settings["publication.name"]) == {"public.a", "public.b"}
    assert published(database, settings["publication.name"] + "_snapshot") == set()


def test_parallel_snapshot_copies_every_chunk_once_while_writes_race_it(
    database: str, kafka_bootstrap: str, caplog: pytest.LogCaptureFixture
) -> None:
    with psycopg.connect(database, autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE public.a (id int PRIMARY KEY, v text); CREATE TABLE public.b (id int PRIMARY KEY);"
            "CREATE TABLE public.c (id int PRIMARY KEY)"
        )
        conn.execute("INSERT INTO public.a SELECT g, repeat('o', 40) FROM generate_series(1, 12000) g")
        # Dead rows in the middle: chunks over those pages read nothing.
        conn.execute("DELETE FROM public.a WHERE id BETWEEN 2001 AND 5000")
        conn.execute("INSERT INTO public.b VALUES (1)")
    prefix = unique_prefix()
    settings = connector_settings(
        database,
        prefix,
        **{"table.include.list": "public.a,public.b,public.c", "snapshot.fetch.size": "500"},
    )
    with (
        caplog.at_level(logging.INFO, logger="pgcdc.snapshot.parallel"),
        racing_inserts(database, "INSERT INTO public.a VALUES (%s, 'new')", 12001, 40000) as finish,
        running_connector(settings, kafka_bootstrap) as connector,
    ):
        written = finish()
        before = set(range(1, 2001)) | set(range(5001, 12001))
        records = read_topic(
            kafka_bootstrap,
            f"{prefix}.public.a",
            until=lambda got: len(ops_by_id(got)) >= len(before) + len(written),
            timeout=120,
        )
        b_records = read_topic(kafka_bootstrap, f"{prefix}.public.b", until=lambda got: len(got) >= 1)
        progress = connector.status.snapshot
    chunks = [r.getMessage() for r in caplog.records if "chunk(s) over" in r.getMessage()]
    assert chunks and chunks[0].startswith("snapshot: 8 chunk(s) over 2 process(es)"), chunks
    seen = ops_by_id(records)
    assert set(seen) == before | set(written)
    assert all(len(ops) == 1 for ops in seen.values()), "a row appeared twice"
    assert all(seen[i] == ["r"] for i in before)
    snapshotted = [r for r in records if r.value_json["payload"]["op"] == "r"]
    flags = [r.value_json["payload"]["source"]["snapshot"] for r in snapshotted]
    assert flags[0] == "first" and flags[-1] == "last_in_data_collection" and set(flags[1:-1]) == {"true"}
    assert [r.value_json["payload"]["source"]["snapshot"] for r in b_records] == ["last"]
    assert {r.value_json["payload"]["source"]["txId"] for r in snapshotted + b_records} == {
        snapshotted[0].value_json["payload"]["source"]["txId"]
    }
    # One run, one run id: the rows the worker processes wrote carry the parent's context headers.
    assert {r.headers for r in records + b_records} == {records[0].headers}
    assert [name for name, _ in records[0].headers][-1] == "__debezium.context.runId"
    # Progress ends at rows done == rows, the planner's estimates replaced by the counts.
    assert progress["threads"] == 2 and progress["tables_remaining"] == 0
    assert progress["rows_scanned"] == progress["rows_expected"] == len(snapshotted) + 1
    assert progress["tables"] == {
        "public.a": {"rows_expected": len(snapshotted), "rows_scanned": len(snapshotted), "done": True},
        "public.b": {"rows_expected": 1, "rows_scanned": 1, "done": True},
        "public.c": {"rows_expected": 0, "rows_scanned": 0, "done": True},
    }
    assert progress["rows_per_second"] > 0


def _children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def _running(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_a_killed_connector_leaves_no_snapshot_worker_behind(
    database: str, kafka_bootstrap: str, tmp_path: Path
) -> None:
    with psycopg.connect(database, autocommit=True) as conn:
        conn.execute("CREATE TABLE public.big (id int PRIMARY KEY, pad text)")
        conn.execute("INSERT INTO public.big SELECT g, repeat('p', 100) FROM generate_series(1, 200000) g")
    settings = connector_settings(
        database, unique_prefix(), **{"table.include.list": "public.big", "snapshot.fetch.size": "1000"}
    )
    process = pgcdc_process(settings, kafka_bootstrap, tmp_path)
    try:
        workers = wait_until(
            lambda: [
                c
                for c in _children(process.pid)
                if b"pgcdc.snapshot.worker" in Path(f"/proc/{c}/cmdline").read_bytes()
            ],
            timeout=60,
            what="the snapshot's worker processes",
        )
    finally:
        process.kill()
        process.wait(30)
    wait_until(lambda: not any(_running(w) for w in workers), timeout=30, what="the orphaned workers to exit")
    wait_until(
        lambda: not slot_exists(database, settings["slot.name"] + "_snapshot"), timeout=30, what="no slot"
    )
    assert not slot_exists(database, settings["slot.name"])


def test_parallel_snapshot_of_a_partitioned_table_beside_a_chunked_one(
    database: str, kafka_bootstrap: str
) -> None:
    # Rows of different partitions share ctids: the first row is left out of the chunks by relation and place.
    with psycopg.connect(database, autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE public.p (id int PRIMARY KEY) PARTITION BY RANGE (id);"
            "CREATE TABLE public.p1 PARTITION OF public.p FOR VALUES FROM (1) TO (101);"
            "CREATE TABLE public.p2 PARTITION OF public.p FOR VALUES FROM (101) TO (201);"
            "CREATE TABLE public.big (id int PRIMARY KEY)"
        )
        conn.execute("INSERT INTO public.p SELECT generate_series(1, 200)")
        conn.execute("INSERT INTO public.big SELECT generate_series(1, 5000)")
    prefix = unique_prefix()
    settings = connector_settings(
        database, prefix, **{"table.include.list": "public.big,public.p", "snapshot.fetch.size": "500"}
    )
    with running_connector(settings, kafka_bootstrap) as connector:
        records = read_topic(kafka_bootstrap, f"{prefix}.public.p", until=lambda got: len(got) >= 200)
        big = read_topic(kafka_bootstrap, f"{prefix}.public.big", until=lambda got: len(got) >= 5000)
        assert connector.status.snapshot["threads"] == 2
    assert sorted(r.key_json["payload"]["id"] for r in records) == list(range(1, 201))
    assert sorted(r.key_json["payload"]["id"] for r in big) == list(range(1, 5001))


def test_a_role_with_column_privileges_only_cannot_read_row_addresses(database: str) -> None:
    # Such a role copies its tables in one process: ctid ranges and the first row's address need whole-row SELECT.
    role = f"cols_{unique_prefix()}"
    with psycopg.connect(database, autocommit=True) as conn:
        conn.execute(f"CREATE TABLE public.s (id int PRIMARY KEY, secret text); CREATE ROLE {role} LOGIN")
        conn.execute(f"GRANT SELECT (id) ON public.s TO {role}")
        oid = int(conn.execute("SELECT 'public.s'::regclass::oid::int").fetchone()[0])  # type: ignore[index]
        assert reads_row_addresses(conn, oid)
    try:
        with psycopg.connect(database, user=role, autocommit=True) as conn:
            assert not reads_row_addresses(conn, oid)
    finally:
        with psycopg.connect(database, autocommit=True) as conn:
            conn.execute(f"DROP TABLE public.s; DROP ROLE {role}")


def docs_with_a_row_too_large_for_a_worker(database: str, prefix: str) -> dict[str, str]:
    """public.docs, 4,000 rows in chunks of 500 copied by two processes, row 2 (3 MB) over the producer's 1 MB
    message.max.bytes and in a worker's chunk; the connector's settings, with errors.tolerance=all."""
    with psycopg.connect(database, autocommit=True) as conn:
        conn.execute("CREATE TABLE public.docs (id int PRIMARY KEY, body text)")
        conn.execute("INSERT INTO public.docs VALUES (1, 'first'), (2, repeat('y', 3 * 1024 * 1024))")
        conn.execute("INSERT INTO public.docs SELECT g, 'small' FROM generate_series(3, 4000) g")
    return connector_settings(
        database,
        prefix,
        **{"table.include.list": "public.docs", "snapshot.fetch.size": "500", "errors.tolerance": "all"},
    )


def test_rows_a_snapshot_worker_skips_under_errors_tolerance_all_are_counted_in_the_status(
    database: str, kafka_bootstrap: str
) -> None:
    """Row 2 is 3 MB, over the producer's 1 MB message.max.bytes, and in a chunk a worker process copies (the
    parent writes only the first row and each chunk's last): what the workers produce and skip is counted in the
    connector's status as the parent's own records are."""
    prefix = unique_prefix()
    settings = docs_with_a_row_too_large_for_a_worker(database, prefix)
    with running_connector(settings, kafka_bootstrap) as connector:
        records = read_topic(kafka_bootstrap, f"{prefix}.public.docs", until=lambda got: len(got) >= 3999)
        status = connector.status
        threads = status.snapshot["threads"]
        counts = (dict(status.events_by_op), status.records_skipped, status.records_dead_lettered)
    assert threads == 2
    assert sorted(r.key_json["payload"]["id"] for r in records) == [1, *range(3, 4001)]
    # Kafka Connect counts a skipped record among those polled, as the streaming path does.
    assert counts == ({"r": 4000}, 1, 0)


# pgcdc's log format (pgcdc.log_setup.LOG_FORMAT): time, level, logger, message.
FORMATTED_LINE = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} (?:INFO|WARNING) pgcdc\.[\w.]+: ")


@pytest.mark.parametrize("log_level", ["info", "error"])
def test_a_snapshot_worker_logs_with_the_level_and_format_of_its_pgcdc_run(
    database: str, kafka_bootstrap: str, tmp_path: Path, log_level: str
) -> None:
    """The row a worker process skips (3 MB, in the worker's chunk as in the test above) is logged by that worker:
    as ``pgcdc run``'s own lines are at --log-level info, and not at all at --log-level error."""
    prefix = unique_prefix()
    settings = docs_with_a_row_too_large_for_a_worker(database, prefix)
    process = pgcdc_process(settings, kafka_bootstrap, tmp_path, options=["--log-level", log_level])
    try:
        # The last row of every chunk is written by the parent once the workers finished.
        read_topic(kafka_bootstrap, f"{prefix}.public.docs", until=lambda got: len(got) >= 3999)
    finally:
        process.send_signal(signal.SIGTERM)
        code = process.wait(90)
    lines = (tmp_path / "c.log").read_text().splitlines()
    assert code == 0, lines[-30:]
    skipped = [line for line in lines if "skipped" in line and "(errors.tolerance=all)" in line]
    if log_level == "error":
        assert skipped == []
        return
    parallel = [line for line in lines if "chunk(s) over 2 process(es)" in line]
    assert len(parallel) == 1 and FORMATTED_LINE.match(parallel[0]), "the parent's line, in pgcdc's format"
    assert len(skipped) == 1 and FORMATTED_LINE.match(skipped[0]), skipped
    assert " WARNING pgcdc.produce.refused: skipped " in skipped[0]


def test_a_worker_that_takes_the_last_chunk_while_the_parent_looks_for_one_leaves_it_nothing_to_copy(
    database: str, kafka_bootstrap: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two chunks, two processes: the worker gets chunk 0 and the parent is to copy chunk 1. The parent's first
    turn at serving the workers is held until the worker has finished chunk 0 and been handed chunk 1, the
    interleaving a clean-clone CI run hit by chance (the parent then popped an empty queue and the snapshot
    failed). The parent must find nothing left and wait for the worker instead."""
    with psycopg.connect(database, autocommit=True) as conn:
        conn.execute("CREATE TABLE public.pair (id int PRIMARY KEY, pad text)")
        conn.execute("INSERT INTO public.pair SELECT g, repeat('p', 100) FROM generate_series(1, 4000) g")
        conn.execute("ANALYZE public.pair")
    real_serve = ParallelCopy._serve

    def serve_once_a_worker_finished(self: ParallelCopy, workers: list[object], *, timeout: float) -> None:
        deadline = time.monotonic() + 60
        # The parent's turns (timeout 0) before the worker's first chunk ended wait for it to end.
        while timeout == 0 and not self._last_rows:
            assert time.monotonic() < deadline, "the worker did not finish its chunk in 60 s"
            real_serve(self, workers, timeout=0.1)  # type: ignore[arg-type]
        real_serve(self, workers, timeout=timeout)  # type: ignore[arg-type]

    monkeypatch.setattr(ParallelCopy, "_serve", serve_once_a_worker_finished)
    prefix = unique_prefix()
    settings = connector_settings(
        database,
        prefix,
        **{
            "table.include.list": "public.pair",
            "snapshot.fetch.size": "1000",
            "snapshot.max.threads": "2",
            "snapshot.max.threads.multiplier": "1",
        },
    )
    with running_connector(settings, kafka_bootstrap) as connector:
        records = read_topic(kafka_bootstrap, f"{prefix}.public.pair", until=lambda got: len(got) >= 4000)
        progress = connector.status.snapshot
    assert progress["threads"] == 2 and progress["tables"]["public.pair"]["done"]
    seen = ops_by_id(records)
    assert sorted(seen) == list(range(1, 4001))
    assert all(ops == ["r"] for ops in seen.values())


def _kafka_client_threads() -> Counter[str]:
    """The threads librdkafka runs in this process for its clients (rdk:main, rdk:broker..., per client)."""
    names: Counter[str] = Counter()
    for comm in Path("/proc/self/task").glob("*/comm"):
        try:
            name = comm.read_text().strip()
        except OSError:
            continue  # the thread ended meanwhile
        if name.startswith("rdk:"):
            names[name] += 1
    return names


def test_a_stopped_connector_leaves_no_kafka_client_behind(database: str, kafka_bootstrap: str) -> None:
    """Its producer, its admin client and the producer its own process copied snapshot chunks with are closed
    when it stops: a client left to the garbage collector kept reconnecting, and logging, once the broker was
    gone (after pytest's summary)."""
    with psycopg.connect(database, autocommit=True) as conn:
        conn.execute("CREATE TABLE public.kept (id int PRIMARY KEY, pad text)")
        conn.execute("INSERT INTO public.kept SELECT g, repeat('k', 100) FROM generate_series(1, 4000) g")
        conn.execute("ANALYZE public.kept")
    settings = connector_settings(
        database,
        unique_prefix(),
        **{
            "table.include.list": "public.kept",
            "snapshot.fetch.size": "1000",
            "snapshot.max.threads": "2",
            "snapshot.max.threads.multiplier": "1",
        },
    )
    # Only closing may end the connector's clients here, not a collection of what it left behind.
    gc.collect()
    gc.disable()
    try:
        before = _kafka_client_threads()
        with running_connector(settings, kafka_bootstrap) as connector:
            with psycopg.connect(database, autocommit=True) as conn:
                conn.execute("INSERT INTO public.kept VALUES (0, 'streamed')")
            wait_until(
                lambda: connector.status.events_by_op.get("c"), timeout=60, what="the insert to stream"
            )
            threads = connector.status.snapshot["threads"]
        left = _kafka_client_threads() - before
    finally:
        gc.enable()
    assert threads == 2, "the snapshot was not parallel: the parent's own copier was not exercised"
    assert not left, f"the stopped connector left Kafka client threads running: {dict(left)}"
