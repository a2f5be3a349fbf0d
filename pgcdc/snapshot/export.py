"""A temporary slot with an exported snapshot, promoted to the connector's slot only once the snapshot is in Kafka.

The snapshot reads the tables as of the slot's consistent point, and the slot streams every change after it:
no gap, no overlap. The slot is created TEMPORARY, so a crash mid-snapshot drops it with the session; the
permanent slot (a copy at the same position) exists only after every snapshot record was acknowledged. So
"the connector's slot exists" means "its snapshot is complete", with no marker kept anywhere else.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import psycopg
import psycopg2
import psycopg2.errors
import psycopg2.extensions
import psycopg2.extras

from pgcdc.errors import SlotInUseError, SourceError, SourceSetupError
from pgcdc.lsn import Lsn, parse_lsn
from pgcdc.replication.session import TEXT_OUTPUT_OPTIONS

log = logging.getLogger(__name__)


def snapshot_slot_name(slot: str) -> str:
    """The temporary slot's name: the connector's slot name with a suffix, within PostgreSQL's 63 characters."""
    return f"{slot[:54]}_snapshot"


@dataclass(frozen=True, slots=True)
class ExportedSnapshot:
    name: str
    """What ``SET TRANSACTION SNAPSHOT`` takes."""
    consistent_lsn: Lsn
    """The slot streams every change that commits after this position."""


class SnapshotSlot:
    """Holds the temporary slot and its exported snapshot for as long as the snapshot runs."""

    def __init__(self, *, conninfo: str, slot: str) -> None:
        self._conninfo = conninfo
        self._slot = slot
        self._temporary = snapshot_slot_name(slot)
        self._conn: psycopg2.extensions.connection | None = None

    def open(self) -> ExportedSnapshot:
        try:
            self._conn = psycopg2.connect(
                self._conninfo,
                connection_factory=psycopg2.extras.LogicalReplicationConnection,
                options=TEXT_OUTPUT_OPTIONS,
            )
            cursor = self._conn.cursor()
            cursor.execute(
                f"CREATE_REPLICATION_SLOT {self._temporary} TEMPORARY LOGICAL pgoutput EXPORT_SNAPSHOT"
            )
            row = cursor.fetchone()
        except psycopg2.errors.DuplicateObject as err:
            self.close()
            raise SlotInUseError(
                f"a snapshot for slot {self._slot!r} is already running in another process (slot "
                f"{self._temporary!r} exists)"
            ) from err
        except psycopg2.Error as err:
            self.close()
            raise SourceError(f"cannot create the snapshot slot {self._temporary!r}: {err}".strip()) from err
        assert row is not None
        log.info("snapshot slot %s consistent at %s, snapshot %s", self._temporary, row[1], row[2])
        return ExportedSnapshot(name=str(row[2]), consistent_lsn=parse_lsn(str(row[1])))

    def promote(self, conn: psycopg.Connection[tuple[object, ...]]) -> None:
        """Make the connector's slot a copy of the temporary one: streaming resumes right after the snapshot."""
        try:
            with conn.transaction():
                conn.execute(
                    "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots"
                    " WHERE slot_name = %s AND active_pid IS NULL",
                    (self._slot,),
                )
                conn.execute(
                    "SELECT pg_copy_logical_replication_slot(%s, %s, false)", (self._temporary, self._slot)
                )
        except psycopg.errors.DuplicateObject as err:
            raise SlotInUseError(
                f"slot {self._slot!r} was created by another process during the snapshot"
            ) from err
        except psycopg.errors.UndefinedFunction as err:
            raise SourceSetupError(
                "snapshots need pg_copy_logical_replication_slot (PostgreSQL 12+): set snapshot.mode=no_data"
            ) from err
        log.info("slot %s created at the snapshot's consistent point", self._slot)

    def close(self) -> None:
        """End the session: the temporary slot goes with it."""
        if self._conn is not None:
            try:
                self._conn.close()
            except psycopg2.Error:
                log.debug("closing the snapshot slot's connection failed", exc_info=True)
        self._conn = None
