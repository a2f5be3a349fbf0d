"""The connector's offset in a Kafka Connect offsets topic: what exactly-once mode commits and resumes from.

The key is Debezium's source partition (``["<connector>", {"server": "<topic.prefix>"}]``) and the value its
PostgreSQL offset: ``lsn`` and ``lsn_commit`` are where the next transaction starts (the end of the last one
written), ``txId`` and ``ts_usec`` that transaction's id and commit time. Only committed Kafka transactions
count, so the offsets topic is read with ``isolation.level=read_committed``.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, cast

import orjson
from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, KafkaException, TopicPartition

from pgcdc.errors import SinkError
from pgcdc.lsn import Lsn
from pgcdc.produce.client import KafkaSettings

# How long reading the offsets topic may take before start-up fails (and is retried).
READ_TIMEOUT_S = 60.0


@dataclass(frozen=True, slots=True)
class SourceOffset:
    """Where the records in Kafka end: every transaction ending at or before ``lsn`` is written."""

    lsn: Lsn
    tx_id: int | None = None
    ts_usec: int | None = None

    def value(self) -> bytes:
        body: dict[str, Any] = {"lsn": int(self.lsn), "lsn_commit": int(self.lsn)}
        if self.tx_id is not None:
            body["txId"] = self.tx_id
        if self.ts_usec is not None:
            body["ts_usec"] = self.ts_usec
        return orjson.dumps(body)

    @classmethod
    def parse(cls, value: bytes | None) -> SourceOffset | None:
        """The offset in a record's value; None for a tombstone or a value without an LSN."""
        if not value:
            return None
        try:
            body = orjson.loads(value)
        except orjson.JSONDecodeError:
            return None
        if not isinstance(body, dict):
            return None
        lsn = body.get("lsn_commit", body.get("lsn"))
        if not isinstance(lsn, int) or lsn <= 0:
            return None
        tx_id = body.get("txId")
        ts_usec = body.get("ts_usec")
        return cls(
            lsn=Lsn(lsn),
            tx_id=tx_id if isinstance(tx_id, int) else None,
            ts_usec=ts_usec if isinstance(ts_usec, int) else None,
        )


def offset_key(name: str, server: str) -> bytes:
    """Debezium's source partition: ``["<connector>", {"server": "<topic.prefix>"}]``."""
    return orjson.dumps([name, {"server": server}])


def _reader(kafka: KafkaSettings, **settings: object) -> Consumer:
    """A consumer of the offsets topic that joins no group's assignment (it is assigned its partitions)."""
    config = kafka.config(**{"group.id": "pgcdc-offset-reader", "log.connection.close": False, **settings})
    return Consumer(cast("dict[str, str | int | float | bool]", config))


def _high_watermarks(kafka: KafkaSettings, topic: str, partitions: Iterable[int]) -> dict[int, int]:
    """Per partition, the offset after its last record, open and aborted transactions included."""
    consumer = _reader(kafka, **{"isolation.level": "read_uncommitted"})
    try:
        return {
            p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10, cached=False)[1]
            for p in partitions
        }
    finally:
        consumer.close()


def read_committed_offset(kafka: KafkaSettings, topic: str, key: bytes) -> SourceOffset | None:
    """The newest committed offset stored under ``key``; None when there is none (or it was deleted).

    Reads each partition up to where it ended when the read began, not to a moving end: other connectors of
    the group commit their offsets to the same topic (a heartbeat every few hundred ms), so a busy topic never
    runs dry. This connector's own offset is not among those later records: ``init`` has fenced any older
    instance before the read."""
    consumer = _reader(
        kafka,
        **{
            "enable.auto.commit": False,
            "isolation.level": "read_committed",
            # Ends at the last stable offset: an open transaction of a fenced producer is not read.
            "enable.partition.eof": True,
        },
    )
    try:
        metadata = consumer.list_topics(topic, timeout=10)
        partitions = metadata.topics[topic].partitions if topic in metadata.topics else {}
        if not partitions:
            return None
        # The high watermark, not ListOffsets' last stable offset (what a read_committed consumer's
        # get_watermark_offsets asks for): Tansu answers 0 for it while any transaction is open. Records below
        # it that read_committed hides (aborted, or open in a fenced producer's transaction) end the read at
        # the partition's end instead.
        ends = _high_watermarks(kafka, topic, partitions)
        consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in partitions])
        remaining = {p for p in partitions if ends[p] > 0}
        found: SourceOffset | None = None
        deadline = time.monotonic() + READ_TIMEOUT_S
        while remaining:
            if time.monotonic() > deadline:
                raise SinkError(f"cannot read the offsets topic {topic} within {READ_TIMEOUT_S:.0f} s")
            message = consumer.poll(0.5)
            if message is None:
                continue
            partition = cast(int, message.partition())
            error = message.error()
            if error is not None:
                if error.code() == KafkaError._PARTITION_EOF:
                    remaining.discard(partition)
                    continue
                raise SinkError(f"cannot read the offsets topic {topic}: {error.str()}")
            if message.key() == key:
                found = SourceOffset.parse(message.value())
            # The last records before the end may be transaction markers, which are never delivered: the
            # read ends at the first record at or past the end, or at the partition's end.
            if cast(int, message.offset()) + 1 >= ends[partition]:
                remaining.discard(partition)
        return found
    except KafkaException as err:
        raise SinkError(f"cannot read the offsets topic {topic}: {err}") from err
    finally:
        consumer.close()
