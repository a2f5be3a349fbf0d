"""Copy the captured tables into Kafka as ``op: r`` events marked first / true / last as Debezium marks them."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from pgcdc.ack.tracker import AckTracker, TransactionAck
from pgcdc.config import ConnectorConfig
from pgcdc.decode.messages import RelationColumn, RelationMessage
from pgcdc.events import EventSink
from pgcdc.events.change import ChangeEvent, Row, SourcePosition
from pgcdc.events.table import CapturedTable, build_table
from pgcdc.replication.catalog import TableInfo
from pgcdc.snapshot.copy import copy_rows, estimated_rows, snapshot_connection
from pgcdc.snapshot.export import ExportedSnapshot

log = logging.getLogger(__name__)

# Rows between progress updates and stop checks: often enough for a live progress bar, cheap per row.
PROGRESS_EVERY_ROWS = 2000

SNAPSHOT_FLAGS = ("first", "first_in_data_collection", "true", "last_in_data_collection", "last")


def snapshot_relation(info: TableInfo, config: ConnectorConfig) -> RelationMessage:
    """The Relation message pgoutput would send for the table's captured columns, which COPY reads in order."""
    columns = tuple(
        RelationColumn(1 if c.name in info.primary_key else 0, c.name, c.type_oid, c.type_modifier)
        for c in info.columns
        if config.captures_column(info.table.schema, info.table.table, c.name)
    )
    return RelationMessage(info.oid, info.table.schema, info.table.table, info.replica_identity, columns)


class SnapshotReader:
    """Reads every captured table through the exported snapshot and hands ``r`` events to the sink."""

    def __init__(
        self,
        *,
        config: ConnectorConfig,
        sink: EventSink,
        tracker: AckTracker,
        progress: dict[str, Any],
        stop: threading.Event,
        warn: Callable[[str], None],
    ) -> None:
        self._config = config
        self._sink = sink
        self._tracker = tracker
        self._progress = progress
        self._stop = stop
        self._warn = warn
        self._pending: tuple[CapturedTable, Row, str] | None = None
        self._emitted = 0

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
            expected = {str(t.table): estimated_rows(conn, t.oid) for t in tables}
            progress = self._progress
            progress.update(
                tables_total=len(tables),
                tables_remaining=len(tables),
                rows_expected=sum(expected.values()),
                rows_scanned=0,
                rows_per_second=0.0,
            )
            clock = time.monotonic()
            for info in tables:
                relation = snapshot_relation(info, self._config)
                captured = build_table(
                    relation,
                    {c.name: c for c in info.columns},
                    info.primary_key,
                    self._config,
                    warn=self._warn,
                    snapshot=True,
                )
                names = [c.name for c in relation.columns]
                first = True
                scanned_here = 0
                for raw in copy_rows(conn, info.table, names):
                    self._hand_over(positions, snapshot, ack)
                    self._pending = (
                        captured,
                        captured.row(raw),
                        "first_in_data_collection" if first else "true",
                    )
                    first = False
                    scanned_here += 1
                    if scanned_here % PROGRESS_EVERY_ROWS == 0:
                        progress["rows_scanned"] += PROGRESS_EVERY_ROWS
                        progress["rows_per_second"] = round(
                            progress["rows_scanned"] / (time.monotonic() - clock), 1
                        )
                        if self._stop.is_set():
                            return False
                progress["rows_scanned"] += scanned_here % PROGRESS_EVERY_ROWS
                progress["tables_remaining"] -= 1
                if self._pending is not None and self._pending[0] is captured:
                    self._pending = (captured, self._pending[1], "last_in_data_collection")
                log.info("snapshot of %s: %d row(s)", info.table, scanned_here)
            self._hand_over(positions, snapshot, ack, final=True)
            elapsed = time.monotonic() - clock
            progress["rows_per_second"] = round(progress["rows_scanned"] / elapsed, 1) if elapsed > 0 else 0.0
            self._tracker.commit(ack, snapshot.consistent_lsn)
            return True
        finally:
            conn.close()

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
        table, row, flag = self._pending
        if final:
            flag = "last"
        elif self._emitted == 0:
            flag = "first"
        self._pending = None
        self._emitted += 1
        self._sink.emit(
            ChangeEvent("r", table, table.key(row), None, row, positions[flag], snapshot.consistent_lsn, ack)
        )
