"""The coordinator of one connector: check, set up, stream, confirm what Kafka holds, drain on stop."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import psycopg

from pgcdc.ack.committer import OffsetCommitter
from pgcdc.ack.offsets import SourceOffset, offset_key, read_committed_offset
from pgcdc.ack.tracker import AckTracker
from pgcdc.config import ConnectorConfig
from pgcdc.decode.messages import RelationMessage
from pgcdc.decode.pgoutput import decode
from pgcdc.decode.relation import TableId
from pgcdc.errors import (
    PgcdcError,
    ProducerFencedError,
    SinkError,
    SourceError,
    SourceSetupError,
)
from pgcdc.events.builder import EventBuilder
from pgcdc.events.table import CapturedTable, build_table
from pgcdc.lsn import Lsn, format_lsn
from pgcdc.produce.client import KafkaSettings
from pgcdc.produce.producer import KafkaSink
from pgcdc.produce.topics import TopicAdmin
from pgcdc.replication import catalog
from pgcdc.replication.catalog import TableInfo
from pgcdc.replication.publication import ensure_publication, promote_tables, publication_names
from pgcdc.replication.slot import create_slot, refuse_if_active, slot_state
from pgcdc.replication.stream import ReplicationStream
from pgcdc.serialize.headers import new_run_id
from pgcdc.serialize.records import RecordSerializer
from pgcdc.snapshot.export import ExportedSnapshot, SnapshotSlot
from pgcdc.snapshot.incremental import IncrementalSnapshot
from pgcdc.snapshot.initial import SnapshotReader

log = logging.getLogger(__name__)

# How often the loop wakes when the server sends nothing, to serve delivery reports, confirm and beat.
IDLE_WAKE_S = 0.05
# Confirm after this many frames even while busy, so a long burst still releases WAL as Kafka acknowledges.
CONFIRM_EVERY_FRAMES = 2048
# The worker group a lone `pgcdc run` counts as in exactly-once mode: it names the offsets topic
# (connect-offsets-pgcdc-run) and starts the transactional id (pgcdc-run-<name>-0).
RUN_GROUP = "pgcdc-run"
# Seconds a stop waits for the PostgreSQL transaction being read to end, so its Kafka transaction can commit.
STOP_AT_BOUNDARY_S = 10.0


@dataclass(frozen=True, slots=True)
class SourcePlan:
    """What start-up found: the captured tables and which of them to snapshot before streaming."""

    tables: list[TableInfo]
    full_snapshot: bool
    """Copy every table, then create the slot at the copy's position."""
    added_tables: list[TableInfo]
    """Tables added to a connector that already streams: copied while the slot keeps its position."""
    server_version: int


@dataclass(slots=True)
class ConnectorStatus:
    """What the connector is doing, for logs, the CLI and the API."""

    state: str = "creating"
    streams_started: int = 0
    """Times this connector reached streaming: a failure after one starts its retries from the first delay."""
    tables: list[str] = field(default_factory=list)
    events_by_op: dict[str, int] = field(default_factory=dict)
    """Records written per op (c, u, d, t, m; ``tombstone`` for tombstones) since start."""
    last_event_commit_ms: int | None = None
    """Commit time of the newest event written: how far behind the source this connector is."""
    snapshot: dict[str, Any] = field(default_factory=dict)
    """Progress of the running (or last) snapshot: tables_total, tables_remaining, rows_expected (the planner's
    estimate until a table is read, then its count), rows_scanned, rows_per_second; an initial snapshot adds
    threads (worker processes) and per table in ``tables``: rows_expected, rows_scanned, done. Empty when none
    ran. An incremental snapshot adds kind="incremental", state (running, completed, stopped), table (the one
    being read), chunks and signal (the signal's id)."""
    records_skipped: int = 0
    """Records Kafka refused as too large that errors.tolerance=all let pass (Kafka Connect's
    total-records-skipped); dead-lettered ones included."""
    records_dead_lettered: int = 0
    """Of those, the ones written to errors.deadletterqueue.topic.name."""
    confirmed_lsn: str | None = None
    error: str | None = None


class Connector:
    """Runs one connector in the calling thread until ``stop()``; raises PgcdcError when it cannot go on."""

    def __init__(self, *, config: ConnectorConfig, kafka: KafkaSettings, group: str = RUN_GROUP) -> None:
        """``group`` is the worker group hosting the connector; exactly-once mode names its offsets topic and
        transactional id after it, as Kafka Connect does."""
        self._config = config
        self._kafka = kafka
        self._group = group
        self._committer: OffsetCommitter | None = None
        self._stop = threading.Event()
        self.status = ConnectorStatus()
        self._warned: set[str] = set()
        self._run_id: str | None = None
        """The context headers' run id of the current run (extended.headers.enabled), for snapshot workers too."""

    def stop(self) -> None:
        self._stop.set()

    @property
    def exactly_once(self) -> bool:
        return self._config.exactly_once

    @property
    def offsets_topic(self) -> str:
        return f"{self._kafka.topic_prefix}connect-offsets-{self._group}"

    @property
    def transactional_id(self) -> str:
        """Kafka Connect's per-task id, ``<group>-<connector>-<task>``: one producer per connector at a time."""
        return f"{self._kafka.topic_prefix}{self._group}-{self._config.name}-0"

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def _warn_once(self, text: str) -> None:
        if text not in self._warned:
            self._warned.add(text)
            log.warning("%s", text)

    def _wait_for_kafka(self, topics: TopicAdmin) -> None:
        """Retry with backoff until a broker answers; a down broker at start is a wait, not a failure."""
        delay = 1.0
        while True:
            try:
                topics.check_reachable(timeout_s=5)
                return
            except SinkError as err:
                log.warning("%s at %s; retrying in %.0f s", err, self._kafka.describe(), delay)
                if self._stop.wait(delay):
                    raise
                delay = min(delay * 2, 30.0)

    def _prepare_source(self, conn: psycopg.Connection[tuple[object, ...]]) -> SourcePlan:
        """Check the server, tables and columns; align the publications; make sure the slot is free."""
        config = self._config
        version = catalog.check_server(conn, user=config.database.user)
        found = catalog.find_captured_tables(conn, config)
        tables = [catalog.describe_table(conn, oid, table, identity) for oid, table, identity in found]
        for info in tables:
            catalog.check_table(info, config)
        catalog.check_column_patterns(config, tables)
        signal = self._signal_table(conn)
        state = slot_state(conn, config.slot_name, config.database.dbname)
        refuse_if_active(state, config.slot_name)
        self.status.tables = [str(t.table) for t in tables]
        mode = config.snapshot_mode
        full = mode == "always" or (mode in ("initial", "initial_only", "when_needed") and state is None)
        # The publications exist before any slot: pgoutput looks them up as of each change's position.
        added = ensure_publication(
            conn,
            config,
            tables,
            server_version=version,
            slot_exists=state is not None and not full,
            signal=signal,
        )
        if state is None and not full:
            create_slot(conn, config.slot_name)
        if mode == "no_data":
            # Tables added later are streamed from now on, without their existing rows, as asked.
            promote_tables(conn, config, added, server_version=version)
            added = []
        return SourcePlan(tables=tables, full_snapshot=full, added_tables=added, server_version=version)

    def _signal_table(self, conn: psycopg.Connection[tuple[object, ...]]) -> TableInfo | None:
        """The signal table, which must exist before the connector starts so that no signal is missed."""
        if self._config.signal_table is None:
            return None
        schema, name = self._config.signal_table
        found = [row for row in catalog.find_tables(conn) if row[1] == TableId(schema, name)]
        if not found:
            raise SourceSetupError(
                f"signal.data.collection names {schema}.{name}, which does not exist: create it (CREATE TABLE "
                f"{catalog.quote_ident(schema)}.{catalog.quote_ident(name)} (id varchar(42) PRIMARY KEY, "
                "type varchar(32) NOT NULL, data varchar(2048))) or remove the setting"
            )
        oid, table, identity = found[0]
        info = catalog.describe_table(conn, oid, table, identity)
        catalog.check_table(info, self._config)
        return info

    def _copy(
        self,
        tables: list[TableInfo],
        sink: KafkaSink,
        tracker: AckTracker,
        then: Callable[[SnapshotSlot, ExportedSnapshot], bool],
        *,
        moves_offset: bool,
    ) -> bool:
        """Copy ``tables`` from a temporary slot's exported snapshot until Kafka holds every row, then call
        ``then`` while that slot still exists; False when stopped first (the temporary slot goes either way).

        In exactly-once mode the whole copy is one Kafka transaction, committed before ``then`` (with the
        snapshot's position as the offset when ``moves_offset``): a copy cut short is aborted, never half
        written, and a committed copy is promoted right after."""
        config = self._config
        slot = SnapshotSlot(conninfo=config.database.conninfo(), slot=config.slot_name)
        exported = slot.open()
        try:
            reader = SnapshotReader(
                config=config,
                kafka=self._kafka,
                sink=sink,
                tracker=tracker,
                progress=self.status.snapshot,
                stop=self._stop,
                warn=self._warn_once,
                run_id=self._run_id,
            )
            committer = self._committer
            if committer is not None and sink.transactions is not None:
                sink.transactions.begin()
            if not reader.run(exported, tables) or not self._flush(sink, tracker):
                if committer is not None:
                    committer.abort()
                return False
            if committer is not None:
                now_us = time.time_ns() // 1000
                committer.commit(
                    SourceOffset(exported.consistent_lsn, ts_usec=now_us) if moves_offset else None
                )
            return then(slot, exported)
        finally:
            slot.close()

    def _flush(self, sink: KafkaSink, tracker: AckTracker) -> bool:
        """Wait until Kafka acknowledged everything produced; False if stopped first."""
        while sink.flush(1.0):
            if self._stop.is_set():
                return False
        tracker.safe_lsn()  # raises if a delivery failed
        if not tracker.idle:
            raise SinkError("the snapshot's records were not all acknowledged by Kafka; it will run again")
        return True

    def _snapshot(
        self,
        conn: psycopg.Connection[tuple[object, ...]],
        plan: SourcePlan,
        sink: KafkaSink,
        tracker: AckTracker,
    ) -> bool:
        """Copy every table, then create the slot at the copy's position; False if stopped first."""

        def promote(slot: SnapshotSlot, exported: ExportedSnapshot) -> bool:
            if self._config.snapshot_mode == "initial_only":
                log.info("snapshot complete; snapshot.mode=initial_only, so no streaming")
                return False
            slot.promote(conn)
            return True

        return self._copy(plan.tables, sink, tracker, promote, moves_offset=True)

    def _snapshot_added(
        self,
        conn: psycopg.Connection[tuple[object, ...]],
        plan: SourcePlan,
        sink: KafkaSink,
        tracker: AckTracker,
        builder: EventBuilder,
    ) -> bool:
        """Snapshot tables added to a streaming connector, then move them to the main publication.

        They are already published (by the snapshot publication), so no change is missed; the stream's events
        of theirs that committed before the snapshot are dropped, so none is written twice."""

        def move(slot: SnapshotSlot, exported: ExportedSnapshot) -> bool:
            builder.snapshotted({t.oid: exported.consistent_lsn for t in plan.added_tables})
            promote_tables(conn, self._config, plan.added_tables, server_version=plan.server_version)
            return True

        # The stream has not read up to the copy's position for the other tables: the offset stays.
        return self._copy(plan.added_tables, sink, tracker, move, moves_offset=False)

    def _describer(
        self, conn: psycopg.Connection[tuple[object, ...]]
    ) -> Callable[[RelationMessage], CapturedTable | None]:
        config = self._config

        def describe(message: RelationMessage) -> CapturedTable | None:
            table = TableId(message.namespace, message.name)
            if not config.captures_table(table.schema, table.table) and not config.is_signal_table(
                table.schema, table.table
            ):
                return None
            info = catalog.describe_table(conn, message.oid, table, message.replica_identity)
            columns = {c.name: c for c in info.columns}
            # The catalog is read now, the message describes the table as of its change: a column renamed or
            # dropped since then keeps the type pgoutput sent, so the event has the shape it had in the log.
            missing = [
                (c.name, c.type_oid, c.type_modifier) for c in message.columns if c.name not in columns
            ]
            columns.update(catalog.describe_missing_columns(conn, missing))
            captured = build_table(message, columns, info.primary_key, config, warn=self._warn_once)
            log.info("table %s: %d field(s) to topic %s", table, len(captured.fields), captured.topic)
            return captured

        return describe

    def run(self) -> None:
        config = self._config
        topics = TopicAdmin(
            kafka=self._kafka,
            partitions=config.topic_partitions,
            replication_factor=config.topic_replication_factor,
        )
        self._wait_for_kafka(topics)
        try:
            conn = psycopg.connect(config.database.conninfo(), autocommit=True)
        except psycopg.OperationalError as err:
            raise SourceError(
                f"cannot connect to PostgreSQL at {config.database.describe()}: "
                f"{str(err).strip().splitlines()[-1] if str(err).strip() else err}"
            ) from err
        try:
            with conn:
                self._stream(conn, topics, self._prepare_source(conn))
        except psycopg.errors.InsufficientPrivilege as err:
            raise SourceSetupError(
                f"PostgreSQL refused {config.database.user!r}: {err.diag.message_primary}; grant it (for a table: "
                f'GRANT SELECT ON <table> TO "{config.database.user}";) and restart the connector'
            ) from err
        except psycopg.Error as err:
            # A connection lost mid-way (a server restart, a network cut) is retried; nothing was confirmed
            # that Kafka does not hold.
            raise SourceError(
                f"PostgreSQL failed: {str(err).strip().splitlines()[0] if str(err).strip() else err}"
            ) from err

    def _stream(
        self,
        conn: psycopg.Connection[tuple[object, ...]],
        topics: TopicAdmin,
        plan: SourcePlan,
    ) -> None:
        config = self._config
        tracker = AckTracker()
        stream = ReplicationStream(
            conninfo=config.database.conninfo(),
            slot=config.slot_name,
            publications=publication_names(config),
            status_interval_s=config.status_update_interval_ms / 1000,
        )
        # Debezium draws a run id at each task start; each _stream is one.
        self._run_id = new_run_id() if config.extended_headers else None
        serializer = RecordSerializer(
            server_name=config.topic_prefix, dbname=config.database.dbname, run_id=self._run_id
        )

        incremental: IncrementalSnapshot | None = None

        def confirmable(safe: Lsn) -> Lsn:
            # While an incremental snapshot runs, its latest progress (its signal, then its latest open
            # watermark) stays unconfirmed: a restart meets it again and goes on from there. Exactly-once:
            # only what committed Kafka transactions hold.
            hold = incremental.hold_lsn if incremental is not None else None
            if self._committer is not None:
                safe = min(safe, self._committer.confirmable)
            return safe if hold is None else min(safe, hold)

        def keep_alive() -> None:
            # While Kafka is slow the reader is paused; PostgreSQL must still hear from us, or it drops us.
            # (During a snapshot nothing streams yet, and the snapshot's slot session has no timeout.)
            if stream.is_open:
                stream.confirm(confirmable(tracker.safe_lsn()))

        sink = KafkaSink(
            kafka=self._kafka,
            topics=topics,
            serializer=serializer,
            max_queue_bytes=config.max_queue_bytes,
            message_topic=f"{config.topic_prefix}.message",
            transaction_topic=config.transaction_topic,
            on_wait=keep_alive,
            status=self.status,
            errors=config.errors,
            connector=config.name,
            transactional_id=self.transactional_id if config.exactly_once else None,
        )
        if config.signal_table is not None:
            incremental = IncrementalSnapshot(
                config=config, sink=sink, progress=self.status.snapshot, confirmed=lambda: stream.confirmed
            )
        builder = EventBuilder(
            config=config, describe=self._describer(conn), tracker=tracker, sink=sink, signals=incremental
        )
        heartbeat_topic = sink.ensure_topic(config.heartbeat_topic) if config.heartbeat_interval_ms else None
        self._committer = committer = None
        try:
            if config.exactly_once and (plan.full_snapshot or plan.added_tables):
                # A copy is written before the slot is held: it needs its transactions first.
                self._committer = committer = self._start_transactions(sink, topics, builder)
            if plan.full_snapshot and not self._snapshot(conn, plan, sink, tracker):
                self.status.state = "stopped"
                return
            if plan.added_tables and not self._snapshot_added(conn, plan, sink, tracker, builder):
                self.status.state = "stopped"
                return
        except ProducerFencedError as err:
            # Not a zombie: this instance never held the slot. Another one started at the same moment (two
            # workers racing for a new connector); the retry finds the slot taken and stands by.
            raise SinkError(
                "another instance of this connector started at the same moment and fenced this one's Kafka "
                "transactions before it held the slot; retrying"
            ) from err
        stream.open()
        try:
            if config.exactly_once and committer is None:
                # Only now, holding the slot: a fence from here on means this instance is the stale one.
                self._committer = committer = self._start_transactions(sink, topics, builder)
            self.status.state = "available"
            self.status.streams_started += 1
            log.info(
                "streaming %s from slot %s to Kafka at %s",
                ", ".join(self.status.tables),
                config.slot_name,
                self._kafka.describe(),
            )
            heartbeat_s = config.heartbeat_interval_ms / 1000
            next_heartbeat = time.monotonic() + heartbeat_s
            frames = 0
            stop_by = float("inf")
            while not self._stop.is_set() or (committer is not None and builder.in_transaction):
                if self._stop.is_set():
                    # Exactly-once: finish the PostgreSQL transaction being read so its Kafka one can commit.
                    stop_by = min(stop_by, time.monotonic() + STOP_AT_BOUNDARY_S)
                    if time.monotonic() > stop_by:
                        break
                frame = stream.read()
                if frame is not None:
                    builder.handle(decode(frame.payload), frame.data_start)
                    frames += 1
                    if committer is not None:
                        committer.frame()
                        if not builder.in_transaction and committer.due(stream_idle=False):
                            committer.commit(builder.last_offset())
                    if frames % CONFIRM_EVERY_FRAMES == 0:
                        sink.poll(0)
                        stream.confirm(confirmable(tracker.safe_lsn()))
                    continue
                if committer is not None and not builder.in_transaction and committer.due(stream_idle=True):
                    committer.commit(builder.last_offset())
                sink.poll(0)
                safe = tracker.safe_lsn()
                if tracker.idle and (committer is None or not committer.open):
                    # Nothing captured is in flight and every frame sent so far is handled: the server's
                    # position can be confirmed, so WAL written for other tables is not held by this slot.
                    safe = max(safe, stream.server_wal_end)
                stream.confirm(confirmable(safe))
                self.status.confirmed_lsn = format_lsn(stream.confirmed)
                if heartbeat_topic is not None and time.monotonic() >= next_heartbeat:
                    key, value = serializer.heartbeat(int(time.time() * 1000))
                    sink.produce(heartbeat_topic, key, value, None)
                    next_heartbeat = time.monotonic() + heartbeat_s
                stream.wait(IDLE_WAKE_S)
            self._drain(sink, tracker, stream, confirmable, builder)
        except PgcdcError as err:
            self.status.state = "failed"
            self.status.error = str(err)
            raise
        finally:
            if committer is not None:
                # A failure mid-way: what the open transaction holds is not covered by a committed offset.
                committer.abort()
            stream.close()
            if incremental is not None:
                incremental.close()

    def _start_transactions(
        self, sink: KafkaSink, topics: TopicAdmin, builder: EventBuilder
    ) -> OffsetCommitter:
        """Fence any older instance, then read the offset Kafka's committed transactions hold: the stream
        resumes there, whatever position the slot kept. The slot is at or before it (it is confirmed only up
        to committed offsets), so transactions PostgreSQL sends again are dropped by the builder."""
        config = self._config
        assert sink.transactions is not None
        topics.ensure(self.offsets_topic, compacted=True)
        sink.transactions.init()
        key = offset_key(config.name, config.topic_prefix)
        stored = read_committed_offset(self._kafka, self.offsets_topic, key)
        if stored is not None:
            builder.resume_after(stored.lsn)
        log.info(
            "exactly once: transactional.id %s, resuming after the offset in %s: %s",
            self.transactional_id,
            self.offsets_topic,
            format_lsn(stored.lsn) if stored is not None else "none yet",
        )
        return OffsetCommitter(
            transactions=sink.transactions,
            offsets_topic=self.offsets_topic,
            key=key,
            boundary=config.transaction_boundary,
            interval_s=config.transaction_interval_ms / 1000,
            stored=stored,
        )

    def _drain(
        self,
        sink: KafkaSink,
        tracker: AckTracker,
        stream: ReplicationStream,
        confirmable: Callable[[Lsn], Lsn],
        builder: EventBuilder,
    ) -> None:
        """On stop: wait for Kafka to take what was produced, then confirm exactly that. Exactly-once: commit
        the open Kafka transaction first, or abort it when stopped inside a PostgreSQL transaction."""
        committer = self._committer
        if committer is not None:
            if builder.in_transaction:
                committer.abort()
            else:
                committer.commit(builder.last_offset())
        remaining = sink.flush(30)
        safe = confirmable(tracker.safe_lsn())
        stream.confirm(safe, force=True)
        self.status.state = "stopped"
        self.status.confirmed_lsn = format_lsn(stream.confirmed)
        if remaining:
            log.warning(
                "stopped with %d record(s) not acknowledged by Kafka; they will be sent again", remaining
            )
        log.info("stopped; confirmed %s to PostgreSQL", format_lsn(safe))
