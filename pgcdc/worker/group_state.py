"""The group's connectors as its configs and status topics say: latest config, target state, status."""

from __future__ import annotations

import threading
from typing import Any

from pgcdc.worker.records import (
    ConfigRecord,
    TargetState,
    connector_of_status_key,
    decode_config_record,
    loads_status,
    properties_of,
    target_state_of,
)


class GroupState:
    """Updated by the topic logs' threads, read by the API's; every method takes the lock."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._configs: dict[str, dict[str, str]] = {}
        self._targets: dict[str, TargetState] = {}
        self._statuses: dict[str, dict[str, Any]] = {}

    def apply_config(self, key: bytes | None, value: bytes | None) -> ConfigRecord:
        record = decode_config_record(key, value)
        with self._lock:
            if record.kind == "connector":
                props = properties_of(record)
                if props is None and record.value is None:
                    self._configs.pop(record.connector, None)
                elif props is not None:
                    self._configs[record.connector] = props
            elif record.kind == "target-state":
                if record.value is None:
                    self._targets.pop(record.connector, None)
                else:
                    self._targets[record.connector] = target_state_of(record)
        return record

    def apply_status(self, key: bytes | None, value: bytes | None) -> None:
        name = connector_of_status_key(key)
        if name is None:
            return
        body = loads_status(value)
        with self._lock:
            if body is None:
                self._statuses.pop(name, None)
            else:
                self._statuses[name] = body

    def names(self) -> list[str]:
        with self._lock:
            return sorted(self._configs)

    def config(self, name: str) -> dict[str, str] | None:
        with self._lock:
            found = self._configs.get(name)
            return dict(found) if found is not None else None

    def configs(self) -> dict[str, dict[str, str]]:
        with self._lock:
            return {name: dict(config) for name, config in self._configs.items()}

    def target(self, name: str) -> TargetState:
        with self._lock:
            return self._targets.get(name, TargetState.STARTED)

    def status(self, name: str) -> dict[str, Any] | None:
        with self._lock:
            found = self._statuses.get(name)
            return dict(found) if found is not None else None
