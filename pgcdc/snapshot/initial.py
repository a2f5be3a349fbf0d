"""Copy the captured tables into Kafka as ``op: r`` events marked first / true / last as Debezium marks them.

Each table's rows are written in one order per topic: its first row (``first_in_data_collection``), the rest,
and its last row (``last_in_data_collection``); the snapshot's very first row is ``first`` and its very last
``last``. Small snapshots are copied here, one table after another. Large tables are split into chunks copied by
this process and worker processes (``parallel``), each producing its own records; to keep the order above across several
producers, this process writes each table's first row before the workers start and, once every worker's records
are acknowledged, each chunk's last row.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import psycopg

from pgcdc.ack.tracker import AckTracker, TransactionAck
from pgcdc.config import ConnectorConfig
from pgcdc.events import EventSink
from pgcdc.events.change import ChangeEvent, SourcePosition
from pgcdc.events.table import CapturedTable, build_table
from pgcdc.log_setup import current_log_setup
from pgcdc.produce.client import KafkaSettings
from pgcdc.produce.producer import KafkaSink
from pgcdc.replication.catalog import TableInfo
from pgcdc.snapshot.copy import (
    RawRow,
    copy_rows,
    estimated_rows,
    reads_row_addresses,
    relation_pages,
    snapshot_connection,
    snapshot_relation,
)
from pgcdc.snapshot.export import ExportedSnapshot
from pgcdc.snapshot.pages import Chunk, chunk_count, plan_chunks
from pgcdc.snapshot.parallel import ParallelCopy
from pgcdc.snapshot.worker import WorkerJob

log = logging.getLogger(__name__)

# Rows between progress updates and stop checks: often enough for a live progress bar, cheap per row.
PROGRESS_EVERY_ROWS = 2000

SNAPSHOT_FLAGS = ("first", "first_in_data_collection", "true", "last_in_data_collection", "last")


@dataclass(slots=True)
class _Table:
    """One table of this snapshot: how to read it, and how it is split."""

    info: TableInfo
    captured: CapturedTable
    columns: list[str]
    expected: int
    pages: int
    chunks: int


class SnapshotReader:
    """Reads every captured table through the exported snapshot and hands ``r`` events to the sink."""

    def __init__(
        self,
        *,
        config: ConnectorConfig,
        kafka: KafkaSettings,
        sink: EventSink,
        tracker: AckTracker,
        progress: dict[str, Any],
        stop: threading.Event,
        warn: Callable[[str], None],
        run_id: str | None = None,
    ) -> None:
        """``run_id``: the context headers' run id, which parallel workers' records carry too."""
        self._config = config
        self._run_id = run_id
        self._kafka = kafka
        self._sink = sink
        self._tracker = tracker
        self._progress = progress
        self._stop = stop
        self._warn = warn
        self._pending: tuple[CapturedTable, RawRow, str] | None = None
        self._emitted = 0
        self._clock = time.monotonic()

    def run(self, snapshot: ExportedSnapshot, tables: list[TableInfo]) -> bool:
        """Emit every row; True when all tables were read, False when stopped first."""
        conn = snapshot_connection(self._config.database.conninfo(), snapshot.name)
        try:
            row = conn.execute("SELECT txid_current()").fetchone()
            tx_id = int(row[0]) if row else None  # type: ignore[call-overload]
            started_us = time.time_ns() // 1000
            positions = {
                flag: SourcePosition(
                    tx_id=tx_id, commit_time_us=started_us, last_commit_lsn=None, snapshot=flag
                )
                for flag in SNAPSHOT_FLAGS
            }
            ack = self._tracker.begin()
            planned = [self._plan(conn, info) for info in tables]

            def hand_over(final: bool = False) -> None:
                self._hand_over(positions, snapshot, ack, final=final)

            # Exactly-once: the copy is one Kafka transaction, which only the connector's own producer can hold.
            threads = 1 if self._config.exactly_once else self._config.snapshot_max_threads
            parallel = (
                threads > 1 and sum(t.chunks for t in planned) > 1 and isinstance(self._sink, KafkaSink)
            )
            if parallel and not all(reads_row_addresses(conn, t.info.oid) for t in planned):
                log.info(
                    "snapshot in one process: the role may not read ctid of every table (SELECT on columns only)"
                )
                parallel = False
            self._start_progress(planned, workers=threads if parallel else 1)
            if parallel and isinstance(self._sink, KafkaSink):
                job = WorkerJob(
                    conninfo=self._config.database.conninfo(),
                    snapshot_name=snapshot.name,
                    config=self._config,
                    kafka=self._kafka,
                    tables=tuple(tables),
                    tx_id=tx_id,
                    started_us=started_us,
                    consistent_lsn=snapshot.consistent_lsn,
                    max_queue_bytes=max(1 << 20, self._config.snapshot_max_queue_bytes // threads),
                    parent_pid=os.getpid(),
                    run_id=self._run_id,
                    log=current_log_setup(),
                )
                if not self._copy_parallel(conn, planned, job, self._sink, hand_over):
                    return False
            elif not self._copy_here(conn, planned, hand_over):
                return False
            hand_over(final=True)
            self._finish_progress()
            self._tracker.commit(ack, snapshot.consistent_lsn)
            return True
        finally:
            conn.close()

    def _plan(self, conn: psycopg.Connection[tuple[object, ...]], info: TableInfo) -> _Table:
        config = self._config
        relation = snapshot_relation(info, config)
        captured = build_table(
            relation,
            {c.name: c for c in info.columns},
            info.primary_key,
            config,
            warn=self._warn,
            snapshot=True,
        )
        expected = estimated_rows(conn, info.oid)
        pages = relation_pages(conn, info.oid)
        chunks = chunk_count(
            estimated_rows=expected,
            pages=pages,
            fetch_size=config.snapshot_fetch_size,
            most=config.snapshot_max_threads * config.snapshot_max_threads_multiplier,
            server_version=conn.info.server_version,
        )
        return _Table(info, captured, [c.name for c in relation.columns], expected, pages, chunks)

    def _copy_here(
        self,
        conn: psycopg.Connection[tuple[object, ...]],
        planned: list[_Table],
        hand_over: Callable[[], None],
    ) -> bool:
        """One table after another, in this process."""
        for table in planned:
            first = True
            scanned = 0
            for raw in copy_rows(conn, table.info.table, table.columns):
                hand_over()
                self._pending = (table.captured, raw, "first_in_data_collection" if first else "true")
                first = False
                scanned += 1
                if scanned % PROGRESS_EVERY_ROWS == 0:
                    self._count(str(table.info.table), PROGRESS_EVERY_ROWS)
                    if self._stop.is_set():
                        return False
            self._count(str(table.info.table), scanned % PROGRESS_EVERY_ROWS)
            self._table_done(str(table.info.table))
            if self._pending is not None and self._pending[0] is table.captured:
                self._pending = (table.captured, self._pending[1], "last_in_data_collection")
            log.info("snapshot of %s: %d row(s)", table.info.table, scanned)
        return True

    def _copy_parallel(
        self,
        conn: psycopg.Connection[tuple[object, ...]],
        planned: list[_Table],
        job: WorkerJob,
        sink: KafkaSink,
        hand_over: Callable[[], None],
    ) -> bool:
        """Chunks in this process and worker processes, each through a producer of its own; each table's first
        row before them and its chunks' last rows after, through the connector's producer."""
        chunks: list[Chunk] = []
        alone: dict[int, RawRow] = {}
        topics: list[str] = []
        for index, table in enumerate(planned):
            name = str(table.info.table)
            topics.append(sink.ensure_topic(table.captured.topic))
            # Any two rows: the first is written now, and a second one says the table's last row is still to come.
            found = list(copy_rows(conn, table.info.table, ["tableoid", "ctid", *table.columns], limit=2))
            if len(found) == 1:
                alone[index] = found[0][2:]  # the table's only row: written with the last rows
                self._count(name, 1)
            if len(found) < 2:
                self._table_done(name)
                continue
            hand_over()
            self._pending = (table.captured, found[0][2:], "first_in_data_collection")
            self._count(name, 1)
            chunks += plan_chunks(
                index, pages=table.pages, count=table.chunks, excluded=((str(found[0][0]), str(found[0][1])),)
            )
        hand_over()  # the last first row: its table's other rows follow, so it is never the snapshot's last
        if chunks:
            if not self._flushed(sink):
                return False
            remaining = {i: sum(1 for c in chunks if c.table == i) for i in range(len(planned))}

            def chunk_done(index: int) -> None:
                remaining[index] -= 1
                if remaining[index] == 0:
                    self._table_done(str(planned[index].info.table))

            copy = ParallelCopy(
                job=dataclasses.replace(job, topics=tuple(topics)),
                readers=self._config.snapshot_max_threads,
                stop=self._stop,
                on_rows=lambda index, rows: self._count(str(planned[index].info.table), rows),
                on_chunk=chunk_done,
                on_counts=sink.add_counts,
                conn=conn,
                idle=lambda: sink.poll(0),
            )
            last_rows = copy.run(chunks)
            if last_rows is None:
                return False
        else:
            last_rows = {}
        for index, table in enumerate(planned):
            held = [last_rows.get((index, n)) for n in range(table.chunks)]
            rows = [r for r in held if r is not None] or ([alone[index]] if index in alone else [])
            for n, raw in enumerate(rows):
                hand_over()
                flag = "last_in_data_collection" if n == len(rows) - 1 else "true"
                self._pending = (table.captured, raw, flag)
            log.info(
                "snapshot of %s: %d row(s)",
                table.info.table,
                self._tables[str(table.info.table)]["rows_scanned"],
            )
        return True

    def _flushed(self, sink: KafkaSink) -> bool:
        """Wait until Kafka acknowledged what this process produced; False if stopped first."""
        while sink.flush(0.5):
            if self._stop.is_set():
                return False
        self._tracker.raise_if_failed()
        return True

    def _hand_over(
        self,
        positions: dict[str, SourcePosition],
        snapshot: ExportedSnapshot,
        ack: TransactionAck,
        *,
        final: bool = False,
    ) -> None:
        """Emit the row held back one step, now that it is known whether another row follows it."""
        if self._pending is None:
            return
        table, raw, flag = self._pending
        if final:
            flag = "last"
        elif self._emitted == 0:
            flag = "first"
        self._pending = None
        self._emitted += 1
        row = table.row(raw)
        self._sink.emit(
            ChangeEvent("r", table, table.key(row), None, row, positions[flag], snapshot.consistent_lsn, ack)
        )

    # --- progress, for the status the API and CLI show ------------------------------------------------------

    def _start_progress(self, planned: list[_Table], *, workers: int) -> None:
        self._tables: dict[str, dict[str, Any]] = {
            str(t.info.table): {"rows_expected": t.expected, "rows_scanned": 0, "done": False}
            for t in planned
        }
        self._clock = time.monotonic()
        self._progress.update(
            tables_total=len(planned),
            tables_remaining=len(planned),
            rows_expected=sum(t.expected for t in planned),
            rows_scanned=0,
            rows_per_second=0.0,
            threads=workers,
            tables=self._tables,
        )

    def _count(self, table: str, rows: int) -> None:
        if not rows:
            return
        self._tables[table]["rows_scanned"] += rows
        progress = self._progress
        progress["rows_scanned"] += rows
        elapsed = time.monotonic() - self._clock
        if elapsed > 0:
            progress["rows_per_second"] = round(progress["rows_scanned"] / elapsed, 1)

    def _table_done(self, table: str) -> None:
        """The estimate gives way to the count once a table is read: progress ends at rows done == rows."""
        entry = self._tables[table]
        self._progress["rows_expected"] += entry["rows_scanned"] - entry["rows_expected"]
        entry.update(rows_expected=entry["rows_scanned"], done=True)
        self._progress["tables_remaining"] -= 1

    def _finish_progress(self) -> None:
        elapsed = time.monotonic() - self._clock
        progress = self._progress
        progress["rows_per_second"] = round(progress["rows_scanned"] / elapsed, 1) if elapsed > 0 else 0.0
