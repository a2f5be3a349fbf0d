"""A compacted Kafka topic as a log: created when missing, read from its start, written in order."""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable

from confluent_kafka import (
    OFFSET_BEGINNING,
    Consumer,
    KafkaError,
    KafkaException,
    Message,
    Producer,
    TopicPartition,
)
from confluent_kafka.admin import AdminClient, ConfigResource, NewTopic  # type: ignore[attr-defined]

from pgcdc.errors import ConfigError, SinkError
from pgcdc.produce.client import KafkaSettings

log = logging.getLogger(__name__)

# How long one consume call waits for records; bounds how quickly stop() is noticed (seconds).
POLL_S = 0.2
# Records handed over per consume call.
BATCH = 500


def state_producer(kafka: KafkaSettings) -> Producer:
    """The producer that writes the worker's own topics: every write lands once and in order."""
    return Producer(
        kafka.config(
            **{
                "enable.idempotence": True,
                "acks": "all",
                "linger.ms": 5,
                "log.connection.close": False,
            }
        )
    )


def ensure_compacted_topic(
    admin: AdminClient, topic: str, *, partitions: int, replication_factor: int, timeout_s: float
) -> None:
    """Create ``topic`` compacted; refuse an existing one that is not, as Kafka Connect does."""
    futures = admin.create_topics(
        [
            NewTopic(
                topic,
                num_partitions=partitions,
                replication_factor=replication_factor,
                config={"cleanup.policy": "compact"},
            )
        ],
        operation_timeout=timeout_s,
    )
    try:
        futures[topic].result(timeout=timeout_s)
        log.info("created compacted topic %s", topic)
        return
    except KafkaException as err:
        error = err.args[0] if err.args else None
        if not (isinstance(error, KafkaError) and error.code() == KafkaError.TOPIC_ALREADY_EXISTS):
            raise SinkError(f"cannot create topic {topic}: {error.str() if error else err}") from err
    try:
        described = admin.describe_configs([ConfigResource("topic", topic)])
        entries = next(iter(described.values())).result(timeout=timeout_s)
    except KafkaException:
        # A broker that cannot describe configs is not a reason to stop; compaction is then on the operator.
        log.warning("could not check that topic %s is compacted", topic)
        return
    policy = entries.get("cleanup.policy")
    if policy is not None and "compact" not in str(policy.value):
        raise ConfigError(
            f"topic {topic} exists with cleanup.policy={policy.value}: the worker keeps its state there and "
            "needs cleanup.policy=compact; alter the topic or use another --group-id"
        )


class TopicLog:
    """Hands every record of a topic, from offset 0 on, to ``apply`` in a thread of its own."""

    def __init__(
        self,
        *,
        kafka: KafkaSettings,
        topic: str,
        producer: Producer,
        apply: Callable[[bytes | None, bytes | None], None],
    ) -> None:
        self.topic = topic
        self._kafka = kafka
        self._producer = producer
        self._apply = apply
        self._consumer: Consumer | None = None
        self._end_reader: Consumer | None = None
        """Asks Kafka where the log ends; a handle of its own, as a consumer inside consume() answers no
        other call until the poll returns, and then not always within the call's timeout."""
        self._end_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._changed = threading.Condition()
        self._next_offset: dict[int, int] = {}
        """Per partition, the offset of the next record to apply: everything before it is applied."""

    def _new_consumer(self) -> Consumer:
        return Consumer(
            self._kafka.config(
                **{
                    # librdkafka wants a group id even for assign(); nothing is committed to it.
                    "group.id": f"pgcdc-worker-{uuid.uuid4().hex}",
                    "enable.auto.commit": False,
                    "auto.offset.reset": "earliest",
                    "isolation.level": "read_committed",
                    "log.connection.close": False,
                }
            )
        )

    def start(self, *, timeout_s: float) -> None:
        """Assign every partition from the start and apply what the log holds now before returning."""
        consumer = self._new_consumer()
        metadata = consumer.list_topics(self.topic, timeout=timeout_s).topics.get(self.topic)
        if metadata is None or metadata.error is not None or not metadata.partitions:
            consumer.close()
            raise SinkError(f"topic {self.topic} has no partitions the worker can read: check the broker")
        partitions = sorted(metadata.partitions)
        self._next_offset = dict.fromkeys(partitions, 0)
        self._end_reader = self._new_consumer()
        consumer.assign([TopicPartition(self.topic, p, OFFSET_BEGINNING) for p in partitions])
        self._consumer = consumer
        self._thread = threading.Thread(target=self._run, name=f"log-{self.topic}", daemon=True)
        self._thread.start()
        self.catch_up(timeout_s=timeout_s)

    def catch_up(self, *, timeout_s: float) -> bool:
        """Wait until every record Kafka holds now is applied; False when Kafka or the log is too slow."""
        deadline = time.monotonic() + timeout_s
        with self._end_lock:
            if self._end_reader is None:
                return False
            try:
                ends = {
                    p: self._end_reader.get_watermark_offsets(
                        TopicPartition(self.topic, p), timeout=timeout_s
                    )[1]
                    for p in self._next_offset
                }
            except KafkaException as err:
                log.warning("reading the end of %s: %s", self.topic, err)
                return False
        return all(
            self.wait_applied(partition, end - 1, timeout_s=max(0.0, deadline - time.monotonic()))
            for partition, end in ends.items()
        )

    def _run(self) -> None:
        consumer = self._consumer
        assert consumer is not None
        while not self._stop.is_set():
            try:
                messages = consumer.consume(BATCH, timeout=POLL_S)
            except KafkaException as err:
                log.warning("reading %s: %s", self.topic, err)
                self._stop.wait(1.0)
                continue
            for message in messages:
                self._handle(message)

    def _handle(self, message: Message) -> None:
        error = message.error()
        if error is not None:
            if error.code() != KafkaError._PARTITION_EOF:
                log.warning("reading %s: %s", self.topic, error.str())
            return
        key, value = message.key(), message.value()
        partition, offset = message.partition(), message.offset()
        assert partition is not None and offset is not None
        try:
            self._apply(
                key.encode() if isinstance(key, str) else key,
                value.encode() if isinstance(value, str) else value,
            )
        except Exception:
            # One bad record must not stop the worker from reading the rest of its state.
            log.exception("cannot apply record at %s[%d]@%d", self.topic, partition, offset)
        with self._changed:
            self._next_offset[partition] = offset + 1
            self._changed.notify_all()

    def wait_applied(self, partition: int, offset: int, *, timeout_s: float) -> bool:
        """Wait until the record at ``offset`` (and all before it) is applied; False on timeout."""
        deadline = time.monotonic() + timeout_s
        with self._changed:
            while self._next_offset.get(partition, 0) <= offset:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._changed.wait(remaining)
        return True

    def write(self, key: bytes, value: bytes | None, *, timeout_s: float | None) -> None:
        """Produce one record; with a timeout, wait until Kafka has it and this log has applied it."""
        delivered: list[tuple[int, int]] = []
        failed: list[str] = []

        def on_delivery(err: KafkaError | None, message: Message) -> None:
            if err is not None:
                failed.append(err.str())
                return
            partition, offset = message.partition(), message.offset()
            if partition is not None and offset is not None:
                delivered.append((partition, offset))

        try:
            self._producer.produce(self.topic, value, key, on_delivery=on_delivery)
        except (KafkaException, BufferError) as err:
            raise SinkError(f"cannot write to {self.topic}: {err}") from err
        if timeout_s is None:
            self._producer.poll(0)
            return
        deadline = time.monotonic() + timeout_s
        while not delivered and not failed:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise SinkError(f"Kafka did not acknowledge a write to {self.topic} within {timeout_s:.0f} s")
            self._producer.flush(min(remaining, 1.0))
        if failed:
            raise SinkError(f"Kafka refused a write to {self.topic}: {failed[0]}")
        partition, offset = delivered[0]
        if not self.wait_applied(partition, offset, timeout_s=max(0.0, deadline - time.monotonic())):
            raise SinkError(
                f"the worker did not read its own write to {self.topic} back within {timeout_s:.0f} s"
            )

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)
        if self._consumer is not None:
            self._consumer.close()
            self._consumer = None
        with self._end_lock:
            if self._end_reader is not None:
                self._end_reader.close()
                self._end_reader = None
