"""A table read in primary-key chunks as PostgreSQL's text: keyset pagination by row-value comparison."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import psycopg
from psycopg import sql

from pgcdc.decode.relation import TableId

RawRow = tuple[str | None, ...]
"""Values as PostgreSQL prints them (COPY's text, which is what pgoutput sends), or None for NULL."""


def _literal_row(values: RawRow) -> sql.Composable:
    # Text literals of the values PostgreSQL printed: the comparison casts them back to the key's types.
    return sql.SQL("({})").format(sql.SQL(", ").join(sql.Literal(v) for v in values))


def _copy(conn: psycopg.Connection[tuple[object, ...]], query: sql.Composable) -> Iterator[RawRow]:
    with conn.cursor() as cursor, cursor.copy(sql.SQL("COPY ({}) TO STDOUT").format(query)) as copy:
        yield from copy.rows()


@dataclass(frozen=True, slots=True)
class ChunkQuery:
    """How to read one table by key: its captured columns, its key columns and an optional SQL condition."""

    table: TableId
    columns: tuple[str, ...]
    keys: tuple[str, ...]
    condition: str | None
    """The signal's additional-conditions filter. SQL by design, as in Debezium: whoever may insert into the
    signal table may run it."""

    def _where(self, *extra: sql.Composable) -> sql.Composable:
        conditions: list[sql.Composable] = [sql.SQL(self.condition)] if self.condition is not None else []
        conditions.extend(extra)
        if not conditions:
            return sql.SQL("")
        return sql.SQL(" WHERE ") + sql.SQL(" AND ").join(conditions)

    def _name(self) -> sql.Composable:
        return sql.Identifier(self.table.schema, self.table.table)

    def _key_list(self) -> sql.Composable:
        return sql.SQL(", ").join(sql.Identifier(k) for k in self.keys)

    def max_key(self, conn: psycopg.Connection[tuple[object, ...]]) -> RawRow | None:
        """The largest key matching the condition: where the snapshot ends (rows added later are streamed)."""
        descending = sql.SQL(", ").join(sql.SQL("{} DESC").format(sql.Identifier(k)) for k in self.keys)
        query = sql.SQL("SELECT {} FROM {}{} ORDER BY {} LIMIT 1").format(
            self._key_list(), self._name(), self._where(), descending
        )
        return next(iter(_copy(conn, query)), None)

    def read(
        self,
        conn: psycopg.Connection[tuple[object, ...]],
        *,
        after: RawRow | None,
        up_to: RawRow,
        limit: int,
    ) -> Iterator[tuple[RawRow, RawRow]]:
        """(row of ``columns``, its key) for up to ``limit`` rows with after < key <= up_to, in key order."""
        key_row = sql.SQL("({})").format(self._key_list())
        bounds = [sql.SQL("{} <= {}").format(key_row, _literal_row(up_to))]
        if after is not None:
            bounds.append(sql.SQL("{} > {}").format(key_row, _literal_row(after)))
        selected = sql.SQL(", ").join(sql.Identifier(c) for c in [*self.columns, *self.keys])
        query = sql.SQL("SELECT {} FROM {}{} ORDER BY {} LIMIT {}").format(
            selected, self._name(), self._where(*bounds), self._key_list(), sql.Literal(limit)
        )
        width = len(self.columns)
        for raw in _copy(conn, query):
            yield raw[:width], raw[width:]
