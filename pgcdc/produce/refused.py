"""Records Kafka refuses as too large, under ``errors.tolerance``: stop, or log and drop, or dead-letter.

The same row would be refused on every retry, so retrying never helps. ``none`` (the default) stops the
connector without confirming the row; ``all`` logs it and lets the position move past it, optionally writing
its key and a small error record to ``errors.deadletterqueue.topic.name`` (never the value, which is what did
not fit). Kafka refuses in two places: the producer before sending (over its ``message.max.bytes``), raised
from produce(), a record alone; the broker (over its or the topic's limit), reported to the delivery callback,
for a whole batch. Only the producer's refusals can be tolerated: librdkafka does not split a batch the broker
refuses, so its records that fit are refused with the one that does not, and skipping them would lose rows.
A broker's refusal therefore always stops the connector (``broker_refusal``).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import orjson
from confluent_kafka import KafkaError

from pgcdc.config import ErrorTolerance
from pgcdc.errors import SinkError
from pgcdc.events.change import ChangeEvent
from pgcdc.lsn import format_lsn
from pgcdc.serialize.records import Headers

if TYPE_CHECKING:
    from pgcdc.status import ConnectorStatus

log = logging.getLogger(__name__)

Delivered = Callable[[Any, Any], None]
Produce = Callable[[str, bytes | None, bytes, Delivered | None, Headers], None]

# What a Kafka Connect user matches dead-letter records on: the names its Java runtime would write.
BROKER_LIMIT = "the broker's limit"

EXCEPTION_CLASS = "org.apache.kafka.common.errors.RecordTooLargeException"
STAGE = "KAFKA_PRODUCE"


def key_text(key: bytes | None) -> str:
    """The key's payload as compact JSON, to name a row in a message: ``{"id":2}``."""
    if key is None:
        return "(none)"
    try:
        return orjson.dumps(orjson.loads(key).get("payload")).decode()
    except (orjson.JSONDecodeError, AttributeError):
        return key[:200].decode("utf-8", "replace")


@dataclass(frozen=True, slots=True)
class Refusal:
    """One record Kafka would not take because of its size."""

    topic: str
    key: bytes | None
    size: int
    limit: str
    """Whose limit: ``the producer's message.max.bytes (1000000)`` or ``the broker's limit``."""
    table: str | None = None
    op: str | None = None
    lsn: int | None = None
    commit_ms: int | None = None

    def about(self, event: ChangeEvent) -> Refusal:
        """The same refusal, naming the event's table, op and position."""
        return dataclasses.replace(
            self,
            table=str(event.table.table) if event.table is not None else None,
            op=event.op,
            lsn=int(event.lsn),
            commit_ms=event.position.commit_time_us // 1000,
        )

    @property
    def by_broker(self) -> bool:
        return self.limit == BROKER_LIMIT

    def describe(self) -> str:
        where = f"table {self.table}" if self.table else f"topic {self.topic}"
        return f"the record for key {key_text(self.key)} in {where} is {self.size} bytes, over {self.limit}"


class RecordTooLargeError(SinkError):
    """A record over a size limit: not retriable, the same row would be refused again."""

    retriable = False

    def __init__(self, refusal: Refusal) -> None:
        what = f"the record for key {key_text(refusal.key)} in topic {refusal.topic}"
        if refusal.by_broker:
            super().__init__(
                f"Kafka refused {what} ({refusal.size} bytes) and the batch it was sent in, over the topic's "
                "max.message.bytes or the broker's message.max.bytes; such a refusal cannot be skipped, since the "
                "batch's other records would be lost with it. Keep PGCDC_KAFKA_MESSAGE_MAX_BYTES under the "
                "topic's max.message.bytes (the producer then refuses an oversized record alone, which "
                "errors.tolerance=all can skip) or raise the topic's limit, then restart; nothing after this row "
                "was confirmed"
            )
        else:
            super().__init__(
                f"{what} is {refusal.size} bytes, over {refusal.limit}: raise it (PGCDC_KAFKA_MESSAGE_MAX_BYTES) "
                "and the broker's limit, then restart, or set errors.tolerance=all to skip such records; nothing "
                "after this row was confirmed"
            )
        self.refusal = refusal


def broker_refusal(error: Any, message: Any) -> RecordTooLargeError | None:
    """The error of a delivery report in which the broker refused a record as too large, else None."""
    if getattr(error, "code", lambda: None)() != KafkaError.MSG_SIZE_TOO_LARGE:
        return None
    if message is None:
        return RecordTooLargeError(Refusal("?", None, 0, BROKER_LIMIT))
    return RecordTooLargeError(
        Refusal(message.topic(), message.key(), len(message.value() or b""), BROKER_LIMIT)
    )


class RefusedRecords:
    """Applies ``errors.tolerance=all`` to refused records; counts them in the connector's status."""

    def __init__(
        self,
        *,
        errors: ErrorTolerance,
        connector: str,
        dead_letter_topic: str | None,
        produce: Produce,
        status: ConnectorStatus,
    ) -> None:
        """``produce`` writes a dead-letter record (and may wait for room in the producer's buffer)."""
        self._errors = errors
        self._connector = connector
        self._dead_letter_topic = dead_letter_topic
        """The topic's full name (KAFKA_PREFIX included), already created."""
        self._produce = produce
        self._status = status

    def handle(
        self,
        refusal: Refusal,
        callback: Delivered | None,
        headers: Headers | None,
    ) -> None:
        """Drop or dead-letter the record; ``callback`` settles its place in the acknowledgements."""
        what = refusal.describe()
        if self._dead_letter_topic is None:
            log.warning("skipped %s (errors.tolerance=all); its position may be confirmed past it", what)
            self._status.records_skipped += 1
            if callback is not None:
                callback(None, None)
            return
        log.warning(
            "%s: its key and an error record go to %s (errors.tolerance=all)", what, self._dead_letter_topic
        )
        self._produce(
            self._dead_letter_topic,
            refusal.key,
            self._error_record(refusal),
            callback,
            self._headers(refusal, headers),
        )
        self._status.records_skipped += 1
        self._status.records_dead_lettered += 1

    def _error_record(self, refusal: Refusal) -> bytes:
        return orjson.dumps(
            {
                "error": "record too large",
                "topic": refusal.topic,
                "table": refusal.table,
                "op": refusal.op,
                "lsn": format_lsn(refusal.lsn) if refusal.lsn is not None else None,
                "ts_ms": refusal.commit_ms,
                "size_bytes": refusal.size,
                "limit": refusal.limit,
                "connector": self._connector,
            }
        )

    def _headers(self, refusal: Refusal, original: Headers | None) -> Headers:
        headers: Headers = dict(original or {})
        if self._errors.context_headers:
            # Kafka Connect's DeadLetterQueueReporter names; partition and offset are a consumed record's,
            # which a source record does not have.
            headers.update(
                {
                    "__connect.errors.topic": refusal.topic,
                    "__connect.errors.connector.name": self._connector,
                    "__connect.errors.task.id": "0",
                    "__connect.errors.stage": STAGE,
                    "__connect.errors.class.name": "pgcdc.produce.producer.KafkaSink",
                    "__connect.errors.exception.class.name": EXCEPTION_CLASS,
                    "__connect.errors.exception.message": refusal.describe(),
                }
            )
        return headers
