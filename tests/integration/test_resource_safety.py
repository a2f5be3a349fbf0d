"""Resource safety: a stalled broker neither grows pgcdc's memory nor advances the slot; idle slots keep no WAL
while other tables and databases churn; a paused connector reports the WAL it holds and warns past a threshold;
a row over the producer's size limit stops the connector unconfirmed, or with errors.tolerance=all is logged and
dropped, or dead-lettered as its key and an error record.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import orjson
import psycopg
import pytest

from pgcdc.embedded.broker import EmbeddedBroker
from tests.connector_run import (
    connector_settings,
    pgcdc_process,
    running_connector,
    unique_prefix,
    wait_until,
)
from tests.fix_services import PgServer, create_database, drop_database
from tests.kafka_markers import without_aborted
from tests.kafka_read import Record, read_topic
from tests.wal_churn import MB, WAL_LIMIT, churn_wal, slot_lsns, wait_confirmed_past_churn
from tests.worker_run import wait_for_state, worker_group

STALL_S = 60
# The producer may hold this much unacknowledged (max.queue.size.in.bytes); the stall writes far more.
QUEUE_BYTES = 8 * MB
STALL_ROWS = 70_000
ROW_BYTES = 1000
# What the process may grow by while the broker is stopped: the bounded queue, librdkafka's per-message
# overhead and the decoder's working set. Writing STALL_ROWS x ROW_BYTES (~75 MB of WAL) unbounded would exceed it.
RSS_GROWTH_LIMIT = 32 * MB


def rss_bytes(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    found = re.search(r"VmRSS:\s+(\d+) kB", status)
    return int(found.group(1)) * 1024 if found else 0


def ids_in(records: list[Record]) -> set[int]:
    return {r.value_json["payload"]["after"]["id"] for r in records if r.value is not None}


def test_broker_stalled_60_s_bounds_memory_holds_the_slot_and_delivers_everything_after(
    database: str, own_broker: EmbeddedBroker, tmp_path: Path
) -> None:
    with psycopg.connect(database, autocommit=True) as conn:
        conn.execute("CREATE TABLE public.items (id int PRIMARY KEY, pad text)")
    prefix = unique_prefix()
    topic = f"{prefix}.public.items"
    settings = connector_settings(
        database,
        prefix,
        **{"table.include.list": "public.items", "max.queue.size.in.bytes": str(QUEUE_BYTES)},
    )
    slot = settings["slot.name"]
    process = pgcdc_process(settings, own_broker.bootstrap_servers, tmp_path)
    log = tmp_path / "c.log"
    try:
        wait_until(lambda: b"streaming" in log.read_bytes(), timeout=60, what="streaming")
        with psycopg.connect(database, autocommit=True) as conn:
            conn.execute("INSERT INTO public.items SELECT g, 'warm' FROM generate_series(1, 1000) g")
        read_topic(own_broker.bootstrap_servers, topic, until=lambda got: len(got) >= 1000)
        wait_until(
            lambda: slot_lsns(database, slot)[1] >= slot_lsns(database, slot)[0] - MB,
            timeout=30,
            what="the slot to confirm the warm-up",
        )
        baseline = rss_bytes(process.pid)
        own_broker.pause()
        stalled_at = time.monotonic()
        before_writes = slot_lsns(database, slot)[0]

        # Where the first stalled transaction's commit record can start at the earliest. Confirming up to
        # there is fine (a transaction that commits later is sent again); confirming past it is not.
        first_commit: list[int] = []

        def write() -> None:
            with psycopg.connect(database, autocommit=True) as conn:
                for start in range(1001, 1001 + STALL_ROWS, 10_000):
                    with conn.transaction():
                        conn.execute(
                            "INSERT INTO public.items SELECT g, repeat('x', %s)"
                            " FROM generate_series(%s::int, %s::int) g",
                            (ROW_BYTES, start, start + 9_999),
                        )
                        if not first_commit:
                            row = conn.execute("SELECT pg_current_wal_insert_lsn() - '0/0'").fetchone()
                            first_commit.append(int(row[0]))  # type: ignore[index]

        writer = threading.Thread(target=write)
        writer.start()
        peak, confirmed_max = baseline, 0
        while time.monotonic() - stalled_at < STALL_S:
            assert process.poll() is None, log.read_text()[-3000:]
            peak = max(peak, rss_bytes(process.pid))
            confirmed_max = max(confirmed_max, slot_lsns(database, slot)[1])
            time.sleep(0.5)
        writer.join(60)
        written = slot_lsns(database, slot)[0] - before_writes
        own_broker.resume()
        records = read_topic(
            own_broker.bootstrap_servers,
            topic,
            # A count, not the ids: parsing every record again after each batch would be quadratic.
            until=lambda got: len(got) >= 1000 + STALL_ROWS,
            timeout=180,
        )
        wait_until(
            lambda: slot_lsns(database, slot)[1] >= before_writes + written,
            timeout=60,
            what="the slot to confirm the stalled writes once Kafka took them",
        )
    finally:
        own_broker.resume()
        process.send_signal(signal.SIGTERM)
        code = process.wait(90)
    print(
        f"\nstall {STALL_S} s: {written / MB:.0f} MB of WAL written, RSS {baseline / MB:.0f} MB -> "
        f"peak {peak / MB:.0f} MB; slot confirmed at most {(confirmed_max - before_writes) / MB:.1f} MB into the "
        f"stall, the first commit came {(first_commit[0] - before_writes) / MB:.1f} MB into it"
    )
    assert code == 0, log.read_text()[-3000:]
    assert written > 2 * RSS_GROWTH_LIMIT, "the stall should write far more than memory may grow"
    assert peak - baseline < RSS_GROWTH_LIMIT, f"RSS grew {(peak - baseline) / MB:.0f} MB during the stall"
    assert confirmed_max <= first_commit[0], "the slot advanced past a commit Kafka had not acknowledged"
    assert ids_in(records) == set(range(1, 1001 + STALL_ROWS))


def test_idle_slot_keeps_under_64_mb_of_wal_while_other_tables_and_another_database_churn(
    database: str, pg_server: PgServer, kafka_bootstrap: str
) -> None:
    with psycopg.connect(database, autocommit=True) as conn:
        conn.execute("CREATE TABLE public.quiet (id int PRIMARY KEY)")
    other = create_database(pg_server, "other_churn")
    prefix = unique_prefix()
    settings = connector_settings(database, prefix, **{"table.include.list": "public.quiet"})
    slot = settings["slot.name"]
    try:
        with running_connector(settings, kafka_bootstrap):
            churn = churn_wal([database, pg_server.dsn(other)], slot_dsn=database, slot=slot)
            wait_confirmed_past_churn(database, slot, churn, lag=MB)
    finally:
        drop_database(pg_server.admin_dsn, other)
    print(f"\n{churn}")
    assert churn.written > 2 * WAL_LIMIT, "the churn should write well over the limit"
    assert churn.worst_retained < WAL_LIMIT, (
        f"the idle slot retained {churn.worst_retained / MB:.0f} MB of WAL"
    )


@dataclass(frozen=True)
class OversizedRun:
    log: str
    verdict: str
    """held: the slot was not confirmed past the oversized row; advanced: it was."""
    records: list[Record]
    prefix: str


def _run_with_oversized_row(
    database: str, bootstrap: str, tmp_path: Path, **settings_extra: str
) -> OversizedRun:
    """Rows 1 (small), 2 (3 MB, over the producer's 1 MB message.max.bytes), 3 (small); returns the log, whether
    the slot moved past row 2, and what reached the topic (with errors.tolerance=all, once row 3 is there)."""
    with psycopg.connect(database, autocommit=True) as conn:
        conn.execute("CREATE TABLE public.docs (id int PRIMARY KEY, body text)")
    prefix = unique_prefix()
    topic = f"{prefix}.public.docs"
    settings = connector_settings(database, prefix, **{"table.include.list": "public.docs", **settings_extra})
    tolerated = settings_extra.get("errors.tolerance") == "all"
    process = pgcdc_process(settings, bootstrap, tmp_path)
    log = tmp_path / "c.log"
    try:
        wait_until(lambda: b"streaming" in log.read_bytes(), timeout=60, what="streaming")
        with psycopg.connect(database, autocommit=True) as conn:
            conn.execute("INSERT INTO public.docs VALUES (1, 'small')")
            big_lsn = conn.execute("SELECT pg_current_wal_lsn() - '0/0'").fetchone()[0]  # type: ignore[index]
            conn.execute("INSERT INTO public.docs VALUES (2, repeat('y', 3 * 1024 * 1024))")
            conn.execute("INSERT INTO public.docs VALUES (3, 'after')")
        wait_until(lambda: b"message.max.bytes" in log.read_bytes(), timeout=60, what="the size error")
        expected = 3 if tolerated else 1
        records = read_topic(bootstrap, topic, until=lambda got: expected in ids_in(got))
        if tolerated:
            wait_until(
                lambda: slot_lsns(database, settings["slot.name"])[1] > int(big_lsn),
                timeout=30,
                what="the slot to be confirmed past the skipped row",
            )
        else:
            time.sleep(2)  # time for anything after row 2 to (wrongly) arrive
        records = read_topic(bootstrap, topic, until=lambda got: expected in ids_in(got))
        confirmed = slot_lsns(database, settings["slot.name"])[1]
        verdict = "held" if confirmed <= int(big_lsn) else "advanced"
        alive = process.poll() is None
    finally:
        process.send_signal(signal.SIGTERM)
        code = process.wait(90)
    return OversizedRun(
        log.read_text() + f"\nEXIT {code} ALIVE_AFTER_ERROR {alive}", verdict, records, prefix
    )


@pytest.fixture(scope="module")
def oversized(
    pg_server: PgServer, kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[OversizedRun]:
    """One run with an oversized row under the default errors.tolerance=none."""
    name = create_database(pg_server, "oversized")
    try:
        yield _run_with_oversized_row(pg_server.dsn(name), kafka_bootstrap, tmp_path_factory.mktemp("big"))
    finally:
        drop_database(pg_server.admin_dsn, name)


def test_row_over_the_message_size_limit_stops_without_confirming_or_skipping(
    oversized: OversizedRun,
) -> None:
    log, slot, records = oversized.log, oversized.verdict, oversized.records
    assert re.search(
        r"the record for key \{\"id\":2\} in topic \S+\.public\.docs is \d+ bytes, over the producer.s message.max.bytes",
        log,
    )
    assert "PGCDC_KAFKA_MESSAGE_MAX_BYTES" in log, "the error should say which setting to raise"
    assert slot == "held", "the slot was confirmed past a row that never reached Kafka"
    assert ids_in(records) == {1}, "a row after the oversized one was delivered: it was skipped"


def test_row_over_the_message_size_limit_error_names_the_key(
    oversized: OversizedRun,
) -> None:
    log = oversized.log
    error = next(line for line in log.splitlines() if "message.max.bytes" in line)
    assert '"id":2' in error.replace(" ", "") or "id=2" in error, error


def test_row_over_the_message_size_limit_ends_pgcdc_run(oversized: OversizedRun) -> None:
    log = oversized.log
    assert "ALIVE_AFTER_ERROR False" in log, log[-2000:]


def test_errors_tolerance_all_skips_the_oversized_row_logs_it_and_moves_on(
    database: str, kafka_bootstrap: str, tmp_path: Path
) -> None:
    run = _run_with_oversized_row(database, kafka_bootstrap, tmp_path, **{"errors.tolerance": "all"})
    assert ids_in(run.records) == {1, 3}, "errors.tolerance=all should drop row 2 and deliver the rest"
    assert run.verdict == "advanced"
    assert "ALIVE_AFTER_ERROR True" in run.log
    line = next(line for line in run.log.splitlines() if "skipped the record" in line)
    assert re.search(
        r'skipped the record for key \{"id":2\} in table public\.docs is (\d+) bytes, over the producer.s '
        r"message\.max\.bytes \(1000000\) \(errors\.tolerance=all\)",
        line,
    ), line
    assert "yyyy" not in run.log, "the value must not be logged"


def test_a_dead_letter_topic_gets_the_key_and_an_error_record_that_fits(
    database: str, kafka_bootstrap: str, tmp_path: Path
) -> None:
    dead_letter = f"dlq-{unique_prefix()}"
    run = _run_with_oversized_row(
        database,
        kafka_bootstrap,
        tmp_path,
        **{
            "errors.tolerance": "all",
            "errors.deadletterqueue.topic.name": dead_letter,
            "errors.deadletterqueue.context.headers.enable": "true",
        },
    )
    assert ids_in(run.records) == {1, 3}
    assert run.verdict == "advanced"
    (letter,) = read_topic(kafka_bootstrap, dead_letter, until=lambda got: len(got) >= 1)
    assert letter.key_json["payload"] == {"id": 2}
    error = orjson.loads(letter.value or b"")
    assert error["topic"] == f"{run.prefix}.public.docs"
    assert (error["table"], error["op"], error["limit"]) == (
        "public.docs",
        "c",
        "the producer's message.max.bytes (1000000)",
    )
    assert error["size_bytes"] > 3 * MB and error["lsn"].count("/") == 1
    assert len(letter.value or b"") < 1000
    headers = {name: (value or b"").decode() for name, value in letter.headers}
    assert headers["__connect.errors.topic"] == f"{run.prefix}.public.docs"
    assert headers["__connect.errors.exception.class.name"] == (
        "org.apache.kafka.common.errors.RecordTooLargeException"
    )
    assert headers["__connect.errors.stage"] == "KAFKA_PRODUCE"
    assert f"its key and an error record go to {dead_letter}" in run.log


@pytest.mark.parametrize("tolerance", ["none", "all"])
def test_in_exactly_once_mode_the_producers_refusal_is_skipped_or_stops_the_connector_unconfirmed(
    tolerance: str, database: str, kafka_bootstrap: str, tmp_path: Path
) -> None:
    """The producer refuses the row before it enters the Kafka transaction, which therefore still commits:
    errors.tolerance=all skips it as in at-least-once mode; none stops, the transaction aborted."""
    run = _run_with_oversized_row(
        database,
        kafka_bootstrap,
        tmp_path,
        **{"errors.tolerance": tolerance, "exactly.once.support": "required"},
    )
    topic = f"{run.prefix}.public.docs"
    committed = without_aborted(kafka_bootstrap, topic, run.records)
    if tolerance == "all":
        assert (ids_in(committed), run.verdict) == ({1, 3}, "advanced"), run.log[-3000:]
        assert "ALIVE_AFTER_ERROR True" in run.log
        assert re.search(r'skipped the record for key \{"id":2\} in table public\.docs', run.log)
    else:
        assert (ids_in(committed), run.verdict) == ({1}, "held"), run.log[-3000:]
        assert "ALIVE_AFTER_ERROR False" in run.log
        assert "PGCDC_KAFKA_MESSAGE_MAX_BYTES" in run.log


def _connectors_info(url: str, name: str) -> str:
    return subprocess.run(
        [sys.executable, "-m", "pgcdc.cli", "connectors", "info", name],
        env={**os.environ, "PGCDC_URL": url, "COLUMNS": "400"},
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout


def test_a_paused_connector_reports_its_growing_wal_and_warns_past_the_threshold(
    database: str, kafka_bootstrap: str, tmp_path: Path
) -> None:
    """A paused connector's slot holds the WAL another (uncaptured) table churns: the status, metrics and
    connectors info show it, and past slot.retained.wal.warn.bytes the worker warns once, until it is back."""
    with psycopg.connect(database, autocommit=True) as conn:
        conn.execute("CREATE TABLE public.items (id int PRIMARY KEY, pad text)")
        conn.execute("CREATE TABLE public.churn (id int PRIMARY KEY, pad text)")
    name = unique_prefix()
    threshold = 25 * MB
    settings = connector_settings(
        database,
        name,
        **{"table.include.list": "public.items", "slot.retained.wal.warn.bytes": str(threshold)},
    )
    with worker_group(kafka_bootstrap, tmp_path, count=1) as (worker,), worker.client() as api:
        api.post("/connectors", json={"name": name, "config": settings})
        wait_for_state(api, name, "available")
        assert api.put(f"/connectors/{name}/pause").status_code == 202
        wait_for_state(api, name, "paused")

        def details() -> dict[str, object]:
            return dict(api.get(f"/connectors/{name}/status").json()["pgcdc"])

        def retained() -> int:
            return int(details().get("wal_retained_bytes") or 0)  # type: ignore[call-overload]

        def over_flag() -> float:
            found = re.search(
                rf'pgcdc_connector_wal_retained_over_threshold{{connector="{name}"}} (\S+)',
                api.get("/metrics").text,
            )
            assert found is not None
            return float(found.group(1))

        readings = []
        with psycopg.connect(database, autocommit=True) as conn:

            def churn(step: int) -> None:
                conn.execute(
                    "INSERT INTO public.churn SELECT g, repeat('x', 1000) FROM generate_series(%s::int, %s::int) g",
                    (step * 10_000 + 1, (step + 1) * 10_000),
                )

            churn(0)
            readings.append(wait_until(lambda: (r := retained()) > 10 * MB and r, timeout=30, what="10 MB"))
            below = details()
            assert below["wal_retained_warn_bytes"] == threshold
            assert below.get("wal_retained_warning") is None, below
            assert over_flag() == 0.0
            step = 1
            while (current := retained()) <= threshold:
                churn(step)
                step += 1
            readings.append(current)
            over = wait_until(
                lambda: (d := details()).get("wal_retained_warning") and d, timeout=30, what="warning"
            )
            assert "slot.retained.wal.warn.bytes=25.0 MiB" in str(over["wal_retained_warning"]), over
            assert over_flag() == 1.0
            metrics = api.get("/metrics").text
            info = _connectors_info(worker.url, name)
            # More readings past the threshold must not repeat the log line: churn again and wait for the
            # worker to measure the growth.
            churn(step)
            crossed = retained()
            wait_until(lambda: retained() > crossed + 5 * MB, timeout=30, what="a later reading")
            warned = worker.log().count("slot.retained.wal.warn.bytes=25.0 MiB")

        assert api.put(f"/connectors/{name}/resume").status_code == 202
        wait_for_state(api, name, "available")
        cleared = wait_until(
            lambda: (d := details()).get("wal_retained_warning") is None and d,
            timeout=60,
            what="the warning cleared",
        )
        assert over_flag() == 0.0
        back_under = "back under slot.retained.wal.warn.bytes" in worker.log()
    assert readings[-1] > threshold > readings[0] > 10 * MB, readings
    series = re.search(rf'pgcdc_connector_wal_retained_bytes{{connector="{name}"}} (\S+)', metrics)
    assert series is not None and float(series.group(1)) > threshold, metrics
    warn_series = re.search(rf'pgcdc_connector_wal_retained_warn_bytes{{connector="{name}"}} (\S+)', metrics)
    assert warn_series is not None and float(warn_series.group(1)) == threshold, metrics
    assert re.search(r"Lag\W+\d+ MB", info), info
    assert re.search(r"Warning\W+its replication slot holds [\d.]+ MiB of WAL, over slot.retained", info), (
        info
    )
    assert warned == 1, f"the warning was logged {warned} times"
    assert back_under
    assert int(cleared["wal_retained_bytes"]) < threshold  # type: ignore[call-overload]
