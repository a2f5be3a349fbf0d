"""The verifier ends with a verdict, not a wait for ever, when a committed change is nowhere in the topics."""

from __future__ import annotations

import time
import uuid

import orjson
from confluent_kafka import Producer

from tests.chaos.verify import _SETTLE_S, verify
from tests.chaos.workload import Ledger


def _record(key: int) -> tuple[bytes, bytes]:
    value = {"payload": {"op": "c", "before": None, "after": {"id": key, "version": 1}}}
    return orjson.dumps({"payload": {"id": key}}), orjson.dumps(value)


def test_a_change_missing_from_the_log_is_reported_not_waited_for(kafka_bootstrap: str) -> None:
    prefix = "verify" + uuid.uuid4().hex[:8]
    producer = Producer({"bootstrap.servers": kafka_bootstrap, "transactional.id": f"{prefix}-0"})
    producer.init_transactions(10)
    for table, key, commit in (("accounts", 1, True), ("orders", 2, False), ("notes", 4, True)):
        producer.begin_transaction()
        producer.produce(f"{prefix}.chaos.{table}", _record(key)[1], _record(key)[0])
        producer.flush(10)
        if commit:
            producer.commit_transaction(10)
        else:
            producer.abort_transaction(10)
    ledger = Ledger()
    for table, key in (("accounts", 1), ("orders", 2), ("notes", 3), ("notes", 4)):
        ledger.add(table, key, 1)

    started = time.monotonic()
    verdict = verify(kafka_bootstrap, prefix, ledger, timeout=240, drop_aborted=True)

    # notes id=3 was never written: the verdict comes once the topics are read to their end and stay quiet.
    assert time.monotonic() - started < _SETTLE_S + 30
    assert (verdict.missing, verdict.aborted_only, verdict.aborted) == (1, 1, 1)
    assert "missing: notes id=3 labels [1]" in verdict.examples
    assert "only in an aborted transaction (Tansu): orders id=2 labels [1]" in verdict.examples
