"""The stream's per-row path offline: pgoutput frames of workload (a) -> Kafka key/value bytes, no services.

Frames of (a)'s shape (``bench(id bigserial pk, a int, b text (50 chars), c timestamptz)``, 10,000 rows per
transaction) are built here and fed through ``decode`` -> ``EventBuilder`` -> ``KafkaSink``, whose producer
keeps nothing (or, with ``--digest``, hashes every record). Its cost does not move with the machine's load when
counted in instructions::

    valgrind --tool=callgrind --separate-threads=yes python -m bench.hotpath --events 2000
    valgrind --tool=callgrind --separate-threads=yes python -m bench.hotpath --events 7000

(main thread's Ir of the second minus the first, divided by 5,000: instructions per event, start-up cancelled).
``--digest`` prints a SHA-256 of every record's topic, key, value and headers with the clock and run id fixed:
two builds that print the same digest write the same bytes.
"""

from __future__ import annotations

import argparse
import hashlib
import struct
import time
from collections.abc import Iterator
from typing import Any, cast

from pgcdc.ack.tracker import AckTracker
from pgcdc.config import parse_config
from pgcdc.decode.messages import RelationMessage
from pgcdc.decode.pgoutput import POSTGRES_EPOCH_OFFSET_US, decode
from pgcdc.decode.relation import ColumnInfo
from pgcdc.events.builder import EventBuilder
from pgcdc.events.table import CapturedTable, build_table
from pgcdc.hot_path import variant as hot_path
from pgcdc.lsn import Lsn
from pgcdc.pipeline import ConnectorStatus
from pgcdc.produce.client import KafkaSettings
from pgcdc.produce.producer import KafkaSink
from pgcdc.produce.topics import TopicAdmin
from pgcdc.serialize import records
from pgcdc.serialize.records import RecordSerializer

ROWS_PER_TRANSACTION = 10_000
OID = 16_385
COLUMNS = (  # name, type oid, type name, NOT NULL, default
    ("id", 20, "int8", True, "nextval('bench_a_id_seq'::regclass)"),
    ("a", 23, "int4", False, None),
    ("b", 25, "text", False, None),
    ("c", 1184, "timestamptz", False, None),
)
COMMIT_US = 1_796_300_202_273_170
NOW_TEXT = b"2026-12-03 14:55:09.273170+00"  # now() of the transaction, as a UTC walsender prints it
FIXED_NOW_NS = 1_796_300_203_000_123_456
FIXED_RUN_ID = "1796300202273-1"


def _cstring(text: str) -> bytes:
    return text.encode() + b"\0"


def _relation() -> bytes:
    columns = b"".join(
        bytes([name == "id"]) + _cstring(name) + struct.pack(">Ii", oid, -1) for name, oid, *_ in COLUMNS
    )
    return b"R" + struct.pack(">I", OID) + _cstring("public") + _cstring("bench_a") + b"d" + b"\0\4" + columns


# An Insert of (id, a, b, c) = (n, n, 50 x, now()): its two numbers and their lengths are filled in per row.
_INSERT = (
    b"I"
    + struct.pack(">I", OID)
    + b"N\0\4"
    + b"t\0\0\0%c%b" * 2
    + b"t"
    + struct.pack(">i", 50)
    + b"x" * 50
    + b"t"
    + struct.pack(">i", len(NOW_TEXT))
    + NOW_TEXT
)


def _insert(row: int) -> bytes:
    digits = b"%d" % row
    return _INSERT % (len(digits), digits, len(digits), digits)


def frames(events: int) -> Iterator[tuple[bytes, Lsn]]:
    """(payload, data start) of each frame of ``events`` inserts, the relation before the first."""
    lsn = 0x1_6B37_4D48
    row = 0
    xid = 740
    while row < events:
        count = min(ROWS_PER_TRANSACTION, events - row)
        final = lsn + 200 * count
        commit_pg_us = COMMIT_US - POSTGRES_EPOCH_OFFSET_US
        yield b"B" + struct.pack(">QqI", final, commit_pg_us, xid), Lsn(lsn)
        if row == 0:
            yield _relation(), Lsn(lsn)
        for _ in range(count):
            row += 1
            yield _insert(row), Lsn(lsn)
            lsn += 200
        yield b"C" + struct.pack(">bQQq", 0, final, final + 32, commit_pg_us), Lsn(final + 32)
        lsn = final + 32
        xid += 1


class NullProducer:
    """Takes records and keeps nothing (or their hash): what is measured is pgcdc's side of produce()."""

    def __init__(self, digest: Any | None) -> None:
        self._digest = digest

    def produce(self, topic: str, value: bytes | None, key: bytes | None, *extra: Any) -> None:
        digest = self._digest
        if digest is not None:
            headers = extra[-1]  # KafkaSink passes all of Producer.produce's arguments by position
            if isinstance(headers, dict):
                headers = list(headers.items())  # hashed as the pairs, in order: what Kafka stores
            for part in (topic.encode(), key or b"-", value or b"-", repr(headers).encode()):
                digest.update(struct.pack(">I", len(part)) + part)

    def poll(self, timeout_s: float = 0) -> int:
        return 0

    def __len__(self) -> int:
        return 0


class _KnownTopics:
    def ensure(self, topic: str, *, compacted: bool = False) -> None:
        pass


def offline_sink(
    serializer: RecordSerializer,
    producer: NullProducer,
    *,
    sink_class: type[KafkaSink] = KafkaSink,
    **extra: Any,
) -> KafkaSink:
    """A KafkaSink (or ``sink_class``, given ``extra``) that needs no broker: every topic exists, and ``producer``
    takes the records."""
    sink = sink_class(
        kafka=KafkaSettings(bootstrap_servers="", client_config={"log_level": "4"}),
        topics=cast(TopicAdmin, _KnownTopics()),
        serializer=serializer,
        max_queue_bytes=32 << 20,
        message_topic="bench.message",
        transaction_topic="bench.transaction",
        on_wait=lambda: None,
        status=ConnectorStatus(),
        **extra,
    )
    sink._producer = producer  # type: ignore[assignment]
    return sink


def _describe(config: Any) -> Any:
    catalog = {
        name: ColumnInfo(name, oid, type_name, -1, not not_null, default)
        for name, oid, type_name, not_null, default in COLUMNS
    }

    def describe(message: RelationMessage) -> CapturedTable:
        return build_table(message, catalog, ("id",), config, warn=print)

    return describe


def run(events: int, *, digest: Any | None = None, frames_only: bool = False) -> None:
    config = parse_config({"topic.prefix": "bench", "database.url": "postgresql://u@h/bench"}, env={})
    serializer = RecordSerializer(server_name="bench", dbname="bench", run_id=FIXED_RUN_ID)
    sink = offline_sink(serializer, NullProducer(digest))
    tracker = AckTracker()
    builder = EventBuilder(config=config, describe=_describe(config), tracker=tracker, sink=sink)
    handle = builder.handle
    recorded = list(frames(events))  # built first; --frames-only measures this alone, to subtract it
    if frames_only:
        return
    for payload, lsn in recorded:
        handle(decode(payload), lsn)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.hotpath", description=(__doc__ or "").splitlines()[0]
    )
    parser.add_argument("--events", type=int, default=7000, help="row events to make (default: 7000)")
    parser.add_argument("--digest", action="store_true", help="print a SHA-256 of every record written")
    parser.add_argument(
        "--frames-only", action="store_true", help="only build the frames (their cost, to subtract)"
    )
    args = parser.parse_args(argv)
    if args.digest:
        digest = hashlib.sha256()
        # The records' ts_ms/ts_us/ts_ns: the serializer's own name for the clock, and the time module's (which
        # a serializer that imported the module reads).
        records.time_ns = lambda: FIXED_NOW_NS  # type: ignore[attr-defined]
        time.time_ns = lambda: FIXED_NOW_NS
        run(args.events, digest=digest)
        print(f"{hot_path()}: {args.events} events, sha256 {digest.hexdigest()}")
    else:
        started = time.process_time()
        run(args.events, frames_only=args.frames_only)
        spent = time.process_time() - started
        print(f"{hot_path()}: {args.events} events, {spent / args.events * 1e6:.2f} us of CPU per event")


if __name__ == "__main__":
    main()
