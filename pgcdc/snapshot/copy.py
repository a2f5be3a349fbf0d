"""Read a table's rows as text with COPY, inside a transaction that imports the exported snapshot."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import psycopg
from psycopg import sql

from pgcdc.decode.relation import TableId
from pgcdc.replication.stream import TEXT_OUTPUT_OPTIONS


def snapshot_connection(conninfo: str, snapshot_name: str) -> psycopg.Connection[tuple[object, ...]]:
    """A connection in a REPEATABLE READ transaction that sees exactly the exported snapshot."""
    conn = psycopg.connect(conninfo, options=TEXT_OUTPUT_OPTIONS)
    conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
    conn.execute(sql.SQL("SET TRANSACTION SNAPSHOT {}").format(sql.Literal(snapshot_name)))
    return conn


def copy_rows(
    conn: psycopg.Connection[tuple[object, ...]], table: TableId, columns: Sequence[str]
) -> Iterator[tuple[str | None, ...]]:
    """The table's rows with the columns in the given order, each value as PostgreSQL's text output (or None).

    COPY's text format is the same text pgoutput sends, so the streaming converters apply unchanged."""
    statement = sql.SQL("COPY (SELECT {} FROM {}) TO STDOUT").format(
        sql.SQL(", ").join(sql.Identifier(c) for c in columns), sql.Identifier(table.schema, table.table)
    )
    with conn.cursor() as cursor, cursor.copy(statement) as copy:
        yield from copy.rows()


def estimated_rows(conn: psycopg.Connection[tuple[object, ...]], oid: int) -> int:
    """The planner's row estimate: enough for progress, without a count(*) over the whole table."""
    row = conn.execute(
        "SELECT GREATEST(reltuples, 0)::bigint FROM pg_class WHERE oid = %s", (oid,)
    ).fetchone()
    return int(row[0]) if row else 0  # type: ignore[call-overload]
