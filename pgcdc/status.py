"""What a connector is doing, for logs, the CLI and the API (kept apart so that snapshot workers need not import the pipeline)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(slots=True)
class ConnectorStatus:
    """What the connector is doing, for logs, the CLI and the API."""

    state: str = "creating"
    streams_started: int = 0
    """Times this connector reached streaming: a failure after one starts its retries from the first delay."""
    tables: list[str] = field(default_factory=list)
    events_by_op: dict[str, int] = field(default_factory=dict)
    """Records written per op (c, u, d, t, m; ``tombstone`` for tombstones) since start."""
    last_event_commit_ms: int | None = None
    """Commit time of the newest event written: how far behind the source this connector is."""
    snapshot: dict[str, Any] = field(default_factory=dict)
    """Progress of the running (or last) snapshot: tables_total, tables_remaining, rows_expected (the planner's
    estimate until a table is read, then its count), rows_scanned, rows_per_second; an initial snapshot adds
    threads (processes copying: the connector's own and its workers) and per table in ``tables``: rows_expected, rows_scanned, done. Empty when none
    ran. An incremental snapshot adds kind="incremental", state (running, completed, stopped), table (the one
    being read), chunks and signal (the signal's id)."""
    records_skipped: int = 0
    """Records Kafka refused as too large that errors.tolerance=all let pass (Kafka Connect's
    total-records-skipped); dead-lettered ones included."""
    records_dead_lettered: int = 0
    """Of those, the ones written to errors.deadletterqueue.topic.name."""
    confirmed_lsn: str | None = None
    error: str | None = None
