"""The replication connection: pgoutput frames in, confirmed positions out (psycopg2's replication protocol)."""

from __future__ import annotations

import logging
import select
import time
from collections.abc import Callable, Sequence

import psycopg2
import psycopg2.errors
import psycopg2.extensions
import psycopg2.extras

from pgcdc.decode.messages import Message
from pgcdc.decode.pgoutput import handle_frames
from pgcdc.errors import SlotInUseError, SourceError
from pgcdc.lsn import Lsn
from pgcdc.replication.session import TEXT_OUTPUT_OPTIONS

log = logging.getLogger(__name__)

# The shortest time between two returns of ``wait``. At a steady few thousand transactions a second the server
# sends each one as its commit is flushed, so without it the loop ran dry 0.7 times per transaction on workload
# (b) and paid each time a select, a recv that finds nothing and its idle bookkeeping (several µs); after the
# gap one wake-up takes everything that arrived meanwhile. 1 ms is small beside the producer's linger.ms, and a
# quiet stream is not delayed: its next frame ends a wait at once.
MIN_WAKE_GAP_S = 0.001


class ReplicationStream:
    """Reads one slot with pgoutput; the caller confirms positions with ``confirm`` once they are safe."""

    def __init__(
        self, *, conninfo: str, slot: str, publications: Sequence[str], status_interval_s: float
    ) -> None:
        self._conninfo = conninfo
        self._slot = slot
        self._publications = tuple(publications)
        self._status_interval_s = status_interval_s
        self._conn: psycopg2.extensions.connection | None = None
        self._cursor: psycopg2.extras.ReplicationCursor | None = None
        self._confirmed: Lsn = Lsn(0)
        self._last_feedback = 0.0
        self._woke_at = 0.0

    def open(self, start_lsn: int = 0) -> None:
        """Start streaming; 0 resumes from the slot's confirmed position."""
        try:
            self._conn = psycopg2.connect(
                self._conninfo,
                connection_factory=psycopg2.extras.LogicalReplicationConnection,
                options=TEXT_OUTPUT_OPTIONS,
            )
            self._cursor = self._conn.cursor()
            # Quoted so that a publication name with capitals or commas is taken as one identifier.
            quoted = ",".join('"' + name.replace('"', '""') + '"' for name in self._publications)
            self._cursor.start_replication(
                slot_name=self._slot,
                decode=False,
                start_lsn=start_lsn,
                # psycopg2's own keepalive replies; pgcdc confirms positions itself, as often as configured.
                status_interval=max(1, round(self._status_interval_s)),
                options={"proto_version": "1", "publication_names": quoted, "messages": "true"},
            )
        except psycopg2.errors.ObjectInUse as err:
            self.close()
            raise SlotInUseError(
                f"replication slot {self._slot!r} is being read by another process: {err.pgerror or err}".strip()
                + "; two connectors cannot share a slot"
            ) from err
        except psycopg2.Error as err:
            self.close()
            raise SourceError(
                f"cannot start replication from slot {self._slot!r}: {_first_line(err)}"
            ) from err

    def handle_waiting(self, handle: Callable[[Message, Lsn], None], limit: int) -> int:
        """Decode the frames already received, up to ``limit``, and pass each to ``handle`` with its position;
        returns how many were handled (fewer than ``limit``: none is waiting now, call ``wait``)."""
        assert self._cursor is not None
        try:
            return handle_frames(self._cursor.read_message, handle, limit)
        except psycopg2.Error as err:
            raise SourceError(f"replication connection failed: {_first_line(err)}") from err

    def wait(self, timeout_s: float) -> None:
        """Block until the server sends something or the timeout passes, but return no sooner than
        ``MIN_WAKE_GAP_S`` after the previous return."""
        assert self._conn is not None
        gap = self._woke_at + MIN_WAKE_GAP_S - time.monotonic()
        if gap > 0:
            time.sleep(gap)
            timeout_s = max(timeout_s - gap, 0.0)
        select.select([self._conn], [], [], timeout_s)
        self._woke_at = time.monotonic()

    @property
    def server_wal_end(self) -> Lsn:
        """The latest WAL position the server reported (keepalives included)."""
        assert self._cursor is not None
        return Lsn(self._cursor.wal_end)

    @property
    def is_open(self) -> bool:
        return self._cursor is not None

    @property
    def confirmed(self) -> Lsn:
        return self._confirmed

    def confirm(self, lsn: Lsn, *, force: bool = False) -> None:
        """Tell PostgreSQL everything up to ``lsn`` is durable in Kafka, so it may recycle that WAL."""
        assert self._cursor is not None
        if lsn > self._confirmed:
            self._confirmed = lsn
        now = time.monotonic()
        if force or now - self._last_feedback >= self._status_interval_s:
            try:
                self._cursor.send_feedback(  # type: ignore[no-untyped-call]
                    write_lsn=self._confirmed,
                    flush_lsn=self._confirmed,
                    apply_lsn=self._confirmed,
                    force=True,
                )
            except psycopg2.Error as err:
                raise SourceError(f"cannot report position to PostgreSQL: {_first_line(err)}") from err
            self._last_feedback = now

    def close(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            except psycopg2.Error:
                log.debug("closing the replication connection failed", exc_info=True)
        self._conn = None
        self._cursor = None


def _first_line(err: BaseException) -> str:
    return (str(err).strip().splitlines() or ["unknown error"])[0]
