"""What the benchmark learns from the server's replication slots: capture started, events confirmed or sent."""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import suppress

import psycopg

Alive = Callable[[], str | None]
"""Returns None while the engine runs, else why it stopped (for the error message)."""

POLL_S = 0.01


class EngineFailed(RuntimeError):
    """An engine stopped or stalled before it delivered every event; the message carries its log tail."""


def wait_for(
    dsn: str, sql: str, params: tuple[object, ...], *, what: str, alive: Alive, timeout: float
) -> float:
    """Poll ``sql`` until it returns true; returns the monotonic time it first did."""
    deadline = time.monotonic() + timeout
    with psycopg.connect(dsn, autocommit=True) as conn:
        while True:
            row = conn.execute(sql, params).fetchone()
            if row is not None and row[0] is True:
                return time.monotonic()
            stopped = alive()
            if stopped is not None:
                raise EngineFailed(f"{what}: the engine stopped first\n{stopped}")
            if time.monotonic() > deadline:
                raise EngineFailed(f"{what}: not within {timeout:.0f} s")
            time.sleep(POLL_S)


def wait_active(dsn: str, slot: str, *, alive: Alive, timeout: float) -> None:
    """Until a walsender streams from ``slot``."""
    sql = "SELECT active FROM pg_replication_slots WHERE slot_name = %s"
    wait_for(dsn, sql, (slot,), what=f"slot {slot} streaming", alive=alive, timeout=timeout)


def wait_exists(dsn: str, slot: str, *, alive: Alive, timeout: float) -> float:
    sql = "SELECT count(*) = 1 FROM pg_replication_slots WHERE slot_name = %s"
    return wait_for(dsn, sql, (slot,), what=f"slot {slot} created", alive=alive, timeout=timeout)


def wait_confirmed(dsn: str, slot: str, end_lsn: str, *, alive: Alive, timeout: float) -> float:
    """Until the slot's client confirmed ``end_lsn``: for pgcdc, Kafka acknowledged every event before it."""
    sql = "SELECT confirmed_flush_lsn >= %s::pg_lsn FROM pg_replication_slots WHERE slot_name = %s"
    return wait_for(dsn, sql, (end_lsn, slot), what=f"slot {slot} confirmed", alive=alive, timeout=timeout)


def wait_sent(dsn: str, slot: str, end_lsn: str, *, alive: Alive, timeout: float) -> float:
    """Until the slot's walsender decoded ``end_lsn`` and handed everything before it to the socket."""
    sql = (
        "SELECT r.sent_lsn >= %s::pg_lsn FROM pg_stat_replication r"
        " JOIN pg_replication_slots s ON s.active_pid = r.pid WHERE s.slot_name = %s"
    )
    return wait_for(dsn, sql, (end_lsn, slot), what=f"slot {slot} sent", alive=alive, timeout=timeout)


def create_slot(dsn: str, slot: str, publication: str, tables: list[str]) -> None:
    """A pgoutput slot and a publication of ``tables``, for the ceilings, which do not make their own."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        listed = ", ".join(f"public.{t}" for t in tables)
        conn.execute(f'CREATE PUBLICATION "{publication}" FOR TABLE {listed}')
        conn.execute("SELECT pg_create_logical_replication_slot(%s, 'pgoutput')", (slot,))


def drop(dsn: str, *, slot_prefix: str, publication: str, timeout: float = 30) -> None:
    """End the walsenders of every slot named ``slot_prefix*``, drop those slots and the publication."""
    deadline = time.monotonic() + timeout
    with psycopg.connect(dsn, autocommit=True) as conn:
        while True:
            rows = conn.execute(
                "SELECT slot_name, active_pid FROM pg_replication_slots WHERE slot_name LIKE %s",
                (slot_prefix.replace("_", r"\_") + "%",),
            ).fetchall()
            if not rows or time.monotonic() > deadline:
                break
            for name, pid in rows:
                if pid is not None:
                    conn.execute("SELECT pg_terminate_backend(%s, 5000)", (pid,))
                with suppress(psycopg.errors.ObjectInUse, psycopg.errors.UndefinedObject):
                    conn.execute("SELECT pg_drop_replication_slot(%s)", (name,))
            time.sleep(0.05)
        conn.execute(f'DROP PUBLICATION IF EXISTS "{publication}"')


def current_lsn(dsn: str) -> str:
    with psycopg.connect(dsn, autocommit=True) as conn:
        row = conn.execute("SELECT pg_current_wal_lsn()::text").fetchone()
    assert row is not None
    return str(row[0])
