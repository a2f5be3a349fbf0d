"""The first contact with Kafka: a broker that answers, one that refuses the credentials, or none at all.

librdkafka reports a refused SASL login only to the client's ``error_cb`` (a metadata request just times out
with ``Broker transport failure``) and keeps reconnecting, so a wrong password looked like a broker that is
down. This check listens to ``error_cb`` and raises LoginRefusedError, which Kafka Connect's rule (an
authentication failure is not retriable) turns into a stop until someone fixes the credentials. Its
librdkafka log lines go to the ``pgcdc.kafka.librdkafka`` logger instead of raw ``%3|...`` lines on stderr.
"""

from __future__ import annotations

import logging
import re
import time
from typing import TYPE_CHECKING, cast

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient

from pgcdc.errors import LoginRefusedError, SinkError
from pgcdc.produce.client import KafkaSettings

if TYPE_CHECKING:
    # Not in confluent_kafka.admin's __all__; the class list_topics returns.
    from confluent_kafka.admin._metadata import ClusterMetadata

librdkafka_log = logging.getLogger("pgcdc.kafka.librdkafka")

# A refused SCRAM login is reported within about 100 ms of connecting; waiting in slices this long notices it
# without waiting out the whole timeout.
_SLICE_S = 0.25
# librdkafka's own decoration around the broker's reason: "<broker>: SASL authentication error: <reason>
# (after 104ms in state AUTH_REQ)".
_BROKER_PREFIX = re.compile(r"^\S+://\S+: |^\S+:\d+/\S+: ")
_SASL_PREFIX = "SASL authentication error: "
_TIMING_SUFFIX = re.compile(r"\s*\(after \d+ms in state \w+\)\s*$")


class _LoginWatch:
    """The client's ``error_cb``: keeps the first authentication failure librdkafka reports."""

    def __init__(self) -> None:
        self.refused: KafkaError | None = None

    def __call__(self, error: KafkaError) -> None:
        if error.code() in (KafkaError._AUTHENTICATION, KafkaError.SASL_AUTHENTICATION_FAILED):
            if self.refused is None:
                self.refused = error
        else:
            librdkafka_log.debug("Kafka client error: %s", error.str())


def cluster_metadata(kafka: KafkaSettings, *, timeout_s: float) -> ClusterMetadata:
    """The cluster's metadata; LoginRefusedError (not retriable) when the broker refuses the client's
    credentials, a retriable SinkError when no broker answers within ``timeout_s`` seconds."""
    watch = _LoginWatch()
    # Closed on the way out, an error's included: an error's traceback would keep it reconnecting.
    with AdminClient(
        cast(
            "dict[str, str | int | float | bool]",
            kafka.config(error_cb=watch, logger=librdkafka_log, **{"log.connection.close": False}),
        )
    ) as admin:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                metadata = admin.list_topics(timeout=max(0.01, min(_SLICE_S, deadline - time.monotonic())))
            except KafkaException as err:
                failure = err
            else:
                admin.poll(0)
                return metadata
            # Serves error_cb and the log lines, which wait in the client's queue until polled.
            admin.poll(0)
            if watch.refused is not None:
                raise login_refused(kafka, watch.refused) from failure
            if time.monotonic() >= deadline:
                error = failure.args[0] if failure.args else None
                reason = error.str() if isinstance(error, KafkaError) else str(failure)
                raise SinkError(f"Kafka at {kafka.describe()} is unreachable: {reason}") from failure


def login_refused(kafka: KafkaSettings, error: KafkaError) -> LoginRefusedError:
    """What the broker refused and which settings to check; never the password."""
    settings = kafka.client_config
    reason = _TIMING_SUFFIX.sub("", _BROKER_PREFIX.sub("", error.str()))
    reason = reason.removeprefix(_SASL_PREFIX)
    password = settings.get("sasl.password")
    if password:
        reason = reason.replace(password, "********")
    where = f"Kafka at {kafka.describe()}"
    if "sasl" not in settings.get("security.protocol", "").lower():
        return LoginRefusedError(
            f"{where} refused to authenticate the client: {reason}. Check PGCDC_KAFKA_SECURITY_PROTOCOL and the "
            "credentials it needs (KAFKA_CLIENT_CERT / KAFKA_CLIENT_CERT_KEY, or PGCDC_KAFKA_SASL_*)"
        )
    user = settings.get("sasl.username")
    who = f"user {user!r}" if user else "a client without PGCDC_KAFKA_SASL_USERNAME"
    # librdkafka's default mechanism.
    mechanism = settings.get("sasl.mechanism") or settings.get("sasl.mechanisms") or "GSSAPI"
    return LoginRefusedError(
        f"{where} refused the SASL login of {who} with mechanism {mechanism}: {reason}. Check "
        "PGCDC_KAFKA_SASL_USERNAME / PGCDC_KAFKA_SASL_PASSWORD, and that the broker offers that mechanism "
        "(PGCDC_KAFKA_SASL_MECHANISM)"
    )
