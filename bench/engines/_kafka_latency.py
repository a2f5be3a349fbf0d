"""Child process: read one topic as events arrive; per event, arrival time minus the commit time it carries.

usage: python -m bench.engines._kafka_latency BOOTSTRAP TOPIC WARMUP EVENTS READY_FILE RESULT_FILE
The first WARMUP events are read but not measured.
"""

from __future__ import annotations

import sys
import time
import uuid
from pathlib import Path

import orjson
from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

from bench.engines.process import write_result


def main() -> None:
    bootstrap, topic, warmup, events, ready, result = sys.argv[1:7]
    skip, expected = int(warmup), int(events)
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"pgcdc-bench-{uuid.uuid4().hex}",  # required, though assign() joins no group
            "enable.auto.commit": False,
            # Ask the broker to answer a fetch at once when there is anything, and to wait at most 5 ms when
            # there is nothing: the reader's own share of the latency stays small.
            "fetch.wait.max.ms": 5,
            "fetch.min.bytes": 1,
        }
    )
    consumer.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])
    consumer.poll(0.5)  # the assignment is live once a fetch went out
    Path(ready).touch()
    latencies: list[float] = []
    while len(latencies) < expected:
        # poll() returns as soon as one record is there; consume(n, 0) then takes what else has arrived
        # without waiting. (consume(n, timeout) would wait for n records or the whole timeout: added latency.)
        first = consumer.poll(0.1)
        if first is None:
            continue
        now_us = time.time_ns() // 1000  # one arrival time for what came together; parsing comes after
        for message in [first, *consumer.consume(num_messages=10_000, timeout=0)]:
            value = message.value()
            if message.error() is not None or not value:
                continue
            if skip:
                skip -= 1
                continue
            commit_us = orjson.loads(value)["payload"]["source"]["ts_us"]
            latencies.append((now_us - commit_us) / 1000)
    write_result(Path(result), {"at": time.monotonic(), "latencies_ms": latencies})
    consumer.close()


if __name__ == "__main__":
    main()
