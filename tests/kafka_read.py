"""Reading Kafka topics back in tests: from the beginning, by partition assignment, no consumer group."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson
from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, KafkaException, Message, TopicPartition
from confluent_kafka.admin import AdminClient

_BATCH = 500
_SHOWN_ON_FAILURE = 20


@dataclass(frozen=True)
class Record:
    """One record as the broker stores it."""

    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes | None], ...]
    partition: int
    offset: int
    timestamp: int
    """Milliseconds since the epoch, as set by the producer or the broker."""

    @property
    def key_json(self) -> Any:
        return None if self.key is None else orjson.loads(self.key)

    @property
    def value_json(self) -> Any:
        """The parsed value; None for a tombstone."""
        return None if self.value is None else orjson.loads(self.value)

    @classmethod
    def from_message(cls, msg: Message) -> Record:
        key, value, partition, offset = msg.key(), msg.value(), msg.partition(), msg.offset()
        # Consumed messages always carry a partition and offset, and our topics hold bytes.
        assert partition is not None and offset is not None
        assert not isinstance(key, str) and not isinstance(value, str)
        raw = msg.headers() or []
        pairs = raw.items() if isinstance(raw, dict) else raw
        return cls(
            key=key,
            value=value,
            headers=tuple((name, _as_bytes(data)) for name, data in pairs),
            partition=partition,
            offset=offset,
            timestamp=msg.timestamp()[1],
        )


def _as_bytes(data: str | bytes | None) -> bytes | None:
    return data.encode() if isinstance(data, str) else data


def read_topic(
    bootstrap: str, topic: str, *, until: Callable[[list[Record]], bool], timeout: float = 30
) -> list[Record]:
    """Read ``topic`` from offset 0 of every partition until ``until(records)`` holds.

    Waits for the topic to exist. Records of one partition keep their order; partitions interleave.
    Raises AssertionError showing what was read when ``timeout`` seconds pass first.
    """
    deadline = time.monotonic() + timeout
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            # Required by librdkafka even though assign() never joins the group.
            "group.id": f"pgcdc-test-read-{uuid.uuid4().hex}",
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
            "isolation.level": "read_committed",
        }
    )
    records: list[Record] = []
    try:
        partitions = _wait_for_partitions(consumer, topic, deadline)
        consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in partitions])
        while True:
            remaining = deadline - time.monotonic()
            for msg in consumer.consume(_BATCH, timeout=max(0.0, min(0.5, remaining))):
                error = msg.error()
                if error is None:
                    records.append(Record.from_message(msg))
                elif not error.retriable() and error.code() != KafkaError._PARTITION_EOF:
                    raise KafkaException(error)
            if until(records):
                return records
            if remaining <= 0:
                raise AssertionError(_describe(topic, timeout, records))
    finally:
        consumer.close()


def _wait_for_partitions(consumer: Consumer, topic: str, deadline: float) -> list[int]:
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AssertionError(f"topic {topic!r} does not exist (waited until the deadline)")
        found = consumer.list_topics(topic, timeout=max(0.1, min(2.0, remaining))).topics.get(topic)
        if found is not None and found.error is None and found.partitions:
            return sorted(found.partitions)
        # Metadata answers at once for a missing topic; pause briefly rather than spin.
        time.sleep(min(0.1, max(0.0, remaining)))


def _describe(topic: str, timeout: float, records: list[Record]) -> str:
    shown = "\n".join(
        f"  p{r.partition}@{r.offset} key={_short(r.key)} value={_short(r.value)}"
        for r in records[:_SHOWN_ON_FAILURE]
    )
    more = f"\n  ... and {len(records) - _SHOWN_ON_FAILURE} more" if len(records) > _SHOWN_ON_FAILURE else ""
    return (
        f"read_topic({topic!r}): condition unmet after {timeout}s; got {len(records)} records:\n{shown}{more}"
    )


def _short(data: bytes | None, limit: int = 200) -> str:
    if data is None:
        return "None"
    text = data.decode("utf-8", "replace")
    return text if len(text) <= limit else text[:limit] + "..."


def topic_names(bootstrap: str, *, timeout: float = 10) -> set[str]:
    """Names of the broker's topics, without internal ones (leading ``__``)."""
    metadata = AdminClient({"bootstrap.servers": bootstrap}).list_topics(timeout=timeout)
    return {name for name in metadata.topics if not name.startswith("__")}
