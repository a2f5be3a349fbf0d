"""Records Kafka refuses as too large: the producer's refusal is dead-lettered under errors.tolerance=all; the
broker's (a delivery report, for a whole batch) always stops the connector; the settings."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from confluent_kafka import KafkaError

from pgcdc.ack.tracker import AckTracker
from pgcdc.config import ErrorTolerance, parse_config
from pgcdc.errors import ConfigError, SinkError
from pgcdc.events.change import ChangeEvent, SourcePosition
from pgcdc.lsn import Lsn
from pgcdc.produce.refused import RecordTooLargeError, Refusal, RefusedRecords
from pgcdc.status import ConnectorStatus

KEY = b'{"schema":{},"payload":{"id":7}}'
EVENT = ChangeEvent("m", None, None, None, None, SourcePosition(1, 5_000_000, None), Lsn(0x1_0000_0010), None)


class DeliveredMessage:
    """What librdkafka hands a delivery callback, as far as pgcdc reads it."""

    def __init__(self, topic: str, key: bytes, value: bytes) -> None:
        self._topic, self._key, self._value = topic, key, value

    def topic(self) -> str:
        return self._topic

    def key(self) -> bytes:
        return self._key

    def value(self) -> bytes:
        return self._value


def test_a_record_the_producer_refuses_is_dead_lettered_with_its_key_and_an_error_record() -> None:
    produced: list[tuple[Any, ...]] = []
    status = ConnectorStatus()
    refused = RefusedRecords(
        errors=ErrorTolerance(tolerate=True, dead_letter_topic="dlq", context_headers=False),
        connector="c1",
        dead_letter_topic="dlq",
        produce=lambda *args: produced.append(args),
        status=status,
    )
    acks: list[Any] = []
    limit = "the producer's message.max.bytes (1000000)"
    refused.handle(Refusal("p.t", KEY, 5000, limit).about(EVENT), lambda e, m: acks.append(e), None)
    ((topic, key, value, callback, headers),) = produced
    assert (topic, key, headers) == ("dlq", KEY, {})
    assert orjson.loads(value) == {
        "error": "record too large",
        "topic": "p.t",
        "table": None,
        "op": "m",
        "lsn": "1/10",
        "ts_ms": 5000,
        "size_bytes": 5000,
        "limit": limit,
        "connector": "c1",
    }
    assert acks == [] and (status.records_skipped, status.records_dead_lettered) == (1, 1)
    callback(None, None)  # the dead-letter record's own delivery settles the row
    assert acks == [None]


def test_a_broker_refusal_stops_unretried_with_an_error_naming_key_size_and_the_fix() -> None:
    """librdkafka does not split a batch the broker refuses, so the refusal cannot be skipped, under any
    errors.tolerance: the records that fit would be lost with it."""
    tracker = AckTracker()
    tracker.fail(KafkaError(KafkaError.MSG_SIZE_TOO_LARGE), DeliveredMessage("p.t", KEY, b"x" * 5000))
    with pytest.raises(RecordTooLargeError) as refused:
        tracker.raise_if_failed()
    assert not refused.value.retriable
    message = str(refused.value)
    assert message.startswith(
        'Kafka refused the record for key {"id":7} in topic p.t (5000 bytes) and the batch it was sent in'
    )
    assert "cannot be skipped" in message
    assert "Keep PGCDC_KAFKA_MESSAGE_MAX_BYTES under the topic's max.message.bytes" in message
    assert message.endswith("nothing after this row was confirmed")


def test_a_delivery_refused_as_too_large_is_not_retried_one_timed_out_is() -> None:
    tracker = AckTracker()
    tracker.fail(KafkaError(KafkaError.MSG_SIZE_TOO_LARGE), None)
    with pytest.raises(SinkError) as too_large:
        tracker.raise_if_failed()
    timed_out = AckTracker()
    timed_out.fail(KafkaError(KafkaError._MSG_TIMED_OUT), None)
    with pytest.raises(SinkError) as waited:
        timed_out.raise_if_failed()
    assert (too_large.value.retriable, waited.value.retriable) == (False, True)


BASE = {"topic.prefix": "p", "database.user": "u", "database.dbname": "d"}


def test_the_settings() -> None:
    assert parse_config(BASE, env={}).errors == ErrorTolerance(False, None, False)
    errors = parse_config(
        {
            **BASE,
            "errors.tolerance": "all",
            "errors.deadletterqueue.topic.name": "dlq.p",
            "errors.deadletterqueue.context.headers.enable": "true",
            "errors.log.enable": "true",
        },
        env={},
    ).errors
    assert errors == ErrorTolerance(True, "dlq.p", True)
    with pytest.raises(ConfigError, match=r"errors\.tolerance='some' is not one of: none, all"):
        parse_config({**BASE, "errors.tolerance": "some"}, env={})
    with pytest.raises(ConfigError, match=r"errors\.deadletterqueue\.topic\.name='no/slash'"):
        parse_config({**BASE, "errors.deadletterqueue.topic.name": "no/slash"}, env={})
