"""Create the connector's topics when missing, with the configured partitions and replication factor."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import cast

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient
from confluent_kafka.cimpl import NewTopic

from pgcdc.errors import SinkError
from pgcdc.produce.client import KafkaSettings
from pgcdc.produce.login import cluster_metadata

log = logging.getLogger(__name__)


def admin_client(kafka: KafkaSettings) -> AdminClient:
    """An admin client of ``kafka``, with the user's client settings."""
    return AdminClient(cast("dict[str, str | int | float | bool]", kafka.config()))


def close_admin_client(client: AdminClient) -> None:
    """Stop ``client``'s threads and connections: AdminClient has no close(), leaving its context destroys it."""
    client.__exit__(None, None, None)


class TopicAdmin:
    """Knows which topics exist; creates the others on first use."""

    def __init__(
        self, *, kafka: KafkaSettings, partitions: int, replication_factor: int, known: Iterable[str] = ()
    ) -> None:
        """``known``: topics another client already made sure exist."""
        self._kafka = kafka
        self._client: AdminClient | None = None
        self._partitions = partitions
        self._replication_factor = replication_factor
        self._known: set[str] = set(known)

    def _admin(self) -> AdminClient:
        # Made on first use: a client made before check_reachable would keep reconnecting with credentials the
        # broker refuses, printing librdkafka's raw log lines until the connector stops.
        if self._client is None:
            self._client = admin_client(self._kafka)
        return self._client

    def check_reachable(self, timeout_s: float) -> None:
        """Raise a retriable SinkError when no broker answers within the timeout, LoginRefusedError when the
        broker refuses the credentials."""
        self._known.update(cluster_metadata(self._kafka, timeout_s=timeout_s).topics)
        # The login is good: the client connects in the background while the connector prepares PostgreSQL.
        self._admin()

    def ensure(self, topic: str, *, compacted: bool = False) -> None:
        """``compacted``: one partition, cleanup.policy=compact (an offsets topic, as Kafka Connect's)."""
        if topic in self._known:
            return
        new = (
            NewTopic(topic, 1, self._replication_factor, config={"cleanup.policy": "compact"})
            if compacted
            else NewTopic(topic, num_partitions=self._partitions, replication_factor=self._replication_factor)
        )
        futures = self._admin().create_topics([new], operation_timeout=30)
        try:
            futures[topic].result(timeout=60)
            log.info("created topic %s", topic)
        except KafkaException as err:
            error = err.args[0] if err.args else None
            if not (isinstance(error, KafkaError) and error.code() == KafkaError.TOPIC_ALREADY_EXISTS):
                raise SinkError(f"cannot create topic {topic}: {error.str() if error else err}") from err
        self._known.add(topic)

    def close(self) -> None:
        """Stop the admin client's threads and connections, if it was made."""
        if self._client is not None:
            client, self._client = self._client, None
            close_admin_client(client)
