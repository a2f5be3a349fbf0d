"""One process of a parallel snapshot: copies the chunks it is handed and produces their rows to Kafka itself.

Converting COPY text to values and values to JSON is Python work that holds the GIL, so threads would share one
core; each process has its own interpreter, connection (importing the exported snapshot) and producer. The
parent hands out chunks one at a time over a socket and gathers what comes back (`messages` below); a worker
reports ``done`` only once its producer has no record left unacknowledged, and exits when the parent goes away.

The process is started as ``python -c`` (``parallel``), not by multiprocessing: that would import the parent's
``__main__`` (the whole CLI) into every worker and add its resource-tracker process. So this module imports only
what copying, converting, serializing and producing need; the parent's peak memory is the sum over its processes.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

import psycopg
from confluent_kafka import KafkaError, Message

from pgcdc.ack.tracker import delivery_error
from pgcdc.config import ConnectorConfig
from pgcdc.errors import PgcdcError, SinkError, SourceError
from pgcdc.events.change import ChangeEvent, SourcePosition
from pgcdc.events.table import build_table
from pgcdc.heap import keep_freed_memory
from pgcdc.log_setup import LogSetup, apply_log_setup
from pgcdc.lsn import Lsn
from pgcdc.produce.client import KafkaSettings
from pgcdc.produce.producer import KafkaSink
from pgcdc.produce.topics import TopicAdmin
from pgcdc.replication.catalog import TableInfo
from pgcdc.snapshot.copy import RawRow, copy_rows, snapshot_connection, snapshot_relation
from pgcdc.snapshot.pages import Chunk
from pgcdc.status import ConnectorStatus

log = logging.getLogger(__name__)

# How long a worker waits for its next chunk before checking that its parent is still there.
PARENT_CHECK_S = 1.0

# Messages to the parent (tuples, so that they pickle small), each answered by nothing but "chunk", which the
# parent answers with the next Chunk, or None when none is left:
#   ("progress", table, rows)                    rows read since the last report of this chunk
#   ("counts", by_op, skipped, dead_lettered)    records produced per op and refused (errors.tolerance=all)
#                                                since the last report, for the connector's status
#   ("chunk", table, number, rows, last_row)     a chunk is read; its last row (or None) is the parent's
#   ("done",)                                    no chunk left, and Kafka acknowledged every record
#   ("failed", kind, message, retriable)         kind: "source" or "sink"
WorkerMessage = tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class WorkerJob:
    """What every worker needs; sent to the process first (it holds secrets: never log it, never in argv)."""

    conninfo: str
    snapshot_name: str
    config: ConnectorConfig
    kafka: KafkaSettings
    tables: tuple[TableInfo, ...]
    tx_id: int | None
    started_us: int
    consistent_lsn: int
    max_queue_bytes: int
    """Each copier's producer buffer: its share of snapshot.max.queue.size.in.bytes."""
    parent_pid: int
    log: LogSetup
    """The parent's logging (level and format): a worker's warnings read as the parent's do."""
    topics: tuple[str, ...] = ()
    """The snapshot's topics, which the parent made sure exist: a worker needs no admin client of its own."""
    run_id: str | None = None
    """The parent's context-header run id (extended.headers.enabled): one run, one id, whichever process writes."""


def main() -> None:
    """The process's entry point: ``python -c '...main()' FD``, FD the worker's end of a socket to the parent."""
    # Ctrl-C reaches the whole process group; the parent decides when workers stop.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    keep_freed_memory()
    channel = Connection(int(sys.argv[1]))
    try:
        job: WorkerJob = channel.recv()
        apply_log_setup(job.log)
        run_worker(job, channel)
    except (EOFError, BrokenPipeError, ConnectionResetError):
        pass  # the parent is gone, or stopped this worker: nothing to report to


def run_worker(job: WorkerJob, channel: Connection) -> None:
    """Copy chunks until the parent has none left; a failure is reported to the parent, not raised."""
    try:
        _copy_chunks(job, channel)
    except PgcdcError as err:
        kind = "sink" if isinstance(err, SinkError) else "source"
        channel.send(("failed", kind, str(err), err.retriable))
    except psycopg.Error as err:
        text = str(err).strip().splitlines()[0] if str(err).strip() else repr(err)
        channel.send(("failed", "source", f"PostgreSQL failed during the snapshot: {text}", True))


def _copy_chunks(job: WorkerJob, channel: Connection) -> None:
    def parent_there() -> bool:
        _check_parent(job.parent_pid)
        return True

    conn = snapshot_connection(job.conninfo, job.snapshot_name)
    try:
        copier = ChunkCopier(
            job,
            conn,
            send=channel.send,
            # A full producer waits for the broker; a worker whose parent is gone must not wait for ever.
            on_wait=lambda: _check_parent(job.parent_pid),
        )
        try:
            while (chunk := _next_chunk(channel, job.parent_pid)) is not None:
                copier.copy(chunk, check=parent_there, every=job.config.snapshot_fetch_size)
            copier.finish(check=parent_there)
        finally:
            copier.close()
    finally:
        conn.close()


class _Counts:
    """A copier's own status counts, of which only what is new since the last report goes to the parent."""

    def __init__(self, status: ConnectorStatus) -> None:
        self._status = status
        self._by_op: dict[str, int] = {}
        self._skipped = 0
        self._dead_lettered = 0

    def report(self, send: Callable[[WorkerMessage], None]) -> None:
        status = self._status
        by_op = {
            op: count - self._by_op.get(op, 0)
            for op, count in status.events_by_op.items()
            if count != self._by_op.get(op, 0)
        }
        skipped = status.records_skipped - self._skipped
        dead_lettered = status.records_dead_lettered - self._dead_lettered
        if by_op or skipped or dead_lettered:
            send(("counts", by_op, skipped, dead_lettered))
            self._by_op = dict(status.events_by_op)
            self._skipped, self._dead_lettered = status.records_skipped, status.records_dead_lettered


class ChunkCopier:
    """Copies chunks through a producer of its own and reports as the protocol above says: a worker process's,
    or the parent's beside its workers (its rows then need no delivery callback each, and its buffer is its
    share like theirs)."""

    def __init__(
        self,
        job: WorkerJob,
        conn: psycopg.Connection[tuple[object, ...]],
        *,
        send: Callable[[WorkerMessage], None],
        on_wait: Callable[[], None],
    ) -> None:
        """``conn`` reads in the exported snapshot; ``on_wait`` runs while the producer's buffer is full."""
        config = job.config
        self._job = job
        self._conn = conn
        self._send = send
        self._status = ConnectorStatus()
        self._counts = _Counts(self._status)
        self._failures: list[str] = []
        # Its admin client is made on first use only: the parent made sure the snapshot's topics exist.
        self._topics = TopicAdmin(
            kafka=job.kafka,
            partitions=config.topic_partitions,
            replication_factor=config.topic_replication_factor,
            known=job.topics,
        )
        self._sink = KafkaSink.for_connector(
            config,
            kafka=job.kafka,
            topics=self._topics,
            run_id=job.run_id,
            max_queue_bytes=job.max_queue_bytes,
            on_wait=on_wait,
            status=self._status,
            on_failed_delivery=self._failed,
        )
        self._relations = [snapshot_relation(info, config) for info in job.tables]
        self._captured = [
            build_table(
                relation,
                {c.name: c for c in info.columns},
                info.primary_key,
                config,
                warn=lambda _: None,
                snapshot=True,
            )
            for relation, info in zip(self._relations, job.tables, strict=True)
        ]
        self._position = SourcePosition(
            tx_id=job.tx_id, commit_time_us=job.started_us, last_commit_lsn=None, snapshot="true"
        )
        self._lsn = Lsn(job.consistent_lsn)

    def _failed(self, error: KafkaError, message: Message) -> None:
        if not self._failures:
            self._failures.append(str(delivery_error(error, message)))

    def copy(self, chunk: Chunk, *, check: Callable[[], bool], every: int) -> bool:
        """Produce the chunk's rows but its last, which goes to the parent in the ``chunk`` message. Every
        ``every`` rows: report, then ``check``; False (and the chunk left unfinished) once ``check`` says stop."""
        table = self._captured[chunk.table]
        names = [c.name for c in self._relations[chunk.table].columns]
        sink, position, lsn, send = self._sink, self._position, self._lsn, self._send
        held: RawRow | None = None
        rows = 0
        for raw in copy_rows(self._conn, self._job.tables[chunk.table].table, names, where=chunk.condition()):
            if held is not None:
                row = table.row(held)
                sink.emit(ChangeEvent("r", table, table.key(row), None, row, position, lsn, None))
            held = raw
            rows += 1
            if rows % every == 0:
                self._counts.report(send)
                send(("progress", chunk.table, every))
                if self._failures:
                    raise SinkError(self._failures[0])
                if not check():
                    return False
        send(("chunk", chunk.table, chunk.number, rows % every, held))
        return True

    def finish(self, *, check: Callable[[], bool]) -> bool:
        """Wait until Kafka acknowledged every record, then report ``done``; False if ``check`` said stop."""
        while self._sink.flush(PARENT_CHECK_S):
            if not check():
                return False
        if self._failures:
            raise SinkError(self._failures[0])
        self._counts.report(self._send)
        self._send(("done",))
        return True

    def close(self) -> None:
        """Stop its Kafka clients: after ``finish``, or on a stop or failure (its records are then not
        confirmed: the snapshot runs again)."""
        self._sink.close()
        self._topics.close()


def _check_parent(parent_pid: int) -> None:
    if os.getppid() != parent_pid:
        raise SourceError("the snapshot's parent process is gone")


def _next_chunk(channel: Connection, parent_pid: int) -> Chunk | None:
    while not channel.poll(PARENT_CHECK_S):
        _check_parent(parent_pid)
    chunk: Chunk | None = channel.recv()
    return chunk
