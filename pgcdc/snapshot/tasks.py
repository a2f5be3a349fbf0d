"""The tables an incremental snapshot reads: from a signal's data-collections, or from saved progress."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import psycopg

from pgcdc.config import ConnectorConfig
from pgcdc.decode.relation import TableId
from pgcdc.events.table import CapturedTable, build_table
from pgcdc.replication import catalog
from pgcdc.replication.catalog import TableInfo
from pgcdc.snapshot.chunks import ChunkQuery, ChunkSnapshot, RawRow
from pgcdc.snapshot.copy import snapshot_relation
from pgcdc.snapshot.progress import SnapshotProgress
from pgcdc.snapshot.signals import ExecuteSnapshot

log = logging.getLogger(__name__)

Connection = psycopg.Connection[tuple[object, ...]]


@dataclass(slots=True, eq=False)
class TableTask:
    """One table of the running snapshot: how to read it and how far it got."""

    info: TableInfo
    captured: CapturedTable
    """Converts the chunk's rows with the initial snapshot's converters (the captured columns, in order)."""
    query: ChunkQuery
    max_key: RawRow | None = None
    last_key: RawRow | None = None
    rows: int = 0
    chunks: int = 0
    snapshot: ChunkSnapshot | None = None
    """What the latest chunk's read saw."""

    @property
    def table(self) -> TableId:
        return self.info.table


def _task(
    config: ConnectorConfig,
    conn: Connection,
    signal_id: str,
    found: tuple[int, TableId, str],
    condition: str | None,
) -> TableTask | None:
    oid, table, identity = found
    if not config.captures_table(table.schema, table.table):
        log.warning(
            "signal %s: table %s is not captured by this connector (table.include.list / table.exclude.list); "
            "skipped",
            signal_id,
            table,
        )
        return None
    info = catalog.describe_table(conn, oid, table, identity)
    keys = config.key_columns_for(table.schema, table.table) or info.primary_key
    if not keys:
        log.warning(
            "signal %s: table %s has no primary key, so it cannot be read in chunks; skipped (add a primary "
            "key or set message.key.columns for it)",
            signal_id,
            table,
        )
        return None
    relation = snapshot_relation(info, config)
    captured = build_table(
        relation, {c.name: c for c in info.columns}, info.primary_key, config, warn=log.warning, queried=True
    )
    query = ChunkQuery(
        table=table, columns=tuple(c.name for c in relation.columns), keys=tuple(keys), condition=condition
    )
    return TableTask(info=info, captured=captured, query=query)


def signalled_tasks(config: ConnectorConfig, conn: Connection, signal: ExecuteSnapshot) -> list[TableTask]:
    """The captured tables the signal names (by name or regex), each once; the others are logged and skipped."""
    found = catalog.find_tables(conn)
    tasks: list[TableTask] = []
    for pattern in signal.collections:
        matched = [row for row in found if pattern.fullmatch(f"{row[1].schema}.{row[1].table}")]
        if not matched:
            log.warning(
                "signal %s: data-collection %r matches no table of database %r; skipped",
                signal.signal_id,
                pattern.pattern,
                config.database.dbname,
            )
        for row in matched:
            qualified = f"{row[1].schema}.{row[1].table}"
            filters = [f"({text})" for p, text in signal.conditions if p.fullmatch(qualified)]
            task = _task(config, conn, signal.signal_id, row, " AND ".join(filters) or None)
            if task is not None and all(t.table != task.table for t in tasks):
                tasks.append(task)
    return tasks


def restored_tasks(config: ConnectorConfig, conn: Connection, progress: SnapshotProgress) -> list[TableTask]:
    """The tables of saved progress, each from where it stopped; a table dropped since is logged and skipped."""
    found = {row[1]: row for row in catalog.find_tables(conn)}
    tasks: list[TableTask] = []
    for saved in progress.tables:
        row = found.get(TableId(saved.schema, saved.table))
        task = _task(config, conn, progress.signal, row, saved.condition) if row is not None else None
        if task is None:
            log.warning(
                "incremental snapshot %s: table %s.%s is gone; skipped",
                progress.signal,
                saved.schema,
                saved.table,
            )
            continue
        task.last_key, task.max_key = saved.after, saved.up_to
        tasks.append(task)
    return tasks
