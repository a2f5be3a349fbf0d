"""Ad-hoc incremental snapshots while streaming goes on: Debezium's watermarked chunks (DBLog) over the signal table.

A chunk is read by primary key between two rows pgcdc inserts into the signal table, ``<chunk>-open`` and
``<chunk>-close``. The stream meets both in commit order: every change to a key of the chunk that the stream
delivers between them may be newer than what the chunk read, so that key is dropped from the chunk (the stream's
event stands); at ``-close`` the remaining rows are written as ``op: r`` events with the close transaction's ack,
so they are confirmed with that position, and the next chunk is read. A snapshot row therefore never overwrites
a newer change.

While a snapshot runs, the pipeline confirms nothing past ``hold_lsn``: first the commit before the signal that
started it, then the commit before the latest open watermark, which carries the progress (pgcdc.snapshot.progress).
A restart meets that watermark (or the signal) again and goes on from there: at least once, never a gap.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
import psycopg
from psycopg import sql

from pgcdc.ack.tracker import TransactionAck
from pgcdc.config import ConnectorConfig
from pgcdc.errors import SignalError, SourceSetupError
from pgcdc.events import EventSink
from pgcdc.events.change import ChangeEvent, Row, SourcePosition
from pgcdc.events.table import CapturedTable
from pgcdc.lsn import Lsn
from pgcdc.replication.session import TEXT_OUTPUT_OPTIONS
from pgcdc.snapshot.chunks import ChunkSnapshot, RawRow, take_snapshot
from pgcdc.snapshot.copy import estimated_rows
from pgcdc.snapshot.progress import PROGRESS_KEY, SnapshotProgress, TableProgress, decode, encode
from pgcdc.snapshot.signals import (
    ExecuteSnapshot,
    LogSignal,
    Pause,
    StopSnapshot,
    WindowMarker,
    parse_signal,
)
from pgcdc.snapshot.tasks import TableTask, restored_tasks, signalled_tasks

log = logging.getLogger(__name__)

# Tries for a chunk snapshot that misses no committed transaction; the gap lasts microseconds (a commit written
# but not yet visible), so the first retry nearly always settles it.
SETTLE_ATTEMPTS = 20


@dataclass(slots=True)
class _Window:
    """The chunk between its watermarks: rows by their key's JSON, until the close marker releases them."""

    chunk_id: str
    task: TableTask | None
    opened_at: str
    rows: dict[bytes, Row] = field(default_factory=dict)
    open: bool = False
    snapshot: ChunkSnapshot | None = None
    """What the chunk's read saw."""
    resumable: bool = False
    """Its open watermark carries the progress, so the hold may move up to it."""


def _now_text() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


class IncrementalSnapshot:
    """Acts on signals the stream delivers; ``holding`` says the pipeline must not confirm past ``hold_lsn``."""

    def __init__(
        self,
        *,
        config: ConnectorConfig,
        sink: EventSink,
        progress: dict[str, Any],
        confirmed: Callable[[], Lsn],
    ) -> None:
        assert config.signal_table is not None
        self._config = config
        self._sink = sink
        self._progress = progress
        self._confirmed = confirmed
        self._signal_table = sql.Identifier(*config.signal_table)
        self._conn: psycopg.Connection[tuple[object, ...]] | None = None
        self._tasks: list[TableTask] = []
        self._window: _Window | None = None
        self._paused = False
        self._started = 0.0
        self._signal_id = ""
        self.hold_lsn: Lsn | None = None
        """While set, the pipeline confirms nothing past it: a restart then meets the starting signal again."""

    # -- what the stream calls ------------------------------------------------------------------------------

    def signal(self, row: Row, lsn: Lsn, ack: TransactionAck | None, position: SourcePosition) -> None:
        """A row inserted into the signal table, delivered by the stream in commit order."""
        try:
            parsed = parse_signal(row)
            if isinstance(parsed, WindowMarker):
                self._marker(parsed, lsn, ack, position)
            elif isinstance(parsed, ExecuteSnapshot):
                self._execute(parsed)
            elif isinstance(parsed, StopSnapshot):
                self._stop(parsed)
            elif isinstance(parsed, Pause):
                self._pause(parsed)
            elif isinstance(parsed, LogSignal):
                log.info("signal %s: %s", parsed.signal_id, parsed.message)
        except SignalError as err:
            log.warning("%s", err)

    def changed(self, table: CapturedTable, key: Row | None, tx_id: int | None) -> None:
        """A stream event before the window closes: inside the window, or from a transaction the chunk's read did
        not see, its key's chunk row may be older, so the stream's event stands and the row is dropped."""
        window = self._window
        if window is None or window.task is None or key is None or not window.rows:
            return
        if not window.open and (window.snapshot is None or tx_id is None or window.snapshot.sees(tx_id)):
            return
        if table.table == window.task.table and window.rows.pop(orjson.dumps(key), None) is not None:
            log.debug(
                "incremental snapshot: %s %s changed after the chunk's read; its row dropped", table, key
            )

    @property
    def watching(self) -> bool:
        """A chunk is being read or its window is open: ``changed`` must see every row event."""
        return self._window is not None

    @property
    def running(self) -> bool:
        return self.hold_lsn is not None

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    # -- signals --------------------------------------------------------------------------------------------

    def _execute(self, signal: ExecuteSnapshot) -> None:
        conn = self._connection()
        tasks = [
            t
            for t in signalled_tasks(self._config, conn, signal)
            if all(t.table != r.table for r in self._tasks)
        ]
        if not tasks:
            return
        starting = not self.running
        self._tasks.extend(tasks)
        # A window still open (a stopped table's) reads the next chunk when it closes.
        read_now = self._window is None and not self._paused
        log.info(
            "signal %s: incremental snapshot of %s in chunks of %d row(s)",
            signal.signal_id,
            ", ".join(str(t.table) for t in tasks),
            self._config.incremental_chunk_size,
        )
        if starting:
            self._start(signal.signal_id, self._confirmed())
        self._progress["tables_total"] += len(tasks)
        self._progress["tables_remaining"] += len(tasks)
        self._progress["rows_expected"] += sum(estimated_rows(conn, t.info.oid) for t in tasks)
        if read_now:
            self._read_chunk()

    def _start(self, signal_id: str, hold: Lsn, *, rows: int = 0, chunks: int = 0) -> None:
        self.hold_lsn = hold
        self._signal_id = signal_id
        self._started = time.monotonic()
        self._progress.clear()
        self._progress.update(
            kind="incremental",
            state="running",
            running=True,
            signal=signal_id,
            tables_total=0,
            tables_remaining=0,
            rows_expected=0,
            rows_scanned=rows,
            chunks=chunks,
            rows_per_second=0.0,
        )

    def _resume(self, marker: WindowMarker, position: SourcePosition) -> None:
        """An open watermark of this connector's earlier run, met again after a restart: go on from its chunk."""
        progress = decode(marker.data)
        if progress is None or progress.slot != self._config.slot_name:
            return
        tasks = restored_tasks(self._config, self._connection(), progress)
        if not tasks:
            return
        hold = position.last_commit_lsn if position.last_commit_lsn is not None else self._confirmed()
        self._start(progress.signal, hold, rows=progress.rows, chunks=progress.chunks)
        self._tasks = tasks
        self._progress.update(tables_total=len(tasks), tables_remaining=len(tasks))
        log.info(
            "incremental snapshot %s resumed after a restart: %s, from the chunk that was open",
            progress.signal,
            ", ".join(str(t.table) for t in tasks),
        )
        self._read_chunk()

    def _stop(self, signal: StopSnapshot) -> None:
        if not self.running:
            log.info("signal %s: no incremental snapshot is running", signal.signal_id)
            return
        if signal.collections:
            stopped = [
                t
                for t in self._tasks
                if any(p.fullmatch(f"{t.table.schema}.{t.table.table}") for p in signal.collections)
            ]
        else:
            stopped = list(self._tasks)
        for task in stopped:
            self._tasks.remove(task)
            self._progress["tables_remaining"] -= 1
        window = self._window
        if window is not None and window.task in stopped:
            # The open window's rows are not written: the table's snapshot stops here.
            window.rows.clear()
            window.task = None
        log.info(
            "signal %s: incremental snapshot of %s stopped",
            signal.signal_id,
            ", ".join(str(t.table) for t in stopped) or "no table",
        )
        if not self._tasks and (window is None or not window.rows):
            self._finish("stopped")

    def _pause(self, signal: Pause) -> None:
        if signal.resume:
            log.info("signal %s: incremental snapshot resumed", signal.signal_id)
            was_paused, self._paused = self._paused, False
            if was_paused and self._window is None and self._tasks:
                self._read_chunk()
        else:
            log.info("signal %s: incremental snapshot paused after the current chunk", signal.signal_id)
            self._paused = True

    def _marker(
        self, marker: WindowMarker, lsn: Lsn, ack: TransactionAck | None, position: SourcePosition
    ) -> None:
        window = self._window
        if window is None or marker.signal_id != f"{window.chunk_id}-{'open' if marker.opens else 'close'}":
            # A marker of an earlier run (replayed after a restart) or another connector's.
            if marker.opens and not self.running:
                self._resume(marker, position)
            return
        if marker.opens:
            window.open = True
            if window.resumable and position.last_commit_lsn is not None and self.hold_lsn is not None:
                # Everything before this watermark is in Kafka or held by the tracker; a restart resumes here.
                self.hold_lsn = max(self.hold_lsn, position.last_commit_lsn)
            return
        self._window = None
        if window.task is not None and window.rows:
            snapshot_position = SourcePosition(
                tx_id=None,
                commit_time_us=time.time_ns() // 1000,
                last_commit_lsn=position.last_commit_lsn,
                snapshot="incremental",
            )
            table = window.task.captured
            for row in window.rows.values():
                self._sink.emit(
                    ChangeEvent("r", table, table.key(row), None, row, snapshot_position, lsn, ack)
                )
        if self._tasks and not self._paused:
            self._read_chunk()
        elif not self._tasks and self.running:
            self._finish("completed")

    # -- chunks ---------------------------------------------------------------------------------------------

    def _read_chunk(self) -> None:
        """Open a window, read the next non-empty chunk into it, close it; the stream meets both markers."""
        window = _Window(chunk_id=str(uuid.uuid4()), task=None, opened_at=_now_text())
        self._window = window
        opened = {"openWindowTimestamp": window.opened_at}
        try:
            self._insert_marker(
                f"{window.chunk_id}-open", "snapshot-window-open", {**opened, PROGRESS_KEY: self._saved()}
            )
            window.resumable = True
        except psycopg.DataError as err:
            # Too long for the data column (Debezium suggests varchar(2048)): a restart then starts over.
            log.warning(
                "incremental snapshot progress does not fit the signal table (%s); a restart will start the snapshot over",
                str(err).strip().splitlines()[0],
            )
            self._insert_marker(f"{window.chunk_id}-open", "snapshot-window-open", opened)
        while self._tasks:
            task = self._tasks[0]
            try:
                rows = self._chunk(task)
            except (psycopg.ProgrammingError, psycopg.DataError) as err:
                log.warning(
                    "incremental snapshot of %s failed: %s; table skipped (check the signal's "
                    "additional-conditions filter)",
                    task.table,
                    str(err).strip().splitlines()[0] if str(err).strip() else err,
                )
                self._table_done(task, completed=False)
                continue
            if rows:
                window.task = task
                window.snapshot = task.snapshot
                window.rows = rows
                break
            self._table_done(task, completed=True)
        self._insert_marker(
            f"{window.chunk_id}-close",
            "snapshot-window-close",
            {"openWindowTimestamp": window.opened_at, "closeWindowTimestamp": _now_text()},
        )

    def _chunk(self, task: TableTask) -> dict[bytes, Row]:
        conn = self._connection()
        # One snapshot for the chunk's queries, and the list of what it saw (see ChunkSnapshot). A snapshot that
        # misses a committed transaction is taken again: the stream may already have written that transaction's
        # events, and a chunk read without them would be older than they are.
        for attempt in range(SETTLE_ATTEMPTS):
            with conn.transaction():
                conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
                task.snapshot, settled = take_snapshot(conn)
                if settled or attempt == SETTLE_ATTEMPTS - 1:
                    return self._read(conn, task)
            time.sleep(0.001 * (attempt + 1))
        raise AssertionError("unreachable: the last attempt reads")

    def _read(self, conn: psycopg.Connection[tuple[object, ...]], task: TableTask) -> dict[bytes, Row]:
        """The task's next chunk, in the snapshot the transaction holds."""
        if task.max_key is None:
            task.max_key = task.query.max_key(conn)
            if task.max_key is None:
                return {}
        rows: dict[bytes, Row] = {}
        last: RawRow | None = None
        chunk = task.query.read(
            conn, after=task.last_key, up_to=task.max_key, limit=self._config.incremental_chunk_size
        )
        for raw, key in chunk:
            row = task.captured.row(raw)
            rows[orjson.dumps(task.captured.key(row))] = row
            last = key
        if last is not None:
            task.last_key = last
            task.rows += len(rows)
            task.chunks += 1
            progress = self._progress
            progress["table"] = str(task.table)
            progress["rows_scanned"] += len(rows)
            progress["chunks"] += 1
            elapsed = time.monotonic() - self._started
            progress["rows_per_second"] = round(progress["rows_scanned"] / elapsed, 1) if elapsed > 0 else 0.0
        return rows

    def _table_done(self, task: TableTask, *, completed: bool) -> None:
        self._tasks.remove(task)
        self._progress["tables_remaining"] -= 1
        if completed:
            log.info(
                "incremental snapshot of %s: %d row(s) in %d chunk(s)", task.table, task.rows, task.chunks
            )

    def _finish(self, state: str) -> None:
        self.hold_lsn = None
        self._progress.update(state=state, running=False)
        log.info("incremental snapshot %s: %d row(s)", state, self._progress.get("rows_scanned", 0))

    def _saved(self) -> dict[str, Any]:
        return encode(
            SnapshotProgress(
                slot=self._config.slot_name,
                signal=self._signal_id,
                tables=tuple(
                    TableProgress(t.table.schema, t.table.table, t.query.condition, t.last_key, t.max_key)
                    for t in self._tasks
                ),
                rows=int(self._progress.get("rows_scanned", 0)),
                chunks=int(self._progress.get("chunks", 0)),
            )
        )

    def _insert_marker(self, signal_id: str, kind: str, data: dict[str, Any]) -> None:
        conn = self._connection()
        try:
            conn.execute(
                sql.SQL("INSERT INTO {} (id, type, data) VALUES (%s, %s, %s)").format(self._signal_table),
                (signal_id, kind, orjson.dumps(data).decode()),
            )
        except psycopg.errors.InsufficientPrivilege as err:
            raise SourceSetupError(
                f"cannot write an incremental snapshot's watermark: {err.diag.message_primary}; run GRANT INSERT "
                f'ON {self._signal_table.as_string(conn)} TO "{self._config.database.user}"; and restart the '
                "connector (the snapshot starts again)"
            ) from err

    def _connection(self) -> psycopg.Connection[tuple[object, ...]]:
        if self._conn is None or self._conn.closed:
            self._conn = psycopg.connect(
                self._config.database.conninfo(), autocommit=True, options=TEXT_OUTPUT_OPTIONS
            )
        return self._conn
