"""Child process: run Debezium (pydbzengine) with a handler that touches each record and notes the last one.

usage: python -m bench.engines._debezium_handler SPEC_JSON
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import orjson
from pydbzengine import BasePythonChangeHandler, DebeziumJsonEngine

from bench.engines.process import milestone_file, write_result


class Handler(BasePythonChangeHandler):
    def __init__(self, *, milestones: list[int], topic_prefix: str, latency: bool, results: Path) -> None:
        self._milestones = sorted(milestones)
        self._prefix = topic_prefix
        self._latency = latency
        self._results = results
        self._seen = 0
        self._latencies: list[float] = []

    def handleJsonBatch(self, records: Any) -> None:  # the Java interface names it
        for record in records:
            value = record.value()
            if value is None or not str(record.destination()).startswith(self._prefix):
                continue
            text = str(value)  # the record as JsonConverter wrote it, now a Python string
            self._seen += 1
            if self._latency:
                commit_us = orjson.loads(text)["payload"]["source"]["ts_us"]
                self._latencies.append((time.time_ns() // 1000 - commit_us) / 1000)
        # Per batch, not per record: a batch reaches the handler at once, so its last record's time is the
        # batch's delivery time.
        now = time.monotonic()
        while self._milestones and self._seen >= self._milestones[0]:
            reached = self._milestones.pop(0)
            result = {"at": now, "latencies_ms": self._latencies}
            write_result(milestone_file(self._results, reached), result)
            self._latencies = []


def main() -> None:
    spec = json.loads(Path(sys.argv[1]).read_text())
    handler = Handler(
        milestones=spec["milestones"],
        topic_prefix=spec["topic_prefix"],
        latency=spec["latency"],
        results=Path(spec["results"]),
    )
    engine = DebeziumJsonEngine(properties=spec["properties"], handler=handler)
    engine.run()  # until the benchmark stops this process


if __name__ == "__main__":
    main()
