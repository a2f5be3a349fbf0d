"""errors.tolerance=all for records Kafka refuses as too large: the broker's refusal (a delivery report) is
dropped or dead-lettered like the producer's; other errors still fail; config errors name the key."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from confluent_kafka import KafkaError

from pgcdc.config import ErrorTolerance, parse_config
from pgcdc.errors import ConfigError, SinkError
from pgcdc.events.change import ChangeEvent, SourcePosition
from pgcdc.lsn import Lsn
from pgcdc.pipeline import ConnectorStatus
from pgcdc.produce.refused import RefusedRecords

KEY = b'{"schema":{},"payload":{"id":7}}'
EVENT = ChangeEvent("m", None, None, None, None, SourcePosition(1, 5_000_000, None), Lsn(0x1_0000_0010), None)


def records(
    dead_letter: str | None, produced: list[tuple[Any, ...]], *, now_fails: bool = False
) -> tuple[RefusedRecords, ConnectorStatus]:
    status = ConnectorStatus()

    def produce(*args: Any) -> None:
        produced.append(("wait", *args))

    def produce_now(*args: Any) -> None:
        if now_fails:
            raise SinkError("buffer full")
        produced.append(("now", *args))

    refused = RefusedRecords(
        errors=ErrorTolerance(tolerate=True, dead_letter_topic=dead_letter, context_headers=False),
        connector="c1",
        dead_letter_topic=dead_letter,
        produce=produce,
        produce_now=produce_now,
        status=status,
    )
    return refused, status


def test_a_broker_refusal_is_dropped_and_settles_the_ack(caplog: pytest.LogCaptureFixture) -> None:
    produced: list[tuple[Any, ...]] = []
    refused, status = records(None, produced)
    acks: list[Any] = []
    delivered = refused.watch(lambda e, m: acks.append(e), EVENT, "p.t", KEY, 5000, None)
    delivered(KafkaError(KafkaError.MSG_SIZE_TOO_LARGE), None)
    assert acks == [None] and produced == [] and status.records_skipped == 1
    assert (
        'skipped the record for key {"id":7} in topic p.t is 5000 bytes, over the broker\'s limit'
        in caplog.text
    )


def test_a_broker_refusal_is_dead_lettered_without_waiting() -> None:
    produced: list[tuple[Any, ...]] = []
    refused, status = records("dlq", produced)
    acks: list[Any] = []
    delivered = refused.watch(lambda e, m: acks.append(e), EVENT, "p.t", KEY, 5000, None)
    delivered(KafkaError(KafkaError.MSG_SIZE_TOO_LARGE), None)
    ((how, topic, key, value, callback, headers),) = produced
    assert (how, topic, key, headers) == ("now", "dlq", KEY, [])
    assert orjson.loads(value) == {
        "error": "record too large",
        "topic": "p.t",
        "table": None,
        "op": "m",
        "lsn": "1/10",
        "ts_ms": 5000,
        "size_bytes": 5000,
        "limit": "the broker's limit",
        "connector": "c1",
    }
    assert acks == [] and status.records_dead_lettered == 1
    callback(None, None)  # the dead-letter record's own delivery settles the row
    assert acks == [None]


def test_other_errors_and_a_failed_dead_letter_still_fail_the_delivery() -> None:
    refused, _ = records("dlq", [], now_fails=True)
    acks: list[Any] = []
    delivered = refused.watch(lambda e, m: acks.append(e), EVENT, "p.t", KEY, 5000, None)
    delivered(KafkaError(KafkaError._MSG_TIMED_OUT), None)
    delivered(KafkaError(KafkaError.MSG_SIZE_TOO_LARGE), None)
    assert [e.code() for e in acks] == [KafkaError._MSG_TIMED_OUT, KafkaError.MSG_SIZE_TOO_LARGE]


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
