"""The verifier: reads every captured topic back and holds it against the workload's ledger.

Per key, the first delivery of each change must come in commit order (a re-delivery after a fault is a
duplicate, not an order violation), every committed change must be there, and nothing of a rolled-back
transaction may be.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field

import orjson
from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, KafkaException, TopicPartition

from tests.chaos.workload import DELETED, ROLLBACK_BUMP, TABLES, Ledger
from tests.kafka_markers import AbortedRecords

_QUIET_S = 3.0
"""Once nothing is missing, keep reading until the topics stay quiet this long, to count late duplicates."""
_SETTLE_S = 15.0
_STALLED_S = 60.0
"""With changes still missing, stop once every partition is read to its end and nothing came for _SETTLE_S,
or nothing came at all for _STALLED_S: the harness verifies only after its final marker is in Kafka, so
whatever is still missing then is not coming, and waiting for it would only turn a verdict into a timeout."""


@dataclass
class Verdict:
    """What the topics hold compared with what committed."""

    expected: int = 0
    records: int = 0
    tombstones: int = 0
    missing: int = 0
    rolled_back: int = 0
    unexpected: int = 0
    order_violations: int = 0
    duplicates: int = 0
    stale_final: int = 0
    """Keys whose last record is not their last change: a compacted topic would keep the wrong value."""
    aborted: int = 0
    """Records of aborted Kafka transactions, left out as Kafka's read_committed would (exactly-once runs)."""
    aborted_only: int = 0
    """Committed changes whose only copy is in an aborted Kafka transaction (exactly-once runs on Tansu, which
    also shows pgcdc the aborted transaction's offset record, so it resumed after them; Kafka hides both)."""
    examples: list[str] = field(default_factory=list)
    duplicate_times_ms: list[int] = field(default_factory=list, repr=False)
    """Producer timestamps of the duplicates, to tell which fault caused them."""

    @property
    def ok(self) -> bool:
        return not (
            self.missing or self.rolled_back or self.unexpected or self.order_violations or self.stale_final
        )

    def note(self, text: str) -> None:
        if len(self.examples) < 20:
            self.examples.append(text)


@dataclass
class _KeyState:
    seen: set[int] = field(default_factory=set)
    highest: int = 0
    last: int = 0


class _Checker:
    def __init__(self, ledger: Ledger) -> None:
        self._ledger = ledger
        self._expected = {key: set(labels) for key, labels in ledger.changes.items()}
        self.keys: dict[tuple[str, int], _KeyState] = {}
        self.verdict = Verdict(expected=ledger.events)
        self.found = 0

    def feed(self, table: str, key_bytes: bytes | None, value_bytes: bytes | None, timestamp_ms: int) -> None:
        verdict = self.verdict
        verdict.records += 1
        if value_bytes is None:
            verdict.tombstones += 1
            return
        payload = orjson.loads(value_bytes)["payload"]
        op = payload["op"]
        row = payload["before"] if op == "d" else payload["after"]
        key = int(orjson.loads(key_bytes or b"{}")["payload"]["id"]) if key_bytes else int(row["id"])
        label = DELETED if op == "d" else int(row["version"])
        if key < 0 or (op != "d" and label >= ROLLBACK_BUMP):
            verdict.rolled_back += 1
            verdict.note(f"rolled-back change delivered: {table} id={key} op={op} version={label}")
            return
        expected = self._expected.get((table, key))
        if expected is None or label not in expected:
            verdict.unexpected += 1
            verdict.note(f"change that never committed: {table} id={key} op={op} label={label}")
            return
        state = self.keys.setdefault((table, key), _KeyState())
        state.last = label
        if label in state.seen:
            verdict.duplicates += 1
            verdict.duplicate_times_ms.append(timestamp_ms)
            return
        state.seen.add(label)
        self.found += 1
        if label < state.highest:
            verdict.order_violations += 1
            verdict.note(f"order: {table} id={key} got {label} after {state.highest}")
        state.highest = max(state.highest, label)

    @property
    def complete(self) -> bool:
        return self.found >= self.verdict.expected

    def gone(self) -> dict[tuple[str, int], list[int]]:
        """Per key, its committed changes not read."""
        gone: dict[tuple[str, int], list[int]] = {}
        for key, labels in self._ledger.changes.items():
            state = self.keys.get(key)
            unread = [label for label in labels if state is None or label not in state.seen]
            if unread:
                gone[key] = unread
        return gone

    def finish(self) -> Verdict:
        verdict = self.verdict
        verdict.missing = verdict.expected - self.found
        for key, labels in self._ledger.changes.items():
            state = self.keys.get(key)
            if state is not None and len(state.seen) == len(labels) and state.last != labels[-1]:
                verdict.stale_final += 1
                verdict.note(f"stale final: {key[0]} id={key[1]} ends at {state.last}, not {labels[-1]}")
        return verdict


def _note_changes(verdict: Verdict, what: str, changes: dict[tuple[str, int], list[int]]) -> None:
    for (table, key), labels in changes.items():
        if labels:
            verdict.note(f"{what}: {table} id={key} labels {labels[:5]}")


def verify(
    bootstrap: str, prefix: str, ledger: Ledger, *, timeout: float, drop_aborted: bool = False
) -> Verdict:
    """Read ``<prefix>.chaos.<table>`` for every table until every committed change is there (or timeout).

    ``drop_aborted``: judge duplicates and order without the records of aborted transactions, which Tansu
    shows read_committed consumers (tests/kafka_markers.py), and missing changes with them (see
    ``Verdict.aborted_only``); only a transactional producer writes any."""
    checker = _Checker(ledger)
    logged = _Checker(ledger)
    """Every record the log holds, aborted ones included (the same as ``checker`` without drop_aborted)."""
    aborted = AbortedRecords(bootstrap) if drop_aborted else None
    topics = {f"{prefix}.chaos.{table}": table for table in TABLES}
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"chaos-verify-{uuid.uuid4().hex}",
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
            "isolation.level": "read_committed",
            "fetch.max.bytes": 16 * 1024 * 1024,
            "enable.partition.eof": True,
        }
    )
    deadline = time.monotonic() + timeout
    try:
        partitions = _partitions(consumer, list(topics), deadline)
        consumer.assign(partitions)
        at_end: set[tuple[str, int]] = set()
        last_record = time.monotonic()
        while time.monotonic() < deadline:
            batch = consumer.consume(2000, timeout=0.5)
            for msg in batch:
                error = msg.error()
                where = (str(msg.topic()), msg.partition() or 0)
                if error is not None:
                    if error.code() == KafkaError._PARTITION_EOF:
                        at_end.add(where)
                    elif not error.retriable():
                        raise KafkaException(error)
                    continue
                at_end.discard(where)
                last_record = time.monotonic()
                key, value = msg.key(), msg.value()
                assert not isinstance(key, str) and not isinstance(value, str)
                table = topics[str(msg.topic())]
                if aborted is not None:
                    logged.feed(table, key, value, msg.timestamp()[1])
                    if aborted.hides(str(msg.topic()), msg.partition() or 0, msg.offset() or 0):
                        checker.verdict.aborted += 1
                        continue
                checker.feed(table, key, value, msg.timestamp()[1])
            idle = time.monotonic() - last_record
            if (logged if aborted is not None else checker).complete:
                if idle >= _QUIET_S:
                    break
            elif idle >= _STALLED_S or (idle >= _SETTLE_S and len(at_end) == len(partitions)):
                _note_positions(consumer, partitions, at_end, checker.verdict)
                break
    finally:
        consumer.close()
        if aborted is not None:
            aborted.close()
    verdict = checker.finish()
    if aborted is None:
        _note_changes(verdict, "missing", checker.gone())
    else:
        nowhere = logged.gone()
        in_aborted = {
            key: [label for label in labels if label not in nowhere.get(key, ())]
            for key, labels in checker.gone().items()
        }
        in_log = logged.finish().missing
        verdict.aborted_only, verdict.missing = verdict.missing - in_log, in_log
        _note_changes(verdict, "missing", nowhere)
        _note_changes(verdict, "only in an aborted transaction (Tansu)", in_aborted)
    return verdict


def _note_positions(
    consumer: Consumer, partitions: list[TopicPartition], at_end: set[tuple[str, int]], verdict: Verdict
) -> None:
    """Say where reading stopped in each partition, to tell a change never written from one the consumer could
    not reach (an open transaction holds a read_committed consumer at the partition's last stable offset)."""
    for position in consumer.position(partitions):
        _, high = consumer.get_watermark_offsets(position, timeout=5)
        end = "read to its end" if (position.topic, position.partition) in at_end else "not at its end"
        verdict.note(
            f"{position.topic}[{position.partition}] {end}: at offset {position.offset}, high watermark {high}"
        )


def _partitions(consumer: Consumer, topics: list[str], deadline: float) -> list[TopicPartition]:
    found: list[TopicPartition] = []
    for topic in topics:
        while True:
            meta = consumer.list_topics(topic, timeout=5).topics.get(topic)
            if meta is not None and meta.error is None and meta.partitions:
                found += [TopicPartition(topic, p, OFFSET_BEGINNING) for p in sorted(meta.partitions)]
                break
            if time.monotonic() > deadline:
                raise AssertionError(f"topic {topic} never appeared")
            time.sleep(0.2)
    return found
