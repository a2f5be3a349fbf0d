"""How a table is split for a parallel snapshot: ranges of physical pages (ctid), which need no index.

PostgreSQL 14+ reads a ctid range with a TID range scan, touching only its own pages; older servers would scan the
whole table for every range, so there a table is one chunk. The last range has no upper bound: the table can only
have grown since the snapshot, and a row the snapshot sees is never in a page that did not exist then.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from psycopg import sql

TID_RANGE_SCAN_VERSION = 140000
"""PostgreSQL 14 added TID range scans."""


@dataclass(frozen=True, slots=True)
class Chunk:
    """Pages [first_page, end_page) of one table; ``end_page`` None reads to the table's end."""

    table: int
    """Index of the table in the snapshot's table list."""
    number: int
    """0, 1, ... in page order: the order in which the chunks' last rows are written."""
    first_page: int
    end_page: int | None
    excluded: tuple[tuple[str, str], ...] = ()
    """(tableoid, ctid) of rows written apart from the chunks (the table's first row). A ctid alone names a row
    only within one relation: the rows of a partitioned table come from several."""

    def condition(self) -> sql.Composable | None:
        """The WHERE clause that selects exactly this chunk's rows; None for a whole table."""
        parts: list[sql.Composable] = []
        if self.first_page > 0:
            parts.append(sql.SQL("ctid >= {}::tid").format(sql.Literal(f"({self.first_page},0)")))
        if self.end_page is not None:
            parts.append(sql.SQL("ctid < {}::tid").format(sql.Literal(f"({self.end_page},0)")))
        parts += [
            sql.SQL("NOT (tableoid = {}::oid AND ctid = {}::tid)").format(sql.Literal(oid), sql.Literal(ctid))
            for oid, ctid in self.excluded
        ]
        return sql.SQL(" AND ").join(parts) if parts else None


def chunk_count(*, estimated_rows: int, pages: int, fetch_size: int, most: int, server_version: int) -> int:
    """Chunks of at least ``fetch_size`` rows (by the estimate), at most ``most``, never more than pages."""
    if server_version < TID_RANGE_SCAN_VERSION:
        return 1
    return max(1, min(most, math.ceil(estimated_rows / fetch_size), pages))


def plan_chunks(
    table: int, *, pages: int, count: int, excluded: tuple[tuple[str, str], ...] = ()
) -> list[Chunk]:
    """``count`` ranges of about equal pages covering the table, the last one open-ended."""
    bounds = [pages * i // count for i in range(count)]
    return [
        Chunk(
            table=table,
            number=i,
            first_page=first,
            end_page=bounds[i + 1] if i + 1 < count else None,
            excluded=excluded,
        )
        for i, first in enumerate(bounds)
    ]
