"""The copies a connector takes at start, before it streams: every table (the slot is then created at the copy's
position), or the tables added since it last ran (then moved into the main publication)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

import psycopg

from pgcdc.ack.guarantee import DeliveryGuarantee
from pgcdc.ack.tracker import AckTracker
from pgcdc.config import ConnectorConfig
from pgcdc.errors import ProducerFencedError, SinkError
from pgcdc.events.builder import EventBuilder
from pgcdc.produce.client import KafkaSettings
from pgcdc.produce.producer import KafkaSink
from pgcdc.replication.catalog import TableInfo
from pgcdc.replication.publication import promote_tables
from pgcdc.replication.source import SourcePlan, refuse_if_snapshotted_meanwhile
from pgcdc.snapshot.export import ExportedSnapshot, SnapshotSlot
from pgcdc.snapshot.initial import SnapshotReader

log = logging.getLogger(__name__)


class StartupSnapshots:
    """Copies through the connector's own sink, tracker and delivery guarantee, until Kafka holds every row."""

    def __init__(
        self,
        *,
        config: ConnectorConfig,
        kafka: KafkaSettings,
        sink: KafkaSink,
        tracker: AckTracker,
        guarantee: DeliveryGuarantee,
        progress: dict[str, Any],
        stop: threading.Event,
        warn: Callable[[str], None],
        run_id: str | None,
    ) -> None:
        """``progress`` is the connector status's snapshot dictionary; ``run_id`` the run's context-header id."""
        self._config = config
        self._kafka = kafka
        self._sink = sink
        self._tracker = tracker
        self._guarantee = guarantee
        self._progress = progress
        self._stop = stop
        self._warn = warn
        self._run_id = run_id

    def take(
        self, conn: psycopg.Connection[tuple[object, ...]], plan: SourcePlan, builder: EventBuilder
    ) -> bool:
        """The copies ``plan`` asks for; False when stopped first, or when no streaming is to follow."""
        try:
            if plan.full_snapshot or plan.added_tables:
                # A copy is written before the slot is held: exactly-once needs its transactions first.
                self._guarantee.start()
            if plan.full_snapshot and not self._copy_all(conn, plan):
                return False
            return not plan.added_tables or self._copy_added(conn, plan, builder)
        except ProducerFencedError as err:
            # Not a zombie: this instance never held the slot. Another one started at the same moment (two
            # workers racing for a new connector); the retry finds the slot taken and stands by.
            raise SinkError(
                "another instance of this connector started at the same moment and fenced this one's Kafka "
                "transactions before it held the slot; retrying"
            ) from err

    def _copy_all(self, conn: psycopg.Connection[tuple[object, ...]], plan: SourcePlan) -> bool:
        """Copy every table, then create the slot at the copy's position; False if stopped first."""

        def promote(slot: SnapshotSlot, exported: ExportedSnapshot) -> bool:
            if self._config.snapshot_mode == "initial_only":
                log.info("snapshot complete; snapshot.mode=initial_only, so no streaming")
                return False
            slot.promote(conn)
            return True

        return self._copy(
            plan.tables,
            promote,
            moves_offset=True,
            opened=lambda: refuse_if_snapshotted_meanwhile(conn, self._config),
        )

    def _copy_added(
        self, conn: psycopg.Connection[tuple[object, ...]], plan: SourcePlan, builder: EventBuilder
    ) -> bool:
        """Snapshot tables added to a streaming connector, then move them to the main publication.

        They are already published (by the snapshot publication), so no change is missed; the stream's events
        of theirs that committed before the snapshot are dropped, so none is written twice."""

        def move(slot: SnapshotSlot, exported: ExportedSnapshot) -> bool:
            builder.snapshotted({t.oid: exported.consistent_lsn for t in plan.added_tables})
            promote_tables(conn, self._config, plan.added_tables, server_version=plan.server_version)
            return True

        # The stream has not read up to the copy's position for the other tables: the offset stays.
        return self._copy(plan.added_tables, move, moves_offset=False)

    def _copy(
        self,
        tables: list[TableInfo],
        then: Callable[[SnapshotSlot, ExportedSnapshot], bool],
        *,
        moves_offset: bool,
        opened: Callable[[], None] | None = None,
    ) -> bool:
        """Copy ``tables`` from a temporary slot's exported snapshot until Kafka holds every row, then call
        ``then`` while that slot still exists; False when stopped first (the temporary slot goes either way).
        ``opened`` runs once the temporary slot is held, before anything is copied.

        In exactly-once mode the whole copy is one Kafka transaction, committed before ``then`` (with the
        snapshot's position as the offset when ``moves_offset``): a copy cut short is aborted, never half
        written, and a committed copy is promoted right after."""
        config = self._config
        slot = SnapshotSlot(conninfo=config.database.conninfo(), slot=config.slot_name)
        exported = slot.open()
        try:
            if opened is not None:
                opened()
            reader = SnapshotReader(
                config=config,
                kafka=self._kafka,
                sink=self._sink,
                tracker=self._tracker,
                progress=self._progress,
                stop=self._stop,
                warn=self._warn,
                run_id=self._run_id,
            )
            self._guarantee.begin_copy()
            if not reader.run(exported, tables) or not self._flush():
                self._guarantee.abort()
                return False
            self._guarantee.commit_copy(exported.consistent_lsn if moves_offset else None)
            return then(slot, exported)
        finally:
            slot.close()

    def _flush(self) -> bool:
        """Wait until Kafka acknowledged everything produced; False if stopped first."""
        while self._sink.flush(1.0):
            if self._stop.is_set():
                return False
        self._tracker.safe_lsn()  # raises if a delivery failed
        if not self._tracker.idle:
            raise SinkError("the snapshot's records were not all acknowledged by Kafka; it will run again")
        return True
