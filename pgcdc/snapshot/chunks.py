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


_XID_MASK = 0xFFFFFFFF


def _precedes(a: int, b: int) -> bool:
    """a < b for 32-bit transaction ids, which wrap around (PostgreSQL's TransactionIdPrecedes)."""
    return ((a - b) & _XID_MASK) > 0x7FFFFFFF


@dataclass(frozen=True, slots=True)
class ChunkSnapshot:
    """Which transactions a chunk's read saw, from ``pg_current_snapshot()`` taken in the read's transaction.

    The watermarks alone miss one case: a transaction whose commit record comes before the open watermark in the
    WAL, but which was not yet visible when the chunk was read (its backend had written its commit and not yet
    left the proc array; group commit makes that gap real). Its events reach the stream before the window opens,
    yet the chunk holds the row as it was before them. Such a transaction is in the snapshot's in-progress list."""

    xmin: int
    xmax: int
    in_progress: frozenset[int]

    @classmethod
    def parse(cls, text: str) -> ChunkSnapshot:
        """``xmin:xmax:xip,...`` with 64-bit ids; kept as the 32-bit ids pgoutput's Begin carries."""
        xmin, xmax, xip = text.split(":")
        return cls(
            int(xmin) & _XID_MASK,
            int(xmax) & _XID_MASK,
            frozenset(int(x) & _XID_MASK for x in xip.split(",") if x),
        )

    def sees(self, xid: int) -> bool:
        """Whether the chunk's read saw the committed transaction ``xid``."""
        if _precedes(xid, self.xmin):
            return True
        return _precedes(xid, self.xmax) and xid not in self.in_progress


_SNAPSHOT_SQL = {
    True: "SELECT pg_current_snapshot()::text, EXISTS (SELECT 1 FROM pg_snapshot_xip(pg_current_snapshot())"
    " x WHERE pg_xact_status(x) = 'committed')",
    False: "SELECT txid_current_snapshot()::text, EXISTS (SELECT 1 FROM txid_snapshot_xip(txid_current_snapshot())"
    " x WHERE txid_status(x) = 'committed')",
}


def take_snapshot(conn: psycopg.Connection[tuple[object, ...]]) -> tuple[ChunkSnapshot, bool]:
    """The current transaction's snapshot, and whether it is settled: False when a transaction it counts as in
    progress has already committed (and so may already have been streamed, before the chunk's read). Call it first
    in a REPEATABLE READ transaction, so the chunk's queries use this very snapshot."""
    row = conn.execute(_SNAPSHOT_SQL[conn.info.server_version >= 130000]).fetchone()
    assert row is not None
    return ChunkSnapshot.parse(str(row[0])), not row[1]
