"""Read a table's rows as text with COPY, inside a transaction that imports the exported snapshot."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import orjson
import psycopg
from psycopg import sql

from pgcdc.config import ConnectorConfig
from pgcdc.decode.messages import RelationColumn, RelationMessage
from pgcdc.decode.relation import TableId
from pgcdc.replication.catalog import TableInfo
from pgcdc.replication.session import TEXT_OUTPUT_OPTIONS

RawRow = tuple[str | None, ...]
"""A row as COPY's text format gives it: each value as PostgreSQL's text output, or None for NULL."""


def snapshot_connection(conninfo: str, snapshot_name: str) -> psycopg.Connection[tuple[object, ...]]:
    """A connection in a REPEATABLE READ transaction that sees exactly the exported snapshot."""
    conn = psycopg.connect(conninfo, options=TEXT_OUTPUT_OPTIONS)
    conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
    conn.execute(sql.SQL("SET TRANSACTION SNAPSHOT {}").format(sql.Literal(snapshot_name)))
    return conn


def copy_rows(
    conn: psycopg.Connection[tuple[object, ...]],
    table: TableId,
    columns: Sequence[str],
    *,
    where: sql.Composable | None = None,
    limit: int | None = None,
) -> Iterator[RawRow]:
    """The table's rows (those matching ``where``, at most ``limit``) with the columns in the given order.

    COPY's text format is the same text pgoutput sends, so the streaming converters apply unchanged. The system
    columns ``tableoid`` and ``ctid`` name a row's relation and place, which the parallel snapshot uses to leave
    rows out."""
    statement = sql.SQL("SELECT {} FROM {}").format(
        sql.SQL(", ").join(sql.Identifier(c) for c in columns), sql.Identifier(table.schema, table.table)
    )
    if where is not None:
        statement = sql.SQL("{} WHERE {}").format(statement, where)
    if limit is not None:
        statement = sql.SQL("{} LIMIT {}").format(statement, sql.Literal(limit))
    with conn.cursor() as cursor, cursor.copy(sql.SQL("COPY ({}) TO STDOUT").format(statement)) as copy:
        yield from copy.rows()


def snapshot_relation(info: TableInfo, config: ConnectorConfig) -> RelationMessage:
    """The Relation message pgoutput would send for the table's captured columns, which COPY reads in order."""
    columns = tuple(
        RelationColumn(1 if c.name in info.primary_key else 0, c.name, c.type_oid, c.type_modifier)
        for c in info.columns
        if config.captures_column(info.table.schema, info.table.table, c.name)
    )
    return RelationMessage(info.oid, info.table.schema, info.table.table, info.replica_identity, columns)


def estimated_rows(conn: psycopg.Connection[tuple[object, ...]], oid: int) -> int:
    """The planner's row estimate: enough for progress, without a count(*) over the whole table.

    The planner's, not ``pg_class.reltuples``: it scales the last ANALYZE's density to the table's size now,
    and estimates from the size alone for a table never analyzed (reltuples -1)."""
    row = conn.execute("SELECT %s::regclass::text", (oid,)).fetchone()
    if row is None:
        return 0
    plan = conn.execute(
        sql.SQL("EXPLAIN (FORMAT JSON) SELECT 1 FROM {}").format(sql.SQL(str(row[0])))
    ).fetchone()
    if plan is None:
        return 0
    document: Any = orjson.loads(plan[0]) if isinstance(plan[0], str | bytes) else plan[0]
    return max(0, int(document[0]["Plan"]["Plan Rows"]))


def relation_pages(conn: psycopg.Connection[tuple[object, ...]], oid: int) -> int:
    """The table's size in pages now; every row the snapshot sees lies in a page below it."""
    row = conn.execute(
        "SELECT pg_relation_size(%s::regclass) / current_setting('block_size')::bigint", (oid,)
    ).fetchone()
    return int(row[0]) if row else 0  # type: ignore[call-overload]


def reads_row_addresses(conn: psycopg.Connection[tuple[object, ...]], oid: int) -> bool:
    """Whether the role may read ``tableoid`` and ``ctid``: a role granted SELECT on some columns only may not, and
    its tables are then copied whole, by this process."""
    row = conn.execute(
        "SELECT has_column_privilege(%s::oid, 'ctid', 'SELECT') AND has_column_privilege(%s::oid, 'tableoid', 'SELECT')",
        (oid, oid),
    ).fetchone()
    return bool(row and row[0])
