"""The worker's own settings: its group, its Kafka, and the timings that bound failover and freshness."""

from __future__ import annotations

import re
from dataclasses import dataclass

from pgcdc.errors import ConfigError
from pgcdc.produce.client import KafkaSettings


@dataclass(frozen=True, slots=True)
class WorkerSettings:
    """Everything a worker needs besides the connectors, which it reads from Kafka."""

    group_id: str
    """Workers with the same group share connectors; it names the three state topics."""
    kafka: KafkaSettings
    worker_id: str
    """How this worker names itself in statuses: Kafka Connect's ``host:port`` of the REST listener."""
    standby_poll_s: float = 1.0
    """Seconds between a standby worker's looks at whether a connector's slot is free. Failover takes about
    this long plus the connector's start (well under a second), so it is the knob for failover time; each look
    is one short query per connector per worker."""
    status_interval_s: float = 5.0
    """Seconds between status rewrites by the worker running a connector: how fresh lag and counts are in
    the API of other workers, and how soon a stale status from a race is overwritten."""
    lag_interval_s: float = 2.0
    """Seconds between measurements of the WAL each slot retains (one query per connector per worker)."""
    tick_s: float = 0.5
    """Seconds between samples of each running connector's status; bounds the error of milliseconds behind
    source and the delay before a state change is written."""
    retry_initial_s: float = 1.0
    """First wait after a retriable failure; doubled on each further failure, up to ``retry_max_s``."""
    retry_max_s: float = 60.0
    """Longest wait between retries of a failing connector."""
    topic_replication_factor: int = -1
    """Replication factor of the state topics when the worker creates them; -1 takes the broker's default."""
    write_timeout_s: float = 30.0
    """How long an API write (create, pause, ...) waits for Kafka before it fails with 503."""

    @property
    def configs_topic(self) -> str:
        return f"{self.kafka.topic_prefix}connect-configs-{self.group_id}"

    @property
    def offsets_topic(self) -> str:
        return f"{self.kafka.topic_prefix}connect-offsets-{self.group_id}"

    @property
    def status_topic(self) -> str:
        return f"{self.kafka.topic_prefix}connect-status-{self.group_id}"


def check_group_id(group_id: str) -> str:
    """A group id must make valid topic names."""
    if not re.fullmatch(r"[A-Za-z0-9._-]{1,200}", group_id):
        raise ConfigError(f"group id {group_id!r} may contain only letters, digits, '.', '_' and '-'")
    return group_id
