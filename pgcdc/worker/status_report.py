"""What a connector's runner writes to the status topic, and when a running connector's report is due."""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pgcdc.errors import PgcdcError
from pgcdc.status import ConnectorStatus
from pgcdc.worker.records import ConnectState
from pgcdc.worker.slot_watch import SlotReading
from pgcdc.worker.wal_alarm import RetainedWalAlarm

log = logging.getLogger(__name__)

# A connector still setting up after this many seconds says so in its status; a runner that loses the race
# for a free slot fails sooner than this, so it does not overwrite the winner's status.
CREATING_REPORT_AFTER_S = 1.0


@dataclass(frozen=True, slots=True)
class StatusReport:
    """What a runner writes to the status topic."""

    connector: str
    state: ConnectState
    trace: str | None
    details: Mapping[str, Any]


class StatusReporter:
    """One runner's status reports: builds and writes them, samples the running connector's lag, and says when
    a running connector's state is to be written again (on a change, else every ``interval_s``)."""

    def __init__(self, *, connector: str, publish: Callable[[StatusReport], None], interval_s: float) -> None:
        self._connector = connector
        self._publish = publish
        self._interval_s = interval_s
        self._running_since = 0.0
        self._last_commit_ms: int | None = None
        self.ms_behind: int | None = None
        """Debezium's MilliSecondsBehindSource of the running connector, as last sampled."""
        self._published_state = ""
        self._published_at = 0.0

    def begin_run(self) -> None:
        """A connector starts running: its first state is written whatever was written before, its lag anew."""
        self._running_since = time.monotonic()
        self._published_state = ""
        self._last_commit_ms = None
        self.ms_behind = None

    def sample(self, status: ConnectorStatus) -> None:
        """Take the running connector's lag from its status."""
        commit_ms = status.last_event_commit_ms
        if commit_ms is not None and commit_ms != self._last_commit_ms:
            # Debezium's MilliSecondsBehindSource: how long after its commit the newest event was handled.
            self._last_commit_ms = commit_ms
            self.ms_behind = max(0, int(time.time() * 1000) - commit_ms)

    def due(self, status: ConnectorStatus, now: float) -> str | None:
        """The running connector's state in pgcdc's words if it is to be written at ``now`` (monotonic)."""
        state = _pgcdc_state(status)
        if state is None:
            return None
        if state == "creating" and now - self._running_since < CREATING_REPORT_AFTER_S:
            return None
        if state != self._published_state or now - self._published_at >= self._interval_s:
            return state
        return None

    def write(
        self,
        state: ConnectState,
        trace: str | None,
        pgcdc_state: str,
        *,
        running: ConnectorStatus | None,
        reading: SlotReading | None,
        wal_alarm: RetainedWalAlarm,
        extra: Mapping[str, Any],
    ) -> None:
        """Write a report; ``running`` is the running connector's status, ``extra`` more details."""
        details: dict[str, Any] = {}
        if running is not None:
            details.update(dataclasses.asdict(running))
            details["ms_behind_source"] = self.ms_behind
        details.update(extra)
        details["state"] = pgcdc_state
        details["wal_retained_bytes"] = reading.retained_bytes if reading is not None else None
        details["wal_retained_warn_bytes"] = wal_alarm.threshold
        details["wal_retained_warning"] = (
            wal_alarm.warning(reading.retained_bytes) if reading is not None else None
        )
        details["updated_ms"] = int(time.time() * 1000)
        self._published_state = pgcdc_state
        self._published_at = time.monotonic()
        try:
            self._publish(StatusReport(connector=self._connector, state=state, trace=trace, details=details))
        except PgcdcError as err:
            log.warning("connector %s: cannot write its status: %s", self._connector, err)


def _pgcdc_state(status: ConnectorStatus) -> str | None:
    """The running connector's state in pgcdc's words; None while it is stopping."""
    if status.state in ("creating", "available"):
        return status.state
    return None
