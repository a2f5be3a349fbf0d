"""Heroku-style ``--source`` and ``--store``: a URL, or the name of a variable that holds one."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import cast

from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient

from pgcdc.errors import ConfigError
from pgcdc.produce.client import kafka_settings

# Seconds to ask the --store Kafka for its cluster id; unreachable from here is not a reason to refuse.
CLUSTER_ID_TIMEOUT_S = 10.0


def resolve_url(value: str, *, what: str, schemes: tuple[str, ...] | None, env: Mapping[str, str]) -> str:
    """``value`` when it is an address, else the variable it names (DATABASE_URL, KAFKA_URL)."""
    if re.fullmatch(r"[A-Z][A-Z0-9_]*", value):
        found = env.get(value)
        if not found:
            raise ConfigError(
                f"{what} {value}: no such environment variable is set; give the URL itself or set it"
            )
        value = found
    if schemes is not None and value.split("://", 1)[0] not in schemes:
        raise ConfigError(f"{what} must be a {schemes[0]}:// URL or the name of a variable holding one")
    return value


def kafka_cluster_id(url: str) -> str | None:
    """The cluster id of the Kafka at ``url``; None when it does not answer in time."""
    settings = kafka_settings(url)
    admin = AdminClient(cast(dict[str, str | int | float | bool], settings.config()))
    try:
        cluster: str | None = admin.list_topics(timeout=CLUSTER_ID_TIMEOUT_S).cluster_id
    except KafkaException:
        return None
    return cluster
