"""How the CLI shows connectors and topics: Heroku's wording, Rich tables, sizes like ``< 1 MB``; no I/O."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rich.table import Table

from pgcdc.client.connector_spec import split_list, unescape

MB = 1024 * 1024


def format_lag(wal_bytes: object) -> str:
    """WAL the slot holds, as Heroku prints lag: ``< 1 MB``, ``12 MB``, ``1.4 GB``, or ``unknown``."""
    if not isinstance(wal_bytes, int):
        return "unknown"
    if wal_bytes < MB:
        return "< 1 MB"
    if wal_bytes < 1024 * MB:
        return f"{wal_bytes // MB} MB"
    return f"{wal_bytes / (1024 * MB):.1f} GB"


def lag_cell(pgcdc: Mapping[str, Any]) -> str:
    """The list's Lag column: the size, marked when it is over the warning threshold."""
    lag = format_lag(pgcdc.get("wal_retained_bytes"))
    return f"{lag} (over warning)" if pgcdc.get("wal_retained_warning") else lag


def format_ms(ms: object) -> str:
    if not isinstance(ms, int):
        return "unknown"
    if ms < 1000:
        return f"{ms} ms"
    if ms < 120_000:
        return f"{ms / 1000:.1f} s"
    return f"{ms // 60_000} min"


def format_rate(value: object, unit: str) -> str:
    if not isinstance(value, int | float):
        return "-"
    return f"{value:,.1f} {unit}/s"


def state_of(status: Mapping[str, Any]) -> str:
    pgcdc = status.get("pgcdc") or {}
    return str(pgcdc.get("state") or status.get("connector", {}).get("state", "unknown")).lower()


def tables_of(config: Mapping[str, str], status: Mapping[str, Any]) -> list[str]:
    """The captured tables: as the running connector found them, else as the config names them."""
    found = (status.get("pgcdc") or {}).get("tables")
    if isinstance(found, list) and found:
        return [str(t) for t in found]
    return [unescape(t) for t in split_list(config.get("table.include.list"))]


def topic_of(config: Mapping[str, str], table: str) -> str:
    return f"{config.get('topic.prefix') or config.get('name', '')}.{table}"


def info_lines(name: str, config: Mapping[str, str], status: Mapping[str, Any]) -> list[tuple[str, str]]:
    """``connectors info``: label and value per line, as ``heroku data:connectors:info`` lays them out."""
    pgcdc = status.get("pgcdc") or {}
    lines = [("Name", name), ("Status", state_of(status))]
    reason = pgcdc.get("reason") or status.get("connector", {}).get("trace")
    if reason:
        lines.append(("Reason", str(reason)))
    lines.append(("Lag", format_lag(pgcdc.get("wal_retained_bytes"))))
    if pgcdc.get("wal_retained_warning"):
        lines.append(("Warning", str(pgcdc["wal_retained_warning"])))
    if pgcdc.get("ms_behind_source") is not None:
        lines.append(("Behind Source", format_ms(pgcdc.get("ms_behind_source"))))
    worker = status.get("connector", {}).get("worker_id")
    if worker:
        lines.append(("Worker", str(worker)))
    tables = tables_of(config, status)
    lines.append(("Tables", "\n".join(f"{t} → {topic_of(config, t)}" for t in tables) or "none"))
    excluded = [unescape(c) for c in split_list(config.get("column.exclude.list"))]
    lines.append(("Excluded Columns", "\n".join(excluded) or "none"))
    snapshot = pgcdc.get("snapshot")
    if isinstance(snapshot, Mapping) and isinstance(snapshot.get("rows_scanned"), int):
        lines.append(("Snapshot", format_snapshot(snapshot)))
    return lines


def _rows_of(scanned: int, expected: object) -> str:
    if not isinstance(expected, int) or expected <= 0:
        return f"{scanned:,} rows"
    return f"{scanned:,} of {expected:,} rows ({min(100, scanned * 100 // expected)}%)"


def format_snapshot(snapshot: Mapping[str, Any]) -> str:
    """``1,000,000 of 1,000,000 rows (100%), 61,234 rows/s, 2 processes``, then a line per table."""
    head = [_rows_of(snapshot["rows_scanned"], snapshot.get("rows_expected"))]
    if isinstance(snapshot.get("rows_per_second"), int | float):
        head.append(f"{snapshot['rows_per_second']:,.0f} rows/s")
    if isinstance(snapshot.get("threads"), int):
        head.append(f"{snapshot['threads']} process{'es' if snapshot['threads'] != 1 else ''}")
    if isinstance(snapshot.get("state"), str):
        head.append(snapshot["state"])
    lines = [", ".join(head)]
    tables = snapshot.get("tables")
    if isinstance(tables, Mapping):
        for table, entry in tables.items():
            if isinstance(entry, Mapping) and isinstance(entry.get("rows_scanned"), int):
                done = ", done" if entry.get("done") else ""
                lines.append(f"{table}: {_rows_of(entry['rows_scanned'], entry.get('rows_expected'))}{done}")
    return "\n".join(lines)


def settings_table(config: Mapping[str, str]) -> Table:
    """Settings (already masked by the API), keys sorted."""
    table = Table(show_header=True, header_style="bold", box=None, pad_edge=False)
    table.add_column("Setting")
    table.add_column("Value", overflow="fold")
    for key in sorted(config):
        table.add_row(key, config[key])
    return table


def connectors_table(expanded: Mapping[str, Mapping[str, Any]]) -> Table:
    table = Table(show_header=True, header_style="bold")
    for column in ("Name", "Status", "Tables", "Lag", "Worker"):
        table.add_column(column)
    for name in sorted(expanded):
        status = expanded[name].get("status") or {}
        config = (expanded[name].get("info") or {}).get("config") or {}
        table.add_row(
            name,
            state_of(status),
            ", ".join(tables_of(config, status)),
            lag_cell(status.get("pgcdc") or {}),
            str(status.get("connector", {}).get("worker_id") or "-"),
        )
    return table


def topics_table(body: Mapping[str, Any]) -> Table:
    table = Table(show_header=True, header_style="bold")
    table.add_column("Name")
    table.add_column("Partitions", justify="right")
    table.add_column("Messages", justify="right")
    table.add_column("Messages/s", justify="right")
    table.add_column("Bytes/s", justify="right")
    for topic in body.get("topics", []):
        table.add_row(
            str(topic["name"]),
            str(topic["partitions"]),
            f"{topic['messages']:,}",
            format_rate(topic.get("messages_per_sec"), "msg"),
            format_rate(topic.get("bytes_per_sec"), "B"),
        )
    return table
