"""Offline cost of single-row transactions (workload (b)'s shape), independent of the machine's load.

usage: python -m bench.txn_cost [TRANSACTIONS] [--burst N] [--linger MS] [--callgrind]

Feeds pgoutput frames (BEGIN, INSERT into (b)'s table, COMMIT) through the stream path's real stages,
``decode`` -> ``EventBuilder`` -> ``KafkaSink`` -> ``AckTracker``, into librdkafka's mock cluster (no broker, no
PostgreSQL), doing after every ``--burst`` transactions what the connector's loop does when the replication socket
runs dry (serve delivery reports, advance the safe LSN). It prints the main thread's CPU per transaction and the
whole process's (librdkafka's threads and the mock cluster's included), and checks that every transaction was
acknowledged. Under ``valgrind --tool=callgrind --separate-threads=yes`` compare two sizes (e.g. 2,000 and 7,000)
so that start-up cancels out (with the same ``--generate``); ``--callgrind`` then leaves out the delivery wait, whose
polling is wall-clock paced.
"""

from __future__ import annotations

import argparse
import resource
import struct
import time

from pgcdc.ack.tracker import AckTracker
from pgcdc.config import parse_config
from pgcdc.decode.pgoutput import POSTGRES_EPOCH_OFFSET_US, decode
from pgcdc.decode.relation import ColumnInfo
from pgcdc.events import EventSink
from pgcdc.events.builder import EventBuilder
from pgcdc.events.change import ChangeEvent, TransactionMarker
from pgcdc.events.table import CapturedTable, build_table
from pgcdc.lsn import Lsn
from pgcdc.pipeline import ConnectorStatus
from pgcdc.produce.client import KafkaSettings
from pgcdc.produce.producer import KafkaSink
from pgcdc.produce.topics import TopicAdmin
from pgcdc.serialize.records import RecordSerializer

OID = 16385
# (b)'s table: id bigserial PRIMARY KEY, a int, b text, c timestamptz.
COLUMNS = (("id", 20, "int8"), ("a", 23, "int4"), ("b", 25, "text"), ("c", 1184, "timestamptz"))
FRAME_BYTES = 232
"""About what one frame moves the WAL position by (only the LSNs' order matters here)."""


class _Serialized:
    """``--stage serialize``: builds each record's key, value and headers, produces nothing; counts the event
    as delivered at once."""

    def __init__(self, serializer: RecordSerializer) -> None:
        self._serializer = serializer

    def emit(self, event: ChangeEvent) -> None:
        self._serializer.key(event)
        self._serializer.value(event)
        self._serializer.headers(event)

    def mark(self, marker: TransactionMarker) -> None:
        pass


class _Dropped(_Serialized):
    """``--stage build``: events are built and dropped."""

    def emit(self, event: ChangeEvent) -> None:
        pass


class _MockTopics(TopicAdmin):
    """The mock cluster creates topics on first produce; nothing to ask an admin client."""

    def __init__(self) -> None:
        pass

    def ensure(self, topic: str, *, compacted: bool = False) -> None:
        pass


def _cstring(text: str) -> bytes:
    return text.encode() + b"\0"


def relation_frame() -> bytes:
    columns = b"".join(
        struct.pack(">b", int(name == "id")) + _cstring(name) + struct.pack(">Ii", oid, -1)
        for name, oid, _ in COLUMNS
    )
    return (
        b"R"
        + struct.pack(">I", OID)
        + _cstring("public")
        + _cstring("bench_b")
        + b"d"
        + struct.pack(">h", len(COLUMNS))
        + columns
    )


def transaction_frames(number: int, lsn: int, commit_us: int) -> list[tuple[bytes, int]]:
    """BEGIN, INSERT, COMMIT of one transaction whose frames start at ``lsn``."""
    ts = commit_us - POSTGRES_EPOCH_OFFSET_US
    values = (str(number), str(number % 10), "x" * 50, "2026-12-03 14:00:00.123456+00")
    row = b"".join(b"t" + struct.pack(">i", len(v)) + v.encode() for v in values)
    insert = b"I" + struct.pack(">I", OID) + b"N" + struct.pack(">h", len(values)) + row
    end = lsn + 3 * FRAME_BYTES
    return [
        (b"B" + struct.pack(">QqI", end - FRAME_BYTES, ts, 1000 + number), lsn),
        (insert, lsn + FRAME_BYTES),
        (b"C" + struct.pack(">bQQq", 0, end - FRAME_BYTES, end, ts), end),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("transactions", type=int, nargs="?", default=20_000)
    parser.add_argument("--burst", type=int, default=10, help="transactions between idle steps (default 10)")
    parser.add_argument("--linger", type=float, default=None, help="linger.ms for the producer")
    parser.add_argument("--callgrind", action="store_true", help="no delivery wait at the end")
    parser.add_argument(
        "--stage",
        choices=("decode", "build", "serialize", "produce"),
        default="produce",
        help="how far each frame goes: decoded only, built into events, serialized, or produced (default)",
    )
    parser.add_argument(
        "--generate",
        type=int,
        default=0,
        help="build frames for this many transactions (default: as many as fed), so that two sizes compared "
        "under callgrind build the same frames",
    )
    args = parser.parse_args()
    config = parse_config(
        {
            "topic.prefix": "bench",
            "database.url": "postgresql://u@h/db",
            "table.include.list": "public.bench_b",
        },
        env={},
    )
    client = {"test.mock.num.brokers": "1"}
    if args.linger is not None:
        client["linger.ms"] = str(args.linger)
    kafka = KafkaSettings(bootstrap_servers="", client_config=client)
    status = ConnectorStatus()
    tracker = AckTracker()
    serializer = RecordSerializer(server_name="bench", dbname="db", run_id="0" * 16)
    sink = KafkaSink(
        kafka=kafka,
        topics=_MockTopics(),
        serializer=serializer,
        max_queue_bytes=32 << 20,
        message_topic="bench.message",
        transaction_topic="bench.transaction",
        on_wait=lambda: None,
        status=status,
    )

    def describe(message: object) -> CapturedTable:
        columns = {
            name: ColumnInfo(name, oid, type_name, -1, name != "id", None) for name, oid, type_name in COLUMNS
        }
        return build_table(decode(relation_frame()), columns, ("id",), config, warn=lambda text: None)  # type: ignore[arg-type]

    stages: dict[str, EventSink] = {"build": _Dropped(serializer), "serialize": _Serialized(serializer)}
    builder = EventBuilder(
        config=config, describe=describe, tracker=tracker, sink=stages.get(args.stage, sink)
    )
    builder.handle(decode(relation_frame()), Lsn(1 << 24))
    commit_us = time.time_ns() // 1000
    frames = [
        transaction_frames(n, (1 << 24) + n * 3 * FRAME_BYTES, commit_us + n * 200)
        for n in range(max(args.generate, args.transactions))
    ][: args.transactions]
    # Warm the producer's connection to the mock cluster, as the benchmark's warm-up row does.
    sink.produce("bench.warmup", b"k", b"v", None)
    sink.flush(10)

    decode_only = args.stage == "decode"
    thread0, process0, wall0 = time.thread_time(), time.process_time(), time.monotonic()
    for number, transaction in enumerate(frames, 1):
        for payload, lsn in transaction:
            if decode_only:
                decode(payload)
            else:
                builder.handle(decode(payload), Lsn(lsn))
        if number % args.burst == 0:
            sink.poll(0)
            tracker.safe_lsn()
    thread1 = time.thread_time()
    if not args.callgrind and args.stage == "produce":
        while not tracker.idle:
            sink.poll(0.01)
            tracker.safe_lsn()
    thread2, process2, wall2 = time.thread_time(), time.process_time(), time.monotonic()
    count = args.transactions
    if not args.callgrind and args.stage == "produce":
        assert tracker.safe_lsn() == frames[-1][-1][1], "not every transaction was acknowledged"
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print(
        f"{count} transactions: main thread {(thread1 - thread0) / count * 1e6:.1f} µs/txn to produce, "
        f"{(thread2 - thread0) / count * 1e6:.1f} with delivery; process {(process2 - process0) / count * 1e6:.1f} "
        f"µs/txn; {wall2 - wall0:.2f} s; voluntary context switches {usage.ru_nvcsw}"
    )


if __name__ == "__main__":
    main()
