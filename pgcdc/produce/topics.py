"""Create the connector's topics when missing, with the configured partitions and replication factor."""

from __future__ import annotations

import logging
from typing import cast

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient
from confluent_kafka.cimpl import NewTopic

from pgcdc.errors import SinkError
from pgcdc.produce.client import KafkaSettings

log = logging.getLogger(__name__)


class TopicAdmin:
    """Knows which topics exist; creates the others on first use."""

    def __init__(self, *, kafka: KafkaSettings, partitions: int, replication_factor: int) -> None:
        self._admin = AdminClient(cast("dict[str, str | int | float | bool]", kafka.config()))
        self._partitions = partitions
        self._replication_factor = replication_factor
        self._known: set[str] = set()

    def check_reachable(self, timeout_s: float) -> None:
        """Raise a retriable SinkError when no broker answers within the timeout."""
        try:
            metadata = self._admin.list_topics(timeout=timeout_s)
        except KafkaException as err:
            raise SinkError(f"Kafka is unreachable: {err.args[0].str() if err.args else err}") from err
        self._known.update(metadata.topics)

    def ensure(self, topic: str, *, compacted: bool = False) -> None:
        """``compacted``: one partition, cleanup.policy=compact (an offsets topic, as Kafka Connect's)."""
        if topic in self._known:
            return
        new = (
            NewTopic(topic, 1, self._replication_factor, config={"cleanup.policy": "compact"})
            if compacted
            else NewTopic(topic, num_partitions=self._partitions, replication_factor=self._replication_factor)
        )
        futures = self._admin.create_topics([new], operation_timeout=30)
        try:
            futures[topic].result(timeout=60)
            log.info("created topic %s", topic)
        except KafkaException as err:
            error = err.args[0] if err.args else None
            if not (isinstance(error, KafkaError) and error.code() == KafkaError.TOPIC_ALREADY_EXISTS):
                raise SinkError(f"cannot create topic {topic}: {error.str() if error else err}") from err
        self._known.add(topic)
