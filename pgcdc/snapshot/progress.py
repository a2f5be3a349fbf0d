"""An incremental snapshot's progress, carried in its open watermark so that a restart resumes from that chunk.

Debezium keeps this in its offsets; pgcdc's position is the slot, so the progress travels in the WAL itself: each
``-open`` watermark's data holds the queue of tables and where the chunk starts. The pipeline confirms nothing
past the commit before the latest open watermark, so a restart meets it again and picks up from there.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from pgcdc.snapshot.chunks import RawRow

PROGRESS_KEY = "pgcdcProgress"
"""The key, beside Debezium's openWindowTimestamp, that holds the progress in the open watermark's data."""


@dataclass(frozen=True, slots=True)
class TableProgress:
    schema: str
    table: str
    condition: str | None
    after: RawRow | None
    """The key the next chunk starts after; None from the table's first row."""
    up_to: RawRow | None
    """The largest key to read, once known."""


@dataclass(frozen=True, slots=True)
class SnapshotProgress:
    slot: str
    """The connector's slot: watermarks of another connector sharing the signal table are not taken up."""
    signal: str
    tables: tuple[TableProgress, ...]
    rows: int
    chunks: int


def encode(progress: SnapshotProgress) -> dict[str, Any]:
    return {
        "slot": progress.slot,
        "signal": progress.signal,
        "rows": progress.rows,
        "chunks": progress.chunks,
        "tables": [
            {
                "schema": t.schema,
                "table": t.table,
                "filter": t.condition,
                "after": None if t.after is None else list(t.after),
                "upTo": None if t.up_to is None else list(t.up_to),
            }
            for t in progress.tables
        ],
    }


def _key(value: Any) -> RawRow | None:
    if value is None:
        return None
    if not isinstance(value, list) or not all(v is None or isinstance(v, str) for v in value):
        raise ValueError("a key is a list of strings")
    return tuple(value)


def decode(data: str | None) -> SnapshotProgress | None:
    """The progress in an open watermark's data; None when it holds none (Debezium's, or an older pgcdc's)."""
    if not data:
        return None
    try:
        document = orjson.loads(data)
        found = document.get(PROGRESS_KEY) if isinstance(document, dict) else None
        if not isinstance(found, dict):
            return None
        tables = tuple(
            TableProgress(
                schema=str(t["schema"]),
                table=str(t["table"]),
                condition=None if t.get("filter") is None else str(t["filter"]),
                after=_key(t.get("after")),
                up_to=_key(t.get("upTo")),
            )
            for t in found["tables"]
        )
        return SnapshotProgress(
            slot=str(found["slot"]),
            signal=str(found["signal"]),
            tables=tables,
            rows=int(found.get("rows", 0)),
            chunks=int(found.get("chunks", 0)),
        )
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
        return None
