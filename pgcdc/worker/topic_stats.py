"""Messages per topic and the rate they arrive at, from partition offsets sampled twice (``pgcdc topics``)."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from confluent_kafka import KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient, OffsetSpec  # type: ignore[attr-defined]

from pgcdc.errors import SinkError

# Rates need two samples at least this far apart (seconds); a first request waits this long for its second.
MIN_WINDOW_S = 1.0
# An older sample says little about the rate now (seconds).
MAX_WINDOW_S = 60.0
TIMEOUT_S = 10.0


@dataclass(frozen=True, slots=True)
class TopicStat:
    name: str
    partitions: int
    messages: int
    messages_per_sec: float | None


@dataclass(frozen=True, slots=True)
class _Sample:
    at: float
    partitions: dict[str, int]
    earliest: dict[str, int]
    latest: dict[str, int]


class TopicSampler:
    """Keeps the previous sample, so that a request every few seconds gets its rate at once."""

    def __init__(self, *, admin: AdminClient) -> None:
        self._admin = admin
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
        stats = []
        for name in sorted(now.partitions):
            rate = None
            if name in before.latest and window > 0:
                rate = max(0, now.latest[name] - before.latest[name]) / window
            stats.append(
                TopicStat(
                    name=name,
                    partitions=now.partitions[name],
                    messages=max(0, now.latest[name] - now.earliest[name]),
                    messages_per_sec=rate,
                )
            )
        return window, stats
