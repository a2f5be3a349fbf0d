"""Debezium's signals as typed values, parsed from a row of the signal table (no I/O)."""

from __future__ import annotations

import re
from dataclasses import dataclass

import orjson

from pgcdc.errors import SignalError
from pgcdc.events.change import Row

WINDOW_OPEN = "snapshot-window-open"
WINDOW_CLOSE = "snapshot-window-close"


@dataclass(frozen=True, slots=True)
class ExecuteSnapshot:
    signal_id: str
    collections: tuple[re.Pattern[str], ...]
    """Each entry of data-collections, matched against schema.table as Debezium does (a name or a regex)."""
    conditions: tuple[tuple[re.Pattern[str], str], ...]
    """(data-collection, filter) of additional-conditions: a SQL condition on the rows to snapshot."""


@dataclass(frozen=True, slots=True)
class StopSnapshot:
    signal_id: str
    collections: tuple[re.Pattern[str], ...]
    """Tables to drop from the running snapshot; empty stops all of it."""


@dataclass(frozen=True, slots=True)
class WindowMarker:
    """A watermark pgcdc wrote around a chunk read: ``<chunk id>-open`` or ``<chunk id>-close``."""

    signal_id: str
    opens: bool
    data: str | None = None


@dataclass(frozen=True, slots=True)
class Pause:
    signal_id: str
    resume: bool


@dataclass(frozen=True, slots=True)
class LogSignal:
    signal_id: str
    message: str


Signal = ExecuteSnapshot | StopSnapshot | WindowMarker | Pause | LogSignal


def _text(row: Row, name: str, position: int) -> str | None:
    # Debezium reads the signal table by position (id, type, data); names are tried first.
    value = row[name] if name in row else (list(row.values())[position] if len(row) > position else None)
    return None if value is None else str(value)


def _patterns(signal_id: str, key: str, value: object) -> tuple[re.Pattern[str], ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise SignalError(f"signal {signal_id!r}: {key} must be a list of table names or regular expressions")
    patterns = []
    for item in value:
        try:
            patterns.append(re.compile(item.strip()))
        except re.error as err:
            raise SignalError(
                f"signal {signal_id!r}: {key} entry {item!r} is not a valid regex ({err})"
            ) from None
    return tuple(patterns)


def _data(signal_id: str, kind: str, text: str | None) -> dict[str, object]:
    if text is None or not text.strip():
        raise SignalError(f"signal {signal_id!r} ({kind}) has no data: it needs a JSON object")
    try:
        data = orjson.loads(text)
    except orjson.JSONDecodeError:
        raise SignalError(
            f"signal {signal_id!r} ({kind}) has data that is not JSON: {text[:200]!r}; skipped"
        ) from None
    if not isinstance(data, dict):
        raise SignalError(f"signal {signal_id!r} ({kind}): data must be a JSON object, not {text[:200]!r}")
    return data


def _check_incremental(signal_id: str, kind: str, data: dict[str, object]) -> None:
    snapshot_type = str(data.get("type") or "incremental").lower()
    if snapshot_type != "incremental":
        raise SignalError(
            f"signal {signal_id!r} ({kind}): snapshot type {snapshot_type!r} is not provided by pgcdc; "
            'use "type": "incremental"'
        )


def _conditions(signal_id: str, value: object) -> tuple[tuple[re.Pattern[str], str], ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise SignalError(f"signal {signal_id!r}: additional-conditions must be a list of objects")
    conditions = []
    for item in value:
        collection = item.get("data-collection") if isinstance(item, dict) else None
        condition = item.get("filter") if isinstance(item, dict) else None
        if not isinstance(collection, str) or not isinstance(condition, str) or not condition.strip():
            raise SignalError(
                f"signal {signal_id!r}: each additional-conditions entry needs a data-collection and a filter, "
                f"got {item!r}"
            )
        conditions.append((_patterns(signal_id, "additional-conditions", [collection])[0], condition))
    return tuple(conditions)


def parse_signal(row: Row) -> Signal | None:
    """The signal a row of the signal table carries; None for a type Debezium's source channel ignores here.

    Raises SignalError naming the signal and what is wrong with it."""
    signal_id = _text(row, "id", 0) or ""
    kind = (_text(row, "type", 1) or "").strip()
    text = _text(row, "data", 2)
    if kind in (WINDOW_OPEN, WINDOW_CLOSE):
        return WindowMarker(signal_id, opens=kind == WINDOW_OPEN, data=text)
    if kind == "execute-snapshot":
        data = _data(signal_id, kind, text)
        _check_incremental(signal_id, kind, data)
        collections = _patterns(signal_id, "data-collections", data.get("data-collections"))
        if not collections:
            raise SignalError(
                f"signal {signal_id!r} (execute-snapshot): data-collections is missing or empty"
            )
        if data.get("surrogate-key"):
            raise SignalError(
                f"signal {signal_id!r} (execute-snapshot): surrogate-key is not provided by pgcdc; tables are "
                "read by their primary key"
            )
        return ExecuteSnapshot(
            signal_id, collections, _conditions(signal_id, data.get("additional-conditions"))
        )
    if kind == "stop-snapshot":
        data = _data(signal_id, kind, text) if text and text.strip() else {}
        _check_incremental(signal_id, kind, data)
        return StopSnapshot(signal_id, _patterns(signal_id, "data-collections", data.get("data-collections")))
    if kind in ("pause-snapshot", "resume-snapshot"):
        return Pause(signal_id, resume=kind == "resume-snapshot")
    if kind == "log":
        data = _data(signal_id, kind, text)
        return LogSignal(signal_id, str(data.get("message", "")))
    raise SignalError(f"signal {signal_id!r} has type {kind!r}, which pgcdc does not know; skipped")
