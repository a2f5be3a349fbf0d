"""Churning WAL that a connector does not capture (another table, another database), and measuring what its
slot retains meanwhile."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass

import psycopg

from tests.connector_run import wait_until

MB = 1024 * 1024
# What an idle connector's slot may retain while others churn (the requirement).
WAL_LIMIT = 64 * MB
# A pause between churn steps lets the walsender decode what was written (the churn still writes about 35 MB of
# WAL per second on a 2-core machine): flat out, writer and walsender share the cores and the retained WAL
# measures CPU contention more than the slot.
CHURN_PAUSE_S = 0.1
STEPS = 32


@dataclass(frozen=True)
class Churn:
    written: int
    """Bytes of WAL written while churning."""
    end: int
    """The WAL's end (a byte position) once the churn was written."""
    seconds: float
    worst_retained: int
    """The most WAL the slot held back (current position minus its restart_lsn), sampled every 0.2 s."""

    def __str__(self) -> str:
        return (
            f"churn wrote {self.written / MB:.0f} MB of WAL in {self.seconds:.1f} s; "
            f"the idle slot retained at most {self.worst_retained / MB:.1f} MB"
        )


def slot_lsns(dsn: str, slot: str) -> tuple[int, int, int]:
    """(current WAL position, slot's confirmed_flush_lsn, slot's restart_lsn) as byte positions."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        row = conn.execute(
            "SELECT pg_current_wal_lsn() - '0/0', confirmed_flush_lsn - '0/0', restart_lsn - '0/0'"
            " FROM pg_replication_slots WHERE slot_name = %s",
            (slot,),
        ).fetchone()
    assert row is not None, f"slot {slot} is missing"
    return int(row[0]), int(row[1]), int(row[2])


def wait_confirmed_past_churn(dsn: str, slot: str, churn: Churn, *, lag: int) -> None:
    """Wait until ``slot`` is confirmed within ``lag`` bytes of the churn's end and keeps under WAL_LIMIT of WAL
    before it. Measured from the churn's end, not from the WAL's moving end: what the server writes afterwards
    (autovacuum of the churned tables, say) is not the churn's."""
    seen: list[tuple[int, int]] = []  # the last (confirmed, restart), for the failure's message

    def caught_up() -> bool:
        seen[:] = [slot_lsns(dsn, slot)[1:]]
        confirmed, restart = seen[0]
        return churn.end - restart < WAL_LIMIT and churn.end - confirmed < lag

    try:
        wait_until(caught_up, timeout=60, what="the idle slot to confirm past the churn")
    except AssertionError as err:
        confirmed, restart = seen[0]
        current = slot_lsns(dsn, slot)[0]
        raise AssertionError(
            f"{err}: at the end it was confirmed {(churn.end - confirmed) / MB:.1f} MB before the churn's end "
            f"(at most {lag / MB:.1f} asked) and kept {(churn.end - restart) / MB:.1f} MB before it (at most "
            f"{WAL_LIMIT / MB:.0f}); the WAL had moved {(current - churn.end) / MB:.1f} MB past the churn"
        ) from None


def churn_wal(dsns: Sequence[str], *, slot_dsn: str, slot: str) -> Churn:
    """Insert about 2.5 MB at a time into ``public.busy`` (created if missing) of each database in ``dsns``,
    STEPS times, while sampling what ``slot`` (in the database of ``slot_dsn``) retains."""
    for dsn in dsns:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("CREATE TABLE IF NOT EXISTS public.busy (id int, pad text)")
    start = slot_lsns(slot_dsn, slot)[0]
    stop = threading.Event()
    worst = 0

    def sample() -> None:
        nonlocal worst
        while not stop.is_set():
            current, _, restart = slot_lsns(slot_dsn, slot)
            worst = max(worst, current - restart)
            time.sleep(0.2)

    sampler = threading.Thread(target=sample)
    sampler.start()
    started = time.monotonic()
    connections = [psycopg.connect(dsn, autocommit=True) for dsn in dsns]
    try:
        # Small steps with a checkpoint after each, so restart_lsn can follow closely.
        for _ in range(STEPS):
            for conn in connections:
                conn.execute(
                    "INSERT INTO public.busy SELECT g, repeat('x', 500) FROM generate_series(1, 5000) g"
                )
                conn.execute("CHECKPOINT")
            time.sleep(CHURN_PAUSE_S)
    finally:
        for conn in connections:
            conn.close()
        stop.set()
        sampler.join(10)
    end = slot_lsns(slot_dsn, slot)[0]
    return Churn(written=end - start, end=end, seconds=time.monotonic() - started, worst_retained=worst)
