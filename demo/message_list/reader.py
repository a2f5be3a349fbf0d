"""Reads one topic from its partitions' last few records onward and hands every record over, in a thread.

Why assign() and not subscribe(): every copy of this app shows the whole topic, so each reads every
partition itself instead of sharing them out in a consumer group; and it starts ``backlog`` records before
each partition's end, so a fresh page has history. The group (``group``, after ``KAFKA_PREFIX``) still gets
the positions read, committed every second, so ``kafka-consumer-groups`` and lag dashboards see this app.
That also suits brokers such as Tansu that hold a group join for the whole rebalance timeout.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from confluent_kafka import (
    TIMESTAMP_NOT_AVAILABLE,
    Consumer,
    KafkaError,
    KafkaException,
    Message,
    TopicPartition,
)

from demo.message_list.messages import Received
from pgcdc.produce.client import KafkaSettings

log = logging.getLogger(__name__)

WAITING_LOOK_S = 1.0
"""Seconds between looks for the topic while it does not exist: its first records should show at once."""
METADATA_EVERY_S = 10.0
"""Seconds between looks for partitions added to the topic once it is read."""
POLL_BATCH = 100
"""Records taken per poll; the inbox keeps only the newest anyway."""


class TopicReader:
    def __init__(
        self,
        *,
        kafka: KafkaSettings,
        topic: str,
        group: str,
        backlog: int,
        handle: Callable[[Received], None],
    ) -> None:
        """``topic`` and ``group`` as the app names them; ``KAFKA_PREFIX`` is put in front of both."""
        self.topic = kafka.topic_prefix + topic
        self.group = kafka.topic_prefix + group
        self._kafka = kafka
        self._backlog = backlog
        self._handle = handle
        self._partitions: set[int] = set()
        self.status = f"connecting to {kafka.describe()}"

    def run(self, stop: threading.Event) -> None:
        """Read until ``stop`` is set; broker trouble is shown in ``status`` and retried, never raised."""
        consumer = Consumer(
            self._kafka.config(
                **{
                    "group.id": self.group,
                    "enable.auto.commit": True,
                    "auto.commit.interval.ms": 1000,
                    "auto.offset.reset": "earliest",
                    "allow.auto.create.topics": False,
                    "client.id": "message-list",
                }
            )
        )
        next_look = 0.0
        try:
            while not stop.is_set():
                if time.monotonic() >= next_look:
                    self._assign_new_partitions(consumer)
                    every = METADATA_EVERY_S if self._partitions else WAITING_LOOK_S
                    next_look = time.monotonic() + every
                if not self._partitions:
                    stop.wait(WAITING_LOOK_S)
                    continue
                try:
                    batch = consumer.consume(POLL_BATCH, timeout=0.5)
                except KafkaException as err:
                    self.status = f"Kafka error: {err.args[0]}; retrying"
                    stop.wait(1.0)
                    continue
                for message in batch:
                    self._take(message)
        finally:
            consumer.close()

    def _assign_new_partitions(self, consumer: Consumer) -> None:
        try:
            metadata = consumer.list_topics(self.topic, timeout=5)
        except KafkaException as err:
            self.status = f"cannot reach Kafka: {err.args[0]}"
            return
        found = metadata.topics.get(self.topic)
        if found is None or found.error is not None or not found.partitions:
            self.status = f"waiting for topic {self.topic} (it appears with the connector's first event)"
            return
        new = [p for p in sorted(found.partitions) if p not in self._partitions]
        starts = []
        for partition in new:
            try:
                low, high = consumer.get_watermark_offsets(
                    TopicPartition(self.topic, partition), timeout=5, cached=False
                )
            except KafkaException as err:
                self.status = f"cannot read partition {partition}'s offsets: {err.args[0]}"
                return
            starts.append(TopicPartition(self.topic, partition, max(low, high - self._backlog)))
        if starts:
            consumer.incremental_assign(starts)
            self._partitions.update(tp.partition for tp in starts)
            log.info("reading %s from %s", self.topic, {tp.partition: tp.offset for tp in starts})
        count = len(self._partitions)
        self.status = f"reading {self.topic} ({count} partition{'s' * (count != 1)})"

    def _take(self, message: Message) -> None:
        error = message.error()
        if error is not None:
            if error.code() != KafkaError._PARTITION_EOF:
                self.status = f"Kafka error: {error.str()}"
                log.warning("consume error: %s", error.str())
            return
        kind, timestamp = message.timestamp()
        key, value = message.key(), message.value()
        given = message.headers() or []
        pairs = given.items() if isinstance(given, dict) else given
        headers = tuple((name, raw.encode() if isinstance(raw, str) else raw) for name, raw in pairs)
        received = Received(
            topic=message.topic() or self.topic,
            partition=message.partition() or 0,
            offset=message.offset() or 0,
            timestamp_ms=None if kind == TIMESTAMP_NOT_AVAILABLE else timestamp,
            key=key if isinstance(key, bytes) else None,
            value=value if isinstance(value, bytes) else None,
            headers=headers,
        )
        try:
            self._handle(received)
        except Exception:
            # One record the page cannot show must not stop the ones after it.
            log.exception(
                "cannot show the record at partition %s offset %s", received.partition, received.offset
            )
