"""Connectors as Kafka Connect's REST API shows them, built from what the worker knows (no I/O)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from pgcdc.config import SETTINGS, mask_secrets, setting_for
from pgcdc.errors import ConfigError
from pgcdc.worker.records import ConnectState, TargetState
from pgcdc.worker.service import ConnectorSnapshot, connect_state_of
from pgcdc.worker.stored_config import parse_stored

# Debezium's class name; pgcdc is this one plugin.
PLUGIN_CLASS = "io.debezium.connector.postgresql.PostgresConnector"
PLUGIN_NAMES = (PLUGIN_CLASS, "PostgresConnector", "PostgresConnector".lower(), "postgres", "pgcdc")
# Settings a connector cannot do without; the others have defaults.
REQUIRED = ("topic.prefix",)


def connector_info(name: str, config: Mapping[str, str]) -> dict[str, Any]:
    return {
        "name": name,
        "config": mask_secrets(config),
        "tasks": [{"connector": name, "task": 0}],
        "type": "source",
    }


def connector_status(snapshot: ConnectorSnapshot, *, now_ms: int, stale_after_ms: int) -> dict[str, Any]:
    """Kafka Connect's status body; a RUNNING status nobody renewed in ``stale_after_ms`` is UNASSIGNED."""
    state, pgcdc_state, worker_id, trace = connect_state_of(snapshot)
    status = snapshot.status or {}
    raw_details = status.get("pgcdc")
    details: dict[str, Any] = dict(raw_details) if isinstance(raw_details, dict) else {}
    details["state"] = pgcdc_state
    # What was asked for, beside what is: a resumed connector reads "paused" until its runner catches up.
    details["target_state"] = snapshot.target.value
    if "error" in details and details.get("error") is not None and "reason" not in details:
        details["reason"] = details["error"]
    runner = snapshot.runner
    if runner is not None and runner.wal_retained_bytes is not None:
        # Measured by this worker moments ago: fresher than the status record, and there for paused ones too.
        details["wal_retained_bytes"] = runner.wal_retained_bytes
        details["wal_retained_warn_bytes"] = runner.wal_warn_bytes
        details["wal_retained_warning"] = runner.wal_warning
    if runner is not None and runner.role == "running" and runner.status is not None:
        # This worker runs it: its counters are live.
        for key in ("tables", "events_by_op", "confirmed_lsn", "last_event_commit_ms"):
            if key in runner.status:
                details[key] = runner.status[key]
        details["ms_behind_source"] = runner.ms_behind_source
    updated = details.get("updated_ms")
    if state is ConnectState.RUNNING and isinstance(updated, int) and now_ms - updated > stale_after_ms:
        state = ConnectState.UNASSIGNED
        details["state"] = "unassigned"
        details["reason"] = (
            f"worker {worker_id} has not reported for {(now_ms - updated) // 1000} s; "
            "waiting for a worker to take the connector"
        )
    holder = runner.slot_holder if runner is not None else None
    resumed = state is ConnectState.PAUSED and snapshot.target is TargetState.STARTED
    if holder is not None and (state is ConnectState.UNASSIGNED or resumed):
        # Workers stand by while the slot is read; a process outside the group would keep them there for ever.
        state = ConnectState.UNASSIGNED
        details["state"] = "unassigned"
        details["reason"] = (
            f"its replication slot is in use by {holder}; a worker of this group takes the slot as soon as it "
            "is free: stop that process if it is not one of this group's workers"
        )
    if not isinstance(details.get("tables"), list):
        details["tables"] = []
    if not isinstance(details.get("events_by_op"), dict):
        details["events_by_op"] = {}
    entry: dict[str, Any] = {"state": state.value, "worker_id": worker_id}
    if trace is not None and state is ConnectState.FAILED:
        entry["trace"] = trace
    return {
        "name": snapshot.name,
        "connector": entry,
        "tasks": [{"id": 0, **entry}],
        "type": "source",
        "pgcdc": details,
    }


def connector_topics(
    config: Mapping[str, str], tables: Iterable[str], *, kafka_prefix: str, existing: set[str]
) -> list[str]:
    """The topics the connector writes that exist now: one per captured table, its heartbeats, logical decoding
    messages and transaction metadata."""
    try:
        parsed = parse_stored(config)
    except ConfigError:
        return []
    names = [f"{kafka_prefix}{parsed.topic_prefix}.{table}" for table in tables]
    if parsed.heartbeat_interval_ms:
        names.append(kafka_prefix + parsed.heartbeat_topic)
    names.append(f"{kafka_prefix}{parsed.topic_prefix}.message")
    if parsed.provide_transaction_metadata:
        names.append(kafka_prefix + parsed.transaction_topic)
    return sorted(n for n in set(names) if n in existing)


def validate_config(plugin: str, config: Mapping[str, str]) -> dict[str, Any]:
    """Kafka Connect's ConfigInfos: every setting pgcdc knows, the value given, and the error on its key."""
    error_key, error = None, None
    try:
        parse_stored(config)
    except ConfigError as err:
        error = str(err)
        error_key = _key_named_in(error, config)
    masked = mask_secrets(config)
    keys = [s.key for s in SETTINGS] + sorted(k for k in config if k not in {s.key for s in SETTINGS})
    configs = []
    for order, key in enumerate(keys, start=1):
        setting = setting_for(key)
        configs.append(
            {
                "definition": {
                    "name": key,
                    "type": "STRING",
                    "required": key in REQUIRED,
                    "default_value": setting.default if setting else None,
                    "importance": "HIGH" if key in REQUIRED else "MEDIUM",
                    "documentation": setting.doc
                    if setting
                    else "Accepted without effect (Kafka Connect key).",
                    "group": "pgcdc",
                    "width": "NONE",
                    "display_name": key,
                    "dependents": [],
                    "order": order,
                },
                "value": {
                    "name": key,
                    "value": masked.get(key),
                    "recommended_values": [],
                    "errors": [error] if key == error_key and error else [],
                    "visible": True,
                },
            }
        )
    return {"name": plugin, "error_count": 1 if error else 0, "groups": ["pgcdc"], "configs": configs}


def _key_named_in(message: str, config: Mapping[str, str]) -> str:
    """The setting an error message is about: the longest known or given key it names."""
    candidates = sorted({s.key for s in SETTINGS} | set(config), key=len, reverse=True)
    for key in candidates:
        if key and key in message:
            return key
    return "connector.class"
