"""The Kafka producer stage: serialize each event, produce it, and route its delivery report to its transaction."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from confluent_kafka import KafkaError, KafkaException, Message, Producer

from pgcdc.ack.tracker import TransactionAck
from pgcdc.config import ErrorTolerance
from pgcdc.errors import SinkError
from pgcdc.events.change import ChangeEvent, TransactionMarker
from pgcdc.produce.client import KafkaSettings
from pgcdc.produce.refused import RecordTooLargeError, Refusal, RefusedRecords
from pgcdc.produce.topics import TopicAdmin
from pgcdc.produce.transaction import KafkaTransactions
from pgcdc.serialize.records import Headers, RecordSerializer

if TYPE_CHECKING:
    from pgcdc.pipeline import ConnectorStatus

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
                produce_now=self._produce_now,
                status=status,
            )

    def _topic(self, event: ChangeEvent) -> str:
        return self.ensure_topic(event.table.topic if event.table is not None else self._message_topic)

    def emit(self, event: ChangeEvent) -> None:
        topic = self._topic(event)
        key = self._serializer.key(event)
        value = self._serializer.value(event)
        callback = _delivery(event.ack)
        # The serializer's headers: the context headers on every row record (one shared list when nothing else).
        headers = self._serializer.headers(event)
        if self._refused is None:
            self.produce(topic, key, value, callback, headers=headers)
        else:
            self._emit_tolerating(self._refused, event, topic, key, value, callback, headers)
        op = "tombstone" if event.tombstone else event.op
        self._counts[op] = self._counts.get(op, 0) + 1
        self._status.last_event_commit_ms = event.position.commit_time_us // 1000

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
        """errors.tolerance=all: a record Kafka refuses as too large goes to ``refused`` instead of failing."""
        watched = callback
        if callback is not None:
            watched = refused.watch(callback, event, topic, key, len(value or b""), headers)
        try:
            self.produce(topic, key, value, watched, headers=headers)
        except RecordTooLargeError as err:
            refused.handle(err.refusal.about(event), callback, headers)

    def produce(
        self,
        topic: str,
        key: bytes | None,
        value: bytes | None,
        callback: Callable[[object, object], None] | None,
        *,
        headers: list[tuple[str, str | bytes | None]] | None = None,
    ) -> None:
        if self.transactions is not None:
            self.transactions.begin()
        while True:
            try:
                self._producer.produce(topic, value, key, on_delivery=callback, headers=headers)
                break
            except BufferError:
                # The local buffer is full (bounded by count and bytes): wait for the broker to take some,
                # serving delivery reports and keeping the replication connection alive meanwhile.
                self._producer.poll(0.05)
                self._on_wait()
            except KafkaException as err:
                error = err.args[0] if err.args else None
                if isinstance(error, KafkaError) and error.code() == KafkaError.MSG_SIZE_TOO_LARGE:
                    limit = f"the producer's message.max.bytes ({self._max_bytes})"
                    raise RecordTooLargeError(Refusal(topic, key, len(value or b""), limit)) from err
                raise SinkError(f"cannot produce to {topic}: {error.str() if error else err}") from err
        self._since_poll += 1
        if self._since_poll >= POLL_EVERY:
            self._since_poll = 0
            self._producer.poll(0)

    def _produce_now(
        self,
        topic: str,
        key: bytes | None,
        value: bytes,
        callback: Callable[[object, object], None] | None,
        headers: list[tuple[str, str | bytes | None]],
    ) -> None:
        """Produce without waiting for room: for delivery callbacks, which run inside poll()."""
        try:
            self._producer.produce(topic, value, key, on_delivery=callback, headers=headers)
        except (BufferError, KafkaException) as err:
            raise SinkError(f"cannot produce to {topic}: {err}") from err

    def ensure_topic(self, topic: str) -> str:
        full = self._prefix + topic
        if full not in self._ready:
            self._topics.ensure(full)
            self._ready.add(full)
        return full

    def poll(self, timeout_s: float = 0) -> None:
        """Serve delivery reports."""
        self._producer.poll(timeout_s)

    def flush(self, timeout_s: float) -> int:
        """Wait for outstanding records; returns how many are still undelivered."""
        return int(self._producer.flush(timeout_s))

    @property
    def queued(self) -> int:
        return len(self._producer)
