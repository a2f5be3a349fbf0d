"""A worker's own look at a connector's slot: is another process reading it, how much WAL it holds."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

import psycopg

from pgcdc.errors import SourceError

log = logging.getLogger(__name__)

# Seconds to wait for PostgreSQL when connecting: a dead server must not hold the worker's ticker for long.
CONNECT_TIMEOUT_S = 5

# The holder's application and address come from pg_stat_activity; a role without pg_read_all_stats may see
# NULL there for other roles' sessions, and then the pid alone names the holder.
_SLOT_SQL = (
    "SELECT s.active_pid, (pg_current_wal_lsn() - s.confirmed_flush_lsn)::bigint,"
    " a.application_name, host(a.client_addr)"
    " FROM pg_replication_slots s LEFT JOIN pg_stat_activity a ON a.pid = s.active_pid"
    " WHERE s.slot_name = %s"
)


@dataclass(frozen=True, slots=True)
class SlotReading:
    """The slot as PostgreSQL saw it at ``measured_at`` (time.monotonic())."""

    exists: bool
    active_pid: int | None
    """The walsender reading the slot; None when nobody does."""
    retained_bytes: int | None
    """WAL the slot keeps on the server: pg_current_wal_lsn() - confirmed_flush_lsn."""
    measured_at: float
    holder: str | None = None
    """Who reads the slot, for people: ``pid 123 (application 'pg_recvlogical', from 10.0.0.5)``."""


class SlotWatch:
    """One connection of its own, opened on first use and again after any failure; safe across threads."""

    def __init__(self, *, conninfo: str, slot: str, application_name: str = "pgcdc-worker") -> None:
        self._conninfo = conninfo
        self._slot = slot
        self._application_name = application_name
        self._conn: psycopg.Connection[tuple[object, ...]] | None = None
        self._lock = threading.Lock()

    def _connection(self) -> psycopg.Connection[tuple[object, ...]]:
        if self._conn is None or self._conn.closed:
            self._conn = psycopg.connect(
                self._conninfo,
                autocommit=True,
                connect_timeout=CONNECT_TIMEOUT_S,
                application_name=self._application_name,
            )
        return self._conn

    def read(self) -> SlotReading:
        """Raises a retriable SourceError when PostgreSQL cannot be asked."""
        with self._lock:
            try:
                row = self._connection().execute(_SLOT_SQL, (self._slot,)).fetchone()
            except psycopg.Error as err:
                self._close()
                raise SourceError(f"cannot read replication slot {self._slot!r}: {_first_line(err)}") from err
        now = time.monotonic()
        if row is None:
            log.debug("replication slot %s: missing", self._slot)
            return SlotReading(exists=False, active_pid=None, retained_bytes=None, measured_at=now)
        pid, retained, application, address = row
        log.debug("replication slot %s: holds %s bytes of WAL, read by pid %s", self._slot, retained, pid)
        active_pid = pid if isinstance(pid, int) else None
        return SlotReading(
            exists=True,
            active_pid=active_pid,
            retained_bytes=retained if isinstance(retained, int) else None,
            measured_at=now,
            holder=_describe_holder(active_pid, application, address),
        )

    def _close(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            except psycopg.Error:
                log.debug("closing the slot watch connection failed", exc_info=True)
            self._conn = None

    def close(self) -> None:
        with self._lock:
            self._close()


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__


def _describe_holder(pid: int | None, application: object, address: object) -> str | None:
    if pid is None:
        return None
    details = []
    if isinstance(application, str) and application:
        details.append(f"application {application!r}")
    if isinstance(address, str) and address:
        details.append(f"from {address}")
    return f"pid {pid}" + (f" ({', '.join(details)})" if details else "")
