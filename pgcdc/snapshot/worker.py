"""One process of a parallel snapshot: copies the chunks it is handed and produces their rows to Kafka itself.

Converting COPY text to values and values to JSON is Python work that holds the GIL, so threads would share one
core; each process has its own interpreter, connection (importing the exported snapshot) and producer. The
parent only hands out chunks and gathers what comes back (`messages` below); a worker reports ``done`` only once
its producer has no record left unacknowledged, and exits when the parent goes away.
"""

from __future__ import annotations

import logging
import os
import queue
import signal
from dataclasses import dataclass
from multiprocessing.queues import Queue
from typing import Any

import psycopg
from confluent_kafka import KafkaError, Message

from pgcdc.config import ConnectorConfig
from pgcdc.errors import PgcdcError, SinkError, SourceError
from pgcdc.events.change import ChangeEvent, SourcePosition
from pgcdc.events.table import build_table
from pgcdc.lsn import Lsn
from pgcdc.produce.client import KafkaSettings
from pgcdc.produce.producer import KafkaSink
from pgcdc.produce.topics import TopicAdmin
from pgcdc.replication.catalog import TableInfo
from pgcdc.serialize.records import RecordSerializer
from pgcdc.snapshot.copy import RawRow, copy_rows, snapshot_connection
from pgcdc.snapshot.pages import Chunk

log = logging.getLogger(__name__)

# How long a worker waits for its next chunk before checking that its parent is still there.
PARENT_CHECK_S = 1.0

# Messages to the parent (tuples, so that they pickle small):
#   ("progress", worker, table, rows)                    rows read since the last report of this chunk
#   ("chunk", worker, table, number, rows, last_row)     a chunk is read; its last row (or None) is the parent's
#   ("done", worker)                                     no chunk left, and Kafka acknowledged every record
#   ("failed", worker, kind, message, retriable)         kind: "source" or "sink"
Message_ = tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class WorkerJob:
    """What every worker needs; pickled to the process at its start (it holds secrets: never log it)."""

    conninfo: str
    snapshot_name: str
    config: ConnectorConfig
    kafka: KafkaSettings
    tables: tuple[TableInfo, ...]
    tx_id: int | None
    started_us: int
    consistent_lsn: int
    max_queue_bytes: int
    parent_pid: int
    run_id: str | None = None
    """The parent's context-header run id (extended.headers.enabled): one run, one id, whichever process writes."""


def run_worker(worker: int, job: WorkerJob, tasks: Queue[Chunk | None], results: Queue[Message_]) -> None:
    """The process's entry point."""
    # Ctrl-C reaches the whole process group; the parent decides when workers stop.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        _copy_chunks(worker, job, tasks, results)
    except PgcdcError as err:
        kind = "sink" if isinstance(err, SinkError) else "source"
        results.put(("failed", worker, kind, str(err), err.retriable))
    except psycopg.Error as err:
        text = str(err).strip().splitlines()[0] if str(err).strip() else repr(err)
        results.put(("failed", worker, "source", f"PostgreSQL failed during the snapshot: {text}", True))


def _copy_chunks(worker: int, job: WorkerJob, tasks: Queue[Chunk | None], results: Queue[Message_]) -> None:
    from pgcdc.pipeline import ConnectorStatus  # the pipeline imports this module

    config = job.config
    failures: list[str] = []

    def failed(error: KafkaError, message: Message) -> None:
        if not failures:
            failures.append(f"Kafka did not accept a record for topic {message.topic()}: {error}")

    topics = TopicAdmin(
        kafka=job.kafka,
        partitions=config.topic_partitions,
        replication_factor=config.topic_replication_factor,
    )
    sink = KafkaSink(
        kafka=job.kafka,
        topics=topics,
        serializer=RecordSerializer(
            server_name=config.topic_prefix, dbname=config.database.dbname, run_id=job.run_id
        ),
        max_queue_bytes=job.max_queue_bytes,
        message_topic=f"{config.topic_prefix}.message",
        transaction_topic=config.transaction_topic,
        # A full producer waits for the broker; a worker whose parent is gone must not wait for ever.
        on_wait=lambda: _check_parent(job.parent_pid),
        status=ConnectorStatus(),
        errors=config.errors,
        connector=config.name,
        on_failed_delivery=failed,
    )
    from pgcdc.snapshot.initial import (
        snapshot_relation,
    )  # initial imports the parent side, which imports this

    relations = [snapshot_relation(info, config) for info in job.tables]
    captured = [
        build_table(
            relation,
            {c.name: c for c in info.columns},
            info.primary_key,
            config,
            warn=lambda _: None,
            snapshot=True,
        )
        for relation, info in zip(relations, job.tables, strict=True)
    ]
    position = SourcePosition(
        tx_id=job.tx_id, commit_time_us=job.started_us, last_commit_lsn=None, snapshot="true"
    )
    lsn = Lsn(job.consistent_lsn)
    step = config.snapshot_fetch_size
    conn = snapshot_connection(job.conninfo, job.snapshot_name)
    try:
        while (chunk := _next_chunk(tasks, job.parent_pid)) is not None:
            table = captured[chunk.table]
            names = [c.name for c in relations[chunk.table].columns]
            held: RawRow | None = None
            rows = 0
            for raw in copy_rows(conn, job.tables[chunk.table].table, names, where=chunk.condition()):
                if held is not None:
                    row = table.row(held)
                    sink.emit(ChangeEvent("r", table, table.key(row), None, row, position, lsn, None))
                held = raw
                rows += 1
                if rows % step == 0:
                    results.put(("progress", worker, chunk.table, step))
                    _check_parent(job.parent_pid)
                    if failures:
                        raise SinkError(failures[0])
            results.put(("chunk", worker, chunk.table, chunk.number, rows % step, held))
        while sink.flush(PARENT_CHECK_S):
            _check_parent(job.parent_pid)
        if failures:
            raise SinkError(failures[0])
        results.put(("done", worker))
    finally:
        conn.close()


def _check_parent(parent_pid: int) -> None:
    if os.getppid() != parent_pid:
        raise SourceError("the snapshot's parent process is gone")


def _next_chunk(tasks: Queue[Chunk | None], parent_pid: int) -> Chunk | None:
    while True:
        try:
            return tasks.get(timeout=PARENT_CHECK_S)
        except queue.Empty:
            _check_parent(parent_pid)
