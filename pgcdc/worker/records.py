"""Kafka Connect's record keys and values for the configs, status and offsets topics (no I/O)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import orjson

# Kafka Connect writes every value of these topics with the JsonConverter, schemas disabled.
CONNECTOR_PREFIX = "connector-"
TARGET_STATE_PREFIX = "target-state-"
RESTART_PREFIX = "restart-connector-"
STATUS_CONNECTOR_PREFIX = "status-connector-"
STATUS_TASK_PREFIX = "status-task-"


class TargetState(StrEnum):
    """What a person asked for: Kafka Connect's ``target-state`` values."""

    STARTED = "STARTED"
    PAUSED = "PAUSED"


class ConnectState(StrEnum):
    """Kafka Connect's connector and task states, as kcctl, Kafka UI and scripts read them."""

    UNASSIGNED = "UNASSIGNED"
    RUNNING = "RUNNING"
    PAUSED = "PAUSED"
    FAILED = "FAILED"


# pgcdc's own states (Heroku's words) and the Kafka Connect state each is shown as.
CONNECT_STATE_OF = {
    "creating": ConnectState.RUNNING,
    "available": ConnectState.RUNNING,
    "paused": ConnectState.PAUSED,
    "failed": ConnectState.FAILED,
}


@dataclass(frozen=True, slots=True)
class ConfigRecord:
    """One record of the configs topic, decoded; ``value`` None is a tombstone."""

    kind: str
    """``connector``, ``target-state``, ``restart`` or ``other`` (Kafka Connect's task and commit records)."""
    connector: str
    value: Mapping[str, Any] | None


def decode_config_record(key: bytes | None, value: bytes | None) -> ConfigRecord:
    """Never raises: a record pgcdc does not understand comes back as kind ``other``."""
    text = key.decode("utf-8", "replace") if key else ""
    body = _loads(value)
    if value is not None and body is None:
        # Unreadable is not a deletion: ignore it rather than drop the connector it names.
        return ConfigRecord(kind="other", connector="", value=None)
    for prefix, kind in (
        (CONNECTOR_PREFIX, "connector"),
        (TARGET_STATE_PREFIX, "target-state"),
        (RESTART_PREFIX, "restart"),
    ):
        if text.startswith(prefix):
            return ConfigRecord(kind=kind, connector=text[len(prefix) :], value=body)
    return ConfigRecord(kind="other", connector="", value=body)


def connector_config_record(name: str, config: Mapping[str, str] | None) -> tuple[bytes, bytes | None]:
    value = None if config is None else orjson.dumps({"properties": dict(config)})
    return (CONNECTOR_PREFIX + name).encode(), value


def target_state_record(name: str, state: TargetState | None) -> tuple[bytes, bytes | None]:
    # Kafka Connect 3.5+ writes both spellings so that older workers still understand the record.
    value = None if state is None else orjson.dumps({"state": state.value, "state.v2": state.value})
    return (TARGET_STATE_PREFIX + name).encode(), value


def restart_record(name: str, *, include_tasks: bool, only_failed: bool) -> tuple[bytes, bytes]:
    value = orjson.dumps({"include-tasks": include_tasks, "only-failed": only_failed})
    return (RESTART_PREFIX + name).encode(), value


def properties_of(record: ConfigRecord) -> dict[str, str] | None:
    """The settings of a ``connector-`` record; None for a tombstone or a value of another shape."""
    if record.value is None:
        return None
    props = record.value.get("properties")
    if not isinstance(props, dict):
        return None
    return {str(k): "" if v is None else str(v) for k, v in props.items()}


def target_state_of(record: ConfigRecord) -> TargetState:
    """A tombstone or an unknown state (e.g. Kafka Connect's STOPPED) counts as STARTED, as Connect does."""
    if record.value is None:
        return TargetState.STARTED
    state = record.value.get("state.v2") or record.value.get("state")
    return TargetState.PAUSED if state == TargetState.PAUSED.value else TargetState.STARTED


def status_key(name: str) -> bytes:
    return (STATUS_CONNECTOR_PREFIX + name).encode()


def task_status_key(name: str) -> bytes:
    return f"{STATUS_TASK_PREFIX}{name}-0".encode()


def status_value(
    *, state: ConnectState, trace: str | None, worker_id: str, details: Mapping[str, Any]
) -> bytes:
    """Kafka Connect's status value; ``pgcdc`` holds what Connect has no field for (lag, tables, retries)."""
    # ``default=str`` keeps a status field of an unexpected type (a future snapshot detail) from failing
    # the whole write.
    return orjson.dumps(
        {
            "state": state.value,
            "trace": trace,
            "worker_id": worker_id,
            "generation": 0,
            "pgcdc": dict(details),
        },
        default=str,
    )


def task_status_value(*, state: ConnectState, trace: str | None, worker_id: str) -> bytes:
    return orjson.dumps({"state": state.value, "trace": trace, "worker_id": worker_id, "generation": 0})


def connector_of_status_key(key: bytes | None) -> str | None:
    """The connector a ``status-connector-`` key names; None for task, topic and foreign keys."""
    text = key.decode("utf-8", "replace") if key else ""
    if text.startswith(STATUS_CONNECTOR_PREFIX):
        return text[len(STATUS_CONNECTOR_PREFIX) :]
    return None


def loads_status(value: bytes | None) -> dict[str, Any] | None:
    body = _loads(value)
    return dict(body) if body is not None else None


def _loads(value: bytes | None) -> Mapping[str, Any] | None:
    if value is None:
        return None
    try:
        body = orjson.loads(value)
    except orjson.JSONDecodeError:
        return None
    return body if isinstance(body, dict) else None
