"""Messages per topic and the rate they arrive at, from partition offsets sampled twice (``pgcdc topics``)."""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass

from confluent_kafka import Consumer, KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient, OffsetSpec  # type: ignore[attr-defined]

from pgcdc.errors import SinkError
from pgcdc.produce.client import KafkaSettings

# Rates need two samples at least this far apart (seconds); a first request waits this long for its second.
MIN_WINDOW_S = 1.0
# An older sample says little about the rate now (seconds).
MAX_WINDOW_S = 60.0
TIMEOUT_S = 10.0
# Newest records read per topic to estimate bytes per second, and how long that may take (seconds).
SIZE_SAMPLE = 20
SIZE_TIMEOUT_S = 2.0


@dataclass(frozen=True, slots=True)
class TopicStat:
    name: str
    partitions: int
    messages: int
    messages_per_sec: float | None
    bytes_per_sec: float | None
    """Estimated: messages per second times the mean size (key and value) of the newest records."""


@dataclass(frozen=True, slots=True)
class _Sample:
    at: float
    partitions: dict[str, int]
    earliest: dict[str, int]
    latest: dict[str, int]


class TopicSampler:
    """Keeps the previous sample, so that a request every few seconds gets its rate at once."""

    def __init__(self, *, admin: AdminClient, kafka: KafkaSettings) -> None:
        self._admin = admin
        self._kafka = kafka
        self._lock = threading.Lock()
        self._previous: _Sample | None = None

    def _sample(self) -> _Sample:
        try:
            metadata = self._admin.list_topics(timeout=TIMEOUT_S)
            partitions = [
                TopicPartition(name, p)
                for name, topic in metadata.topics.items()
                if not name.startswith("__") and topic.error is None
                for p in topic.partitions
            ]
            counts = {
                name: len(topic.partitions)
                for name, topic in metadata.topics.items()
                if not name.startswith("__") and topic.error is None
            }
            earliest: dict[str, int] = dict.fromkeys(counts, 0)
            latest: dict[str, int] = dict.fromkeys(counts, 0)
            if partitions:
                specs = ((OffsetSpec.earliest(), earliest), (OffsetSpec.latest(), latest))  # type: ignore[no-untyped-call]
                for spec, totals in specs:
                    futures = self._admin.list_offsets(
                        {tp: spec for tp in partitions}, request_timeout=TIMEOUT_S
                    )
                    for tp, future in futures.items():
                        totals[tp.topic] += max(0, future.result().offset)
        except KafkaException as err:
            raise SinkError(f"cannot read topic offsets: {err}") from err
        return _Sample(at=time.monotonic(), partitions=counts, earliest=earliest, latest=latest)

    def stats(self) -> tuple[float, list[TopicStat]]:
        """(window in seconds, one entry per topic, sorted by name)."""
        with self._lock:
            now = self._sample()
            before = self._previous
            if before is None or not MIN_WINDOW_S <= now.at - before.at <= MAX_WINDOW_S:
                before = now
                time.sleep(MIN_WINDOW_S)
                now = self._sample()
            self._previous = now
        window = now.at - before.at
        rates = {
            name: max(0, now.latest[name] - before.latest[name]) / window
            for name in now.partitions
            if name in before.latest and window > 0
        }
        sizes = self._mean_record_sizes([name for name, rate in rates.items() if rate > 0], now)
        stats = []
        for name in sorted(now.partitions):
            rate = rates.get(name)
            size = sizes.get(name)
            stats.append(
                TopicStat(
                    name=name,
                    partitions=now.partitions[name],
                    messages=max(0, now.latest[name] - now.earliest[name]),
                    messages_per_sec=rate,
                    bytes_per_sec=0.0
                    if rate == 0
                    else rate * size
                    if rate is not None and size is not None
                    else None,
                )
            )
        return window, stats

    def _mean_record_sizes(self, topics: list[str], sample: _Sample) -> dict[str, float]:
        """Mean key + value size of up to SIZE_SAMPLE newest records of each topic's first partition."""
        if not topics:
            return {}
        consumer = Consumer(
            self._kafka.config(
                **{
                    "group.id": f"pgcdc-topic-sizes-{uuid.uuid4().hex}",
                    "enable.auto.commit": False,
                    "log.connection.close": False,
                }
            )
        )
        totals: dict[str, list[int]] = {}
        try:
            assignments = []
            for topic in topics:
                end = consumer.get_watermark_offsets(TopicPartition(topic, 0), timeout=TIMEOUT_S)[1]
                if end > 0:
                    assignments.append(TopicPartition(topic, 0, max(0, end - SIZE_SAMPLE)))
            consumer.assign(assignments)
            deadline = time.monotonic() + SIZE_TIMEOUT_S
            wanted = len(assignments) * SIZE_SAMPLE
            while time.monotonic() < deadline and sum(len(v) for v in totals.values()) < wanted:
                for message in consumer.consume(500, timeout=0.2):
                    read_from = message.topic()
                    if message.error() is None and read_from is not None:
                        size = len(message.key() or b"") + len(message.value() or b"")
                        totals.setdefault(read_from, []).append(size)
        except KafkaException:
            return {}
        finally:
            consumer.close()
        return {topic: sum(sizes) / len(sizes) for topic, sizes in totals.items() if sizes}
