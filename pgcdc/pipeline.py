"""The coordinator of one connector: check, set up, stream, confirm what Kafka holds, drain on stop."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

import psycopg

from pgcdc.ack.guarantee import AtLeastOnce, DeliveryGuarantee, ExactlyOnce
from pgcdc.ack.offsets import offset_key
from pgcdc.ack.tracker import AckTracker
from pgcdc.config import ConnectorConfig
from pgcdc.errors import PgcdcError, SinkError, SourceError, SourceSetupError
from pgcdc.events.builder import EventBuilder
from pgcdc.lsn import Lsn, format_lsn
from pgcdc.produce.client import KafkaSettings
from pgcdc.produce.producer import KafkaSink
from pgcdc.produce.topics import TopicAdmin
from pgcdc.replication.publication import publication_names
from pgcdc.replication.source import SourcePlan, connect, prepare_source, table_describer
from pgcdc.replication.stream import ReplicationStream
from pgcdc.serialize.headers import new_run_id
from pgcdc.snapshot.incremental import IncrementalSnapshot
from pgcdc.snapshot.startup import StartupSnapshots
from pgcdc.status import ConnectorStatus

log = logging.getLogger(__name__)

# How often the loop wakes when the server sends nothing, to serve delivery reports, confirm and beat.
IDLE_WAKE_S = 0.05
# Confirm after this many frames even while busy, so a long burst still releases WAL as Kafka acknowledges; also
# how many frames one compiled batch handles before the loop looks at its stop flag again (about 10 ms of work).
CONFIRM_EVERY_FRAMES = 2048
# The worker group a lone `pgcdc run` counts as in exactly-once mode: it names the offsets topic
# (connect-offsets-pgcdc-run) and starts the transactional id (pgcdc-run-<name>-0).
RUN_GROUP = "pgcdc-run"
# Seconds a stop waits for the PostgreSQL transaction being read to end, so its Kafka transaction can commit.
STOP_AT_BOUNDARY_S = 10.0


class Connector:
    """Runs one connector in the calling thread until ``stop()``; raises PgcdcError when it cannot go on."""

    def __init__(self, *, config: ConnectorConfig, kafka: KafkaSettings, group: str = RUN_GROUP) -> None:
        """``group`` is the worker group hosting the connector; exactly-once mode names its offsets topic and
        transactional id after it, as Kafka Connect does."""
        self._config = config
        self._kafka = kafka
        self._group = group
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
        """Retry with backoff until a broker answers; a down broker at start is a wait, not a failure, a refused
        login (LoginRefusedError) is a failure."""
        delay = 1.0
        while True:
            try:
                topics.check_reachable(timeout_s=5)
                return
            except SinkError as err:
                if not err.retriable:
                    raise
                log.warning("%s; retrying in %.0f s", err, delay)
                if self._stop.wait(delay):
                    raise
                delay = min(delay * 2, 30.0)

    def run(self) -> None:
        config = self._config
        topics = TopicAdmin(
            kafka=self._kafka,
            partitions=config.topic_partitions,
            replication_factor=config.topic_replication_factor,
        )
        try:
            self._wait_for_kafka(topics)
            self._run_source(topics)
        finally:
            topics.close()

    def _run_source(self, topics: TopicAdmin) -> None:
        config = self._config
        conn = connect(config)
        try:
            with conn:
                self._stream(conn, topics, prepare_source(conn, config, status=self.status))
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

        incremental: IncrementalSnapshot | None = None
        guarantee: DeliveryGuarantee | None = None

        def confirmable(safe: Lsn) -> Lsn:
            # While an incremental snapshot runs, its latest progress (its signal, then its latest open
            # watermark) stays unconfirmed: a restart meets it again and goes on from there. Exactly-once:
            # only what committed Kafka transactions hold.
            hold = incremental.hold_lsn if incremental is not None else None
            if guarantee is not None:
                safe = guarantee.confirmable(safe)
            return safe if hold is None else min(safe, hold)

        def keep_alive() -> None:
            # While Kafka is slow the reader is paused; PostgreSQL must still hear from us, or it drops us.
            # (During a snapshot nothing streams yet, and the snapshot's slot session has no timeout.)
            if stream.is_open:
                stream.confirm(confirmable(tracker.safe_lsn()))

        sink = KafkaSink.for_connector(
            config,
            kafka=self._kafka,
            topics=topics,
            run_id=self._run_id,
            max_queue_bytes=config.max_queue_bytes,
            on_wait=keep_alive,
            status=self.status,
            transactional_id=self.transactional_id if config.exactly_once else None,
        )
        try:
            if config.signal_table is not None:
                incremental = IncrementalSnapshot(
                    config=config,
                    sink=sink,
                    progress=self.status.snapshot,
                    confirmed=lambda: stream.confirmed,
                )
            builder = EventBuilder(
                config=config,
                describe=table_describer(conn, config, warn=self._warn_once),
                tracker=tracker,
                sink=sink,
                signals=incremental,
            )
            heartbeat_topic = (
                sink.ensure_topic(config.heartbeat_topic) if config.heartbeat_interval_ms else None
            )
            guarantee = self._delivery_guarantee(sink, topics, builder, tracker)
            snapshots = StartupSnapshots(
                config=config,
                kafka=self._kafka,
                sink=sink,
                tracker=tracker,
                guarantee=guarantee,
                progress=self.status.snapshot,
                stop=self._stop,
                warn=self._warn_once,
                run_id=self._run_id,
            )
            if not snapshots.take(conn, plan, builder):
                self.status.state = "stopped"
                return
            stream.open()
            try:
                self._stream_changes(stream, sink, tracker, guarantee, confirmable, heartbeat_topic)
            except PgcdcError as err:
                self.status.state = "failed"
                self.status.error = str(err)
                raise
            finally:
                # A failure mid-way: what an open Kafka transaction holds is not covered by a committed offset.
                guarantee.abort()
                stream.close()
        finally:
            if incremental is not None:
                incremental.close()
            # After the drain's flush, or on a failure or a stop cut short: nothing it drops was confirmed.
            sink.close()

    def _stream_changes(
        self,
        stream: ReplicationStream,
        sink: KafkaSink,
        tracker: AckTracker,
        guarantee: DeliveryGuarantee,
        confirmable: Callable[[Lsn], Lsn],
        heartbeat_topic: str | None,
    ) -> None:
        """From the open slot until ``stop()``, then drain."""
        config = self._config
        # Exactly-once, unless a copy started it: only now, holding the slot, so that a fence from here on
        # means this instance is the stale one.
        guarantee.start()
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
        shown = Lsn(-1)
        stop_by = float("inf")
        handle = guarantee.handle
        batch = CONFIRM_EVERY_FRAMES
        while not self._stop.is_set() or guarantee.stop_waits:
            if self._stop.is_set():
                # Exactly-once: finish the PostgreSQL transaction being read so its Kafka one can commit; a
                # frame at a time, so that reading ends at the transaction's end.
                batch = 1
                stop_by = min(stop_by, time.monotonic() + STOP_AT_BOUNDARY_S)
                if time.monotonic() > stop_by:
                    break
            if stream.handle_waiting(handle, batch) == batch:
                # More may be waiting: serve delivery reports and confirm what Kafka holds between batches.
                sink.poll(0)
                stream.confirm(confirmable(tracker.safe_lsn()))
                continue
            guarantee.idle()
            sink.poll(0)
            safe = tracker.safe_lsn()
            if tracker.idle and not guarantee.open:
                # Nothing captured is in flight and every frame sent so far is handled: the server's
                # position can be confirmed, so WAL written for other tables is not held by this slot.
                safe = max(safe, stream.server_wal_end)
                guarantee.caught_up(safe)
            stream.confirm(confirmable(safe))
            if stream.confirmed != shown:
                # Formatted only when it moves: this branch runs once or more per transaction at low rates.
                shown = stream.confirmed
                self.status.confirmed_lsn = format_lsn(shown)
            if heartbeat_topic is not None and time.monotonic() >= next_heartbeat:
                key, value = sink.serializer.heartbeat(int(time.time() * 1000))
                sink.produce(heartbeat_topic, key, value, None)
                next_heartbeat = time.monotonic() + heartbeat_s
            stream.wait(IDLE_WAKE_S)
        self._drain(sink, tracker, stream, confirmable, guarantee)

    def _delivery_guarantee(
        self, sink: KafkaSink, topics: TopicAdmin, builder: EventBuilder, tracker: AckTracker
    ) -> DeliveryGuarantee:
        config = self._config
        if not config.exactly_once:
            return AtLeastOnce(builder=builder)
        assert sink.transactions is not None
        return ExactlyOnce(
            builder=builder,
            transactions=sink.transactions,
            topics=topics,
            kafka=self._kafka,
            offsets_topic=self.offsets_topic,
            key=offset_key(config.name, config.topic_prefix),
            boundary=config.transaction_boundary,
            interval_s=config.transaction_interval_ms / 1000,
            delivered=tracker.raise_if_failed,
        )

    def _drain(
        self,
        sink: KafkaSink,
        tracker: AckTracker,
        stream: ReplicationStream,
        confirmable: Callable[[Lsn], Lsn],
        guarantee: DeliveryGuarantee,
    ) -> None:
        """On stop: wait for Kafka to take what was produced, then confirm exactly that. Exactly-once: commit
        the open Kafka transaction first, or abort it when stopped inside a PostgreSQL transaction."""
        guarantee.finish()
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
