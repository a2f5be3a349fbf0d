"""Kafka client settings from ``KAFKA_URL`` in plain (``host:port,...``) or Heroku form (``kafka+ssl://``)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from pgcdc.errors import ConfigError

_PEM_SETTINGS = (
    ("KAFKA_TRUSTED_CERT", "ssl.ca.pem"),
    ("KAFKA_CLIENT_CERT", "ssl.certificate.pem"),
    ("KAFKA_CLIENT_CERT_KEY", "ssl.key.pem"),
)
# Any librdkafka property can be given as PGCDC_KAFKA_<NAME>, dots as underscores (PGCDC_KAFKA_SASL_MECHANISM).
_OVERRIDE_PREFIX = "PGCDC_KAFKA_"


@dataclass(frozen=True, slots=True)
class KafkaSettings:
    """How to reach the cluster; ``client_config`` holds secrets (PEM keys, SASL passwords), never print it."""

    bootstrap_servers: str
    topic_prefix: str = ""
    """Heroku's ``KAFKA_PREFIX`` for multi-tenant plans: prepended to every topic and group name."""
    client_config: Mapping[str, str] = field(default_factory=dict, repr=False)

    def config(self, **extra: object) -> dict[str, object]:
        merged: dict[str, object] = {"bootstrap.servers": self.bootstrap_servers}
        merged.update(self.client_config)
        merged.update(extra)
        return merged

    def describe(self) -> str:
        return self.bootstrap_servers


def kafka_settings(url: str | None = None, *, env: Mapping[str, str] | None = None) -> KafkaSettings:
    """Settings from an explicit URL or ``$KAFKA_URL``; raises ConfigError when neither says where Kafka is."""
    env = os.environ if env is None else env
    url = url or env.get("KAFKA_URL")
    if not url:
        raise ConfigError(
            "no Kafka given: set KAFKA_URL (host:port[,host:port] or kafka+ssl://host:port,...)"
        )
    hosts: list[str] = []
    uses_ssl = False
    for item in (p.strip() for p in url.split(",") if p.strip()):
        if "://" in item:
            parts = urlsplit(item)
            if parts.scheme not in ("kafka", "kafka+ssl", "ssl", "plaintext", "kafka+plain"):
                raise ConfigError(f"KAFKA_URL entry {item!r}: scheme must be kafka:// or kafka+ssl://")
            uses_ssl = uses_ssl or parts.scheme in ("kafka+ssl", "ssl")
            if not parts.hostname or not parts.port:
                raise ConfigError(f"KAFKA_URL entry {item!r} lacks host:port")
            hosts.append(f"{parts.hostname}:{parts.port}")
        else:
            host, sep, port = item.rpartition(":")
            if not sep or not host or not port.isdigit():
                raise ConfigError(f"KAFKA_URL entry {item!r} is not host:port")
            hosts.append(item)
    client: dict[str, str] = {}
    for variable, prop in _PEM_SETTINGS:
        if env.get(variable):
            client[prop] = env[variable]
    if uses_ssl:
        client["security.protocol"] = "ssl"
        if "ssl.ca.pem" in client:
            # Heroku's broker certificates are issued by the cluster's own CA for names that do not match the
            # advertised hosts: the trusted CA pins them, and hostname checks would always fail.
            client["ssl.endpoint.identification.algorithm"] = "none"
    for variable, value in env.items():
        if variable.startswith(_OVERRIDE_PREFIX):
            client[variable[len(_OVERRIDE_PREFIX) :].lower().replace("_", ".")] = value
    return KafkaSettings(
        bootstrap_servers=",".join(hosts), topic_prefix=env.get("KAFKA_PREFIX", ""), client_config=client
    )
