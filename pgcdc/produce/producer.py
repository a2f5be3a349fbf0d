"""The Kafka producer stage: serialize each event, produce it, and route its delivery report to its transaction."""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from confluent_kafka import KafkaError, KafkaException, Message, Producer

from pgcdc.ack.tracker import TransactionAck
from pgcdc.config import ConnectorConfig, ErrorTolerance
from pgcdc.errors import SinkError
from pgcdc.events.change import ChangeEvent, SourcePosition, TransactionMarker
from pgcdc.events.table import CapturedTable
from pgcdc.events.transaction import TransactionMetadata
from pgcdc.lsn import Lsn
from pgcdc.produce.client import KafkaSettings
from pgcdc.produce.refused import RecordTooLargeError, Refusal, RefusedRecords
from pgcdc.produce.topics import TopicAdmin
from pgcdc.produce.transaction import KafkaTransactions
from pgcdc.produce.waiting import SLICE_S, flush
from pgcdc.serialize.records import Headers, RecordSerializer

if TYPE_CHECKING:
    from pgcdc.status import ConnectorStatus

log = logging.getLogger(__name__)

# Delivery callbacks only run inside poll(); polling every this many records keeps them flowing without
# paying a poll per record.
POLL_EVERY = 512


def producer_config(
    kafka: KafkaSettings, *, max_queue_bytes: int, transactional_id: str | None = None
) -> dict[str, object]:
    """Tuning defaults, then the user's librdkafka settings (PGCDC_KAFKA_*), then the delivery guarantees,
    which no setting may weaken."""
    defaults: dict[str, object] = {
        # Kafka's Java clients (and so Kafka Connect) partition by murmur2 of the key: same key, same
        # partition as Debezium would choose.
        "partitioner": "murmur2_random",
        # Waiting for a batch bounds latency from below (p50 was 20 ms at 20); 5 ms still batches thousands.
        "linger.ms": 5,
        "batch.num.messages": 10000,
        "batch.size": 1_000_000,
        "queue.buffering.max.messages": 100_000,
        "queue.buffering.max.kbytes": max(1, max_queue_bytes // 1024),
        # Every record repeats its table's schema (JsonConverter with schemas): lz4 shrinks a narrow row's
        # 2.9 kB to a few hundred bytes per batch, which halves the producer's CPU per record (the socket, not
        # the compression, was the cost) and the broker's. Consumers decompress without being told.
        "compression.type": "lz4",
        # Without TCP_NODELAY a small produce request sent while the previous one is unacknowledged waits for
        # the broker's (delayed) TCP acknowledgement: at 5,000 single-row transactions a second that put 20-130
        # ms on the p99 of a bare producer against Tansu, 10-14 ms with it off (linger.ms still batches).
        "socket.nagle.disable": True,
        # A broker closing an idle connection is routine; the client reconnects on its own.
        "log.connection.close": False,
    }
    if transactional_id is not None:
        # A snapshot is one transaction: allow the broker's default ceiling (15 min), not librdkafka's 60 s.
        defaults["transaction.timeout.ms"] = 900_000
    guarantees: dict[str, object] = {
        # Idempotence gives acks=all, ordered retries and no duplicates from the producer's own retries.
        "enable.idempotence": True,
        "acks": "all",
        # Never give up on a record: a broker outage must pause the connector, not lose or skip events.
        "message.timeout.ms": 0,
    }
    if transactional_id is not None:
        guarantees["transactional.id"] = transactional_id
        # librdkafka refuses an infinite delivery timeout with transactions: it must fit in one.
        guarantees["message.timeout.ms"] = max(
            int(str(kafka.config().get("transaction.timeout.ms", defaults["transaction.timeout.ms"]))), 1000
        )
    return {**defaults, **kafka.config(), **guarantees}


def _delivery(ack: TransactionAck | None) -> Callable[[object, object], None] | None:
    """Count the record as sent in its transaction; its delivery report then counts it as acknowledged."""
    if ack is None:
        return None
    ack.sent()
    return ack.callback


class KafkaSink:
    """An EventSink that writes to Kafka; ``on_wait`` runs while the producer's buffer is full."""

    def __init__(
        self,
        *,
        kafka: KafkaSettings,
        topics: TopicAdmin,
        serializer: RecordSerializer,
        max_queue_bytes: int,
        message_topic: str,
        transaction_topic: str,
        on_wait: Callable[[], None],
        status: ConnectorStatus,
        errors: ErrorTolerance | None = None,
        connector: str = "",
        on_failed_delivery: Callable[[KafkaError, Message], None] | None = None,
        transactional_id: str | None = None,
    ) -> None:
        """With ``on_failed_delivery``, records produced without a callback report only their failures, to it:
        a sink that counts on ``flush`` for completion then pays no Python call per acknowledged record. With
        ``transactional_id`` every record goes into a Kafka transaction (``transactions``)."""
        config = producer_config(kafka, max_queue_bytes=max_queue_bytes, transactional_id=transactional_id)
        if on_failed_delivery is not None:
            config.update({"delivery.report.only.error": True, "on_delivery": on_failed_delivery})
        self._producer = Producer(config)
        self.transactions = (
            KafkaTransactions(producer=self._producer, transactional_id=transactional_id)
            if transactional_id is not None
            else None
        )
        # librdkafka's default; a record over it is refused by produce() itself.
        self._max_bytes = int(str(config.get("message.max.bytes", 1_000_000)))
        self._topics = topics
        self._serializer = serializer
        self._message_topic = message_topic
        self._transaction_topic = transaction_topic
        self._prefix = kafka.topic_prefix
        self._ready: set[str] = set()
        self._on_wait = on_wait
        self._since_poll = 0
        self._counts = status.events_by_op
        self._status = status
        self._position: SourcePosition | None = None
        """The position of the last event emitted, whose commit time the status shows."""
        self._refused: RefusedRecords | None = None
        if errors is not None and errors.tolerate:
            dead_letter = errors.dead_letter_topic
            self._refused = RefusedRecords(
                errors=errors,
                connector=connector,
                dead_letter_topic=self.ensure_topic(dead_letter) if dead_letter else None,
                produce=lambda topic, key, value, callback, headers: self.produce(
                    topic, key, value, callback, headers=headers
                ),
                status=status,
            )

    @classmethod
    def for_connector(
        cls,
        config: ConnectorConfig,
        *,
        kafka: KafkaSettings,
        topics: TopicAdmin,
        run_id: str | None,
        max_queue_bytes: int,
        on_wait: Callable[[], None],
        status: ConnectorStatus,
        on_failed_delivery: Callable[[KafkaError, Message], None] | None = None,
        transactional_id: str | None = None,
    ) -> KafkaSink:
        """The sink of ``config``'s connector: its topic names, records and error tolerance, whichever process
        writes (the connector's own, or a snapshot worker's with ``run_id`` the connector's)."""
        return cls(
            kafka=kafka,
            topics=topics,
            serializer=RecordSerializer(
                server_name=config.topic_prefix, dbname=config.database.dbname, run_id=run_id
            ),
            max_queue_bytes=max_queue_bytes,
            message_topic=f"{config.topic_prefix}.message",
            transaction_topic=config.transaction_topic,
            on_wait=on_wait,
            status=status,
            errors=config.errors,
            connector=config.name,
            on_failed_delivery=on_failed_delivery,
            transactional_id=transactional_id,
        )

    @property
    def serializer(self) -> RecordSerializer:
        return self._serializer

    def _topic(self, event: ChangeEvent) -> str:
        return self.ensure_topic(event.table.topic if event.table is not None else self._message_topic)

    def emit(self, event: ChangeEvent) -> None:
        topic = self._topic(event)
        key = self._serializer.key(event)
        value = self._serializer.value(event)
        callback = _delivery(event.ack)
        # The serializer's headers: the context headers on every row record (one shared dict when nothing else).
        headers = self._serializer.headers(event)
        if self._refused is None:
            self.produce(topic, key, value, callback, headers=headers)
        else:
            self._emit_tolerating(self._refused, event, topic, key, value, callback, headers)
        self._count("tombstone" if event.tombstone else event.op, event.position)

    def emit_insert(
        self,
        table: CapturedTable,
        values: Sequence[object],
        lsn: Lsn,
        position: SourcePosition,
        ack: TransactionAck | None,
        transactions: TransactionMetadata | None,
    ) -> bool:
        """An insert written straight from its tuple, as ``emit`` would write its event; False when it cannot be
        (see RecordSerializer.insert_parts), and then nothing was done: the caller emits the event."""
        if self._refused is not None:
            # A refused record is described by its event's table and key: errors.tolerance=all takes that path.
            return False
        parts = self._serializer.insert_parts(table, values, position)
        if parts is None:
            return False
        key, after = parts
        block = None if transactions is None else transactions.block(table.collection, lsn)
        value = self._serializer.insert_value(table, after, block, lsn)
        self.produce(self.ensure_topic(table.topic), key, value, _delivery(ack), self._serializer.context)
        self._count("c", position)
        return True

    def _count(self, op: str, position: SourcePosition) -> None:
        """A record written for an event at ``position``: in the status's counts and its last event time."""
        self._counts[op] = self._counts.get(op, 0) + 1
        if position is not self._position:
            # Once per transaction (its events share one position), not per record.
            self._position = position
            self._status.last_event_commit_ms = position.commit_time_us // 1000

    def add_counts(self, by_op: dict[str, int], skipped: int, dead_lettered: int) -> None:
        """Count records another producer wrote for this connector (a snapshot worker process's) in its status,
        as ``emit`` and errors.tolerance=all count this one's."""
        for op, count in by_op.items():
            self._counts[op] = self._counts.get(op, 0) + count
        self._status.records_skipped += skipped
        self._status.records_dead_lettered += dead_lettered

    def mark(self, marker: TransactionMarker) -> None:
        """A BEGIN or END record; its delivery counts toward its transaction like any event's."""
        topic = self.ensure_topic(self._transaction_topic)
        key, value = self._serializer.transaction_marker(marker)
        self.produce(topic, key, value, _delivery(marker.ack))

    def _emit_tolerating(
        self,
        refused: RefusedRecords,
        event: ChangeEvent,
        topic: str,
        key: bytes | None,
        value: bytes | None,
        callback: Callable[[object, object], None] | None,
        headers: Headers | None,
    ) -> None:
        """errors.tolerance=all: a record the producer refuses as too large goes to ``refused`` instead of failing
        (the broker's refusals fail the delivery: see pgcdc/produce/refused.py)."""
        try:
            self.produce(topic, key, value, callback, headers=headers)
        except RecordTooLargeError as err:
            refused.handle(err.refusal.about(event), callback, headers)

    def produce(
        self,
        topic: str,
        key: bytes | None,
        value: bytes | None,
        callback: Callable[[object, object], None] | None,
        headers: Headers | None = None,
    ) -> None:
        # headers is not keyword-only: Cython compiles this (producer.pxd) into a C method, which cannot have one.
        if self.transactions is not None:
            self.transactions.begin()
        while True:
            try:
                # All positional (partition -1: the partitioner's; timestamp 0: now), as the binding declares
                # them: keywords cost a dict and a keyword parse per record, 0.3-0.5 of the call's 1.7 us.
                self._producer.produce(topic, value, key, -1, callback, None, 0, headers)
                break
            except BufferError:
                # The local buffer is full (bounded by count and bytes): wait for the broker to take some,
                # serving delivery reports and keeping the replication connection alive meanwhile.
                self.poll(0.05)
                self._on_wait()
            except KafkaException as err:
                error = err.args[0] if err.args else None
                if isinstance(error, KafkaError) and error.code() == KafkaError.MSG_SIZE_TOO_LARGE:
                    limit = f"the producer's message.max.bytes ({self._max_bytes})"
                    raise RecordTooLargeError(Refusal(topic, key, len(value or b""), limit)) from err
                raise self._failure(f"produce to {topic}", err) from err
        self._since_poll += 1
        if self._since_poll >= POLL_EVERY:
            self._since_poll = 0
            self.poll(0)

    def ensure_topic(self, topic: str) -> str:
        full = self._prefix + topic
        if full not in self._ready:
            self._topics.ensure(full)
            self._ready.add(full)
        return full

    def poll(self, timeout_s: float = 0) -> None:
        """Serve delivery reports, waiting at most ``timeout_s`` (up to waiting.SLICE_S) for one."""
        try:
            self._producer.poll(min(timeout_s, SLICE_S))
        except KafkaException as err:
            # Only a fatal error is raised here (a fence, in exactly-once mode).
            raise self._failure("poll", err) from err

    def flush(self, timeout_s: float) -> int:
        """Wait for outstanding records; returns how many are still undelivered."""
        try:
            return flush(self._producer, timeout_s)
        except KafkaException as err:
            raise self._failure("flush", err) from err

    def _failure(self, what: str, err: KafkaException) -> SinkError:
        """pgcdc's error for a producer call that raised; exactly-once: the transaction is aborted and a fence
        is a ProducerFencedError."""
        if self.transactions is not None:
            return self.transactions.failure(what, err)
        error = err.args[0] if err.args else None
        return SinkError(
            f"the Kafka producer failed at {what}: {error.str() if isinstance(error, KafkaError) else err}"
        )

    @property
    def queued(self) -> int:
        return len(self._producer)

    def close(self) -> None:
        """Abort the open Kafka transaction, if any, and stop the producer's threads and connections. Records Kafka
        has not acknowledged by now are dropped: close after ``flush``; their positions were not confirmed to
        PostgreSQL, so the next run sends them again."""
        if self.transactions is not None:
            self.transactions.abort()
            if self.transactions.abort_pending:
                # Producer.close() would abort again and wait up to transaction.timeout.ms (15 min) for the
                # unreachable coordinator, holding up the retry; the garbage collector destroys it without waiting.
                return
        # Producer.close() flushes with no time limit, and message.timeout.ms=0 never gives up on a record: with
        # the broker gone, a failed connector would never finish stopping.
        self._producer.purge()
        with warnings.catch_warnings():
            # A fenced producer cannot abort on close, which is what being fenced means (and was reported).
            warnings.filterwarnings(
                "ignore", "Producer abort_transaction failed during close", RuntimeWarning
            )
            try:
                self._producer.close()
            except KafkaException as err:
                # A producer that failed for good (a fence) raises that error again once closed (destroyed all
                # the same): the call that met it has raised it already, as pgcdc's error.
                log.debug("closed the Kafka producer after its fatal error: %s", err)
