"""Scale: a 1,000,000-row transaction streams in bounded memory (slow; outside the quick suite)."""

from __future__ import annotations

import signal
import threading
from pathlib import Path

import psycopg
import pytest

from tests.connector_run import connector_settings, pgcdc_process, unique_prefix, wait_until

ROWS = 1_000_000
RSS_LIMIT_MB = 150


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


@pytest.mark.slow
def test_one_million_row_transaction_streams_in_bounded_memory(
    database: str, kafka_bootstrap: str, tmp_path: Path
) -> None:
    with psycopg.connect(database, autocommit=True) as conn:
        conn.execute("CREATE TABLE public.bench (id bigserial PRIMARY KEY, a int, b text, c timestamptz)")
    prefix = unique_prefix()
    settings = connector_settings(database, prefix, **{"table.include.list": "public.bench"})
    process = pgcdc_process(settings, kafka_bootstrap, tmp_path)
    peak = [0.0]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.2):
            peak[0] = max(peak[0], rss_mb(process.pid))

    sampler = threading.Thread(target=sample)
    try:
        wait_until(lambda: b"streaming" in (tmp_path / "c.log").read_bytes(), timeout=60, what="streaming")
        sampler.start()
        with psycopg.connect(database, autocommit=True) as conn:
            conn.execute(
                "INSERT INTO public.bench (a, b, c) SELECT g, repeat('x', 50), now() FROM generate_series(1, %s) g",
                (ROWS,),
            )
            end = conn.execute("SELECT pg_current_wal_lsn()").fetchone()[0]  # type: ignore[index]

            def confirmed() -> bool:
                row = conn.execute(
                    "SELECT confirmed_flush_lsn >= %s::pg_lsn FROM pg_replication_slots WHERE slot_name = %s",
                    (end, settings["slot.name"]),
                ).fetchone()
                return row == (True,)

            # Confirmed past the commit means Kafka acknowledged every one of the million events.
            wait_until(confirmed, timeout=600, what="the million events to be acknowledged", interval=0.5)
    finally:
        done.set()
        if sampler.is_alive():
            sampler.join()
        process.send_signal(signal.SIGTERM)
        process.wait(60)
    assert 0 < peak[0] < RSS_LIMIT_MB, f"peak RSS {peak[0]:.0f} MB"
