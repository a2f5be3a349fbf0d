"""The connector's logical replication slot: created once, read by one connector at a time, dropped on destroy."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import psycopg

from pgcdc.errors import SlotInUseError, SourceSetupError
from pgcdc.lsn import Lsn, parse_lsn

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class SlotState:
    confirmed_flush_lsn: Lsn | None
    restart_lsn: Lsn | None
    active_pid: int | None


def slot_state(conn: psycopg.Connection[tuple[object, ...]], slot: str, dbname: str) -> SlotState | None:
    """The slot as the server sees it; None when it does not exist. Refuses a slot of another kind or database."""
    row = conn.execute(
        "SELECT plugin, slot_type, database, active_pid, confirmed_flush_lsn::text, restart_lsn::text"
        " FROM pg_replication_slots WHERE slot_name = %s",
        (slot,),
    ).fetchone()
    if row is None:
        return None
    plugin, kind, database, pid, confirmed, restart = row
    if kind != "logical" or plugin != "pgoutput" or database != dbname:
        raise SourceSetupError(
            f"replication slot {slot!r} exists but is a {kind} slot for plugin {plugin} in database {database}: "
            "give this connector its own slot.name"
        )
    return SlotState(
        confirmed_flush_lsn=parse_lsn(str(confirmed)) if confirmed else None,
        restart_lsn=parse_lsn(str(restart)) if restart else None,
        active_pid=int(pid) if pid is not None else None,  # type: ignore[call-overload]
    )


def refuse_if_active(state: SlotState | None, slot: str) -> None:
    if state is not None and state.active_pid is not None:
        raise SlotInUseError(
            f"replication slot {slot!r} is being read by another process (PostgreSQL pid {state.active_pid}): "
            "two connectors cannot share a slot; stop the other one or give this connector its own slot.name"
        )


def create_slot(conn: psycopg.Connection[tuple[object, ...]], slot: str) -> Lsn:
    """Create the slot; its position is where streaming starts (nothing before it is captured)."""
    try:
        row = conn.execute(
            "SELECT lsn::text FROM pg_create_logical_replication_slot(%s, 'pgoutput')", (slot,)
        ).fetchone()
    except psycopg.errors.InsufficientPrivilege as err:
        raise SourceSetupError(
            f"cannot create replication slot {slot!r}: {err.diag.message_primary}; the role needs REPLICATION"
        ) from err
    except psycopg.errors.ConfigurationLimitExceeded as err:
        raise SourceSetupError(
            f"cannot create replication slot {slot!r}: {err.diag.message_primary}; raise max_replication_slots "
            "or drop an unused slot (SELECT slot_name, active FROM pg_replication_slots)"
        ) from err
    assert row is not None
    log.info("created replication slot %s at %s", slot, row[0])
    return parse_lsn(str(row[0]))


def drop_slot(conn: psycopg.Connection[tuple[object, ...]], slot: str) -> bool:
    """Drop the slot if it exists and nobody reads it; True when it was dropped."""
    row = conn.execute(
        "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = %s", (slot,)
    ).fetchone()
    return row is not None
