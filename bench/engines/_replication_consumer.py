"""Child process: stream a pgoutput slot with psycopg2 and do (almost) nothing per message.

usage: python -m bench.engines._replication_consumer DSN SLOT PUBLICATION MILESTONES LATENCY(0|1) RESULTS_DIR
MILESTONES: comma-separated insert counts at which to note the time (see bench.engines.process.milestone_file).
"""

from __future__ import annotations

import struct
import sys
import time
from pathlib import Path

import psycopg2
import psycopg2.extras

from bench.engines.process import milestone_file, write_result

INSERT, BEGIN = ord("I"), ord("B")
POSTGRES_EPOCH_US = 946_684_800_000_000
"""2000-01-01 in microseconds since the Unix epoch: pgoutput's timestamps count from there."""


def main() -> None:
    dsn, slot, publication, milestones_arg, latency, results = sys.argv[1:7]
    milestones = sorted(int(m) for m in milestones_arg.split(","))
    with_latency = latency == "1"
    conn = psycopg2.connect(dsn, connection_factory=psycopg2.extras.LogicalReplicationConnection)
    cursor = conn.cursor()
    cursor.start_replication(
        slot_name=slot, decode=False, options={"proto_version": "1", "publication_names": publication}
    )
    seen = 0
    commit_us = 0
    latencies: list[float] = []

    def on_message(message: psycopg2.extras.ReplicationMessage) -> None:
        nonlocal seen, commit_us, latencies
        kind = message.payload[0]
        if kind == INSERT:
            seen += 1
            if with_latency:
                latencies.append((time.time_ns() // 1000 - commit_us) / 1000)
            if seen == milestones[0]:
                milestones.pop(0)
                result = {"at": time.monotonic(), "latencies_ms": latencies}
                write_result(milestone_file(Path(results), seen), result)
                latencies = []
                if not milestones:
                    raise psycopg2.extras.StopReplication
        elif kind == BEGIN and with_latency:
            # Begin: 'B', final LSN (8), commit timestamp (8, microseconds since 2000-01-01), xid (4).
            commit_us = struct.unpack_from("!q", message.payload, 9)[0] + POSTGRES_EPOCH_US

    try:
        cursor.consume_stream(on_message)
    except psycopg2.extras.StopReplication:
        conn.close()
    while True:  # stay, so the benchmark can read this process's usage before it stops it
        time.sleep(1)


if __name__ == "__main__":
    main()
