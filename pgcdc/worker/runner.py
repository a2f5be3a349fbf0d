"""One connector on one worker: stand by while another process holds its slot, else run it, retry, report.

Every worker of a group has a runner for every connector. The replication slot admits one reader, so it is
the lock: a runner whose slot is free runs the connector, the others stand by and look again every
``standby_poll_s``. Only a runner that is not standing by writes the connector's status.

    idle -> running -> (stopped on request) -> idle
                    -> failed (retriable: wait, double the wait, try again; else wait for a change)
         -> standby (slot held elsewhere) -> idle
         -> paused (target PAUSED) -> idle
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pgcdc.config import ConnectorConfig
from pgcdc.errors import ConfigError, PgcdcError, SinkError, SlotInUseError, SourceError
from pgcdc.lsn import parse_lsn
from pgcdc.pipeline import Connector, ConnectorStatus
from pgcdc.produce.client import KafkaSettings
from pgcdc.worker.records import ConnectState, TargetState
from pgcdc.worker.settings import WorkerSettings
from pgcdc.worker.slot_watch import SlotReading, SlotWatch
from pgcdc.worker.stored_config import parse_stored
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


@dataclass(frozen=True, slots=True)
class RunnerView:
    """What the API and metrics read of a runner, copied so that readers never see it change."""

    role: str
    """idle, standby, running, paused or failed: this worker's part in the connector."""
    status: Mapping[str, Any] | None
    """The running connector's ConnectorStatus as a dict (only on the worker that runs it)."""
    wal_retained_bytes: int | None
    wal_warn_bytes: int
    """slot.retained.wal.warn.bytes as this runner last read it; 0 when the warning is off."""
    wal_warning: str | None
    """Why the retained WAL is a problem, while it is over ``wal_warn_bytes``."""
    ms_behind_source: int | None
    failures: int
    kafka_failures: int
    max_queue_size: int | None
    slot_holder: str | None
    """Who reads the slot while this runner stands by (SlotReading.holder)."""


class ConnectorRunner:
    """Runs one connector in a thread of its own; the worker feeds it config, target state and restarts."""

    def __init__(
        self,
        *,
        name: str,
        config: Mapping[str, str],
        target: TargetState,
        kafka: KafkaSettings,
        settings: WorkerSettings,
        publish: Callable[[StatusReport], None],
        publish_offset: Callable[[ConnectorConfig, int, int | None], None],
    ) -> None:
        self.name = name
        self._kafka = kafka
        self._settings = settings
        self._publish = publish
        self._publish_offset = publish_offset
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._raw = dict(config)
        self._config_version = 0
        self._target = target
        self._restart = False
        self._removed = False
        self._shutdown = False
        self._connector: Connector | None = None
        self._role = "idle"
        self._watch: SlotWatch | None = None
        self._watch_lock = threading.Lock()
        self._watch_config = ""
        self._reading: SlotReading | None = None
        self._wal_alarm = RetainedWalAlarm(connector=name)
        self._failures = 0
        self._kafka_failures = 0
        self._attempt = 0
        self._waiting_for_change = False
        self._error: str | None = None
        self._next_retry_ms: int | None = None
        self._max_queue_size: int | None = None
        # Sampling of the running connector, done by tick().
        self._running_since = 0.0
        self._last_commit_ms: int | None = None
        self._ms_behind: int | None = None
        self._published_state = ""
        self._published_at = 0.0
        self._offset_lsn: str | None = None
        self._last_lag_read = 0.0
        self._thread = threading.Thread(target=self._run, name=f"connector-{name}", daemon=True)

    # --- fed by the worker -------------------------------------------------------------------------------

    def start(self) -> None:
        self._thread.start()

    def update_config(self, config: Mapping[str, str]) -> None:
        with self._lock:
            if dict(config) == self._raw:
                return
            self._raw = dict(config)
            self._config_version += 1
            self._reset_backoff()
            self._stop_connector()
        self._wake.set()

    def set_target(self, target: TargetState) -> None:
        with self._lock:
            if target is self._target:
                return
            self._target = target
            self._reset_backoff()
            if target is TargetState.PAUSED:
                self._stop_connector()
        self._wake.set()

    def restart(self, *, only_failed: bool) -> None:
        with self._lock:
            if only_failed and self._role != "failed":
                return
            self._restart = True
            self._reset_backoff()
            self._stop_connector()
        self._wake.set()

    def remove(self) -> None:
        """The connector was deleted: stop it and write nothing more."""
        with self._lock:
            self._removed = True
            self._stop_connector()
        self._wake.set()

    def shutdown(self) -> None:
        """The worker is stopping: drain the connector and say it is unassigned."""
        with self._lock:
            self._shutdown = True
            self._stop_connector()
        self._wake.set()

    def join(self, timeout_s: float) -> bool:
        self._thread.join(timeout_s)
        alive = self._thread.is_alive()
        if not alive and self._watch is not None:
            self._watch.close()
        return not alive

    def _stop_connector(self) -> None:
        if self._connector is not None:
            self._connector.stop()

    def _reset_backoff(self) -> None:
        self._attempt = 0
        self._waiting_for_change = False

    @property
    def _ending(self) -> bool:
        return self._removed or self._shutdown

    # --- read by the API and metrics ----------------------------------------------------------------------

    def view(self) -> RunnerView:
        connector = self._connector
        status = dataclasses.asdict(connector.status) if connector is not None else None
        reading = self._reading
        return RunnerView(
            role=self._role,
            status=status,
            wal_retained_bytes=reading.retained_bytes if reading is not None else None,
            wal_warn_bytes=self._wal_alarm.threshold,
            wal_warning=self._wal_alarm.warning(reading.retained_bytes) if reading is not None else None,
            ms_behind_source=self._ms_behind if connector is not None else None,
            failures=self._failures,
            kafka_failures=self._kafka_failures,
            max_queue_size=self._max_queue_size,
            slot_holder=reading.holder if reading is not None and self._role == "standby" else None,
        )

    # --- the runner's thread ------------------------------------------------------------------------------

    def _run(self) -> None:
        while not self._ending:
            try:
                self._step()
            except Exception:
                # A bug in one step must not leave the connector without a runner on this worker.
                log.exception("connector %s: runner step failed; trying again", self.name)
                self._wake.wait(self._settings.retry_initial_s)
        if self._shutdown and not self._removed and self._role in ("running", "failed"):
            self._report(ConnectState.UNASSIGNED, None, "unassigned", reason="the worker running it stopped")

    def _step(self) -> None:
        """One turn of the state machine in the module docstring."""
        self._wake.clear()
        with self._lock:
            target, restart = self._target, self._restart
            self._restart = False
        if target is TargetState.PAUSED:
            if self._role in ("idle", "running", "failed"):
                self._report(ConnectState.PAUSED, None, "paused")
            self._role = "paused"
            self._wake.wait(self._settings.lag_interval_s)
            return
        if self._waiting_for_change and not restart:
            self._wake.wait(self._settings.lag_interval_s)
            return
        reading = self._read_slot()
        if reading is not None and reading.active_pid is not None:
            self._role = "standby"
            self._wake.wait(self._settings.standby_poll_s)
            return
        self._attempt_once()

    def _read_slot(self) -> SlotReading | None:
        with self._lock:
            raw = dict(self._raw)
        try:
            config = parse_stored(raw)
        except ConfigError:
            return None
        conninfo = config.database.conninfo()
        identity = f"{conninfo}\0{config.slot_name}"
        with self._watch_lock:
            if self._watch is None or identity != self._watch_config:
                if self._watch is not None:
                    self._watch.close()
                self._watch = SlotWatch(conninfo=conninfo, slot=config.slot_name)
                self._watch_config = identity
            watch = self._watch
        try:
            self._reading = watch.read()
        except SourceError as err:
            log.debug("connector %s: %s", self.name, err)
            return None
        self._wal_alarm.update(
            retained=self._reading.retained_bytes, threshold=config.retained_wal_warn_bytes
        )
        return self._reading

    def _attempt_once(self) -> None:
        with self._lock:
            raw, version = dict(self._raw), self._config_version
        try:
            config = parse_stored(raw)
        except ConfigError as err:
            self._fail(err, version)
            return
        self._max_queue_size = config.max_queue_size
        connector = Connector(config=config, kafka=self._kafka, group=self._settings.group_id)
        with self._lock:
            if self._ending or self._target is TargetState.PAUSED or version != self._config_version:
                return
            self._connector = connector
            self._role = "running"
            self._running_since = time.monotonic()
            self._published_state = ""
            self._last_commit_ms = None
            self._ms_behind = None
        failure: BaseException | None = None
        try:
            connector.run()
        except SlotInUseError:
            self._role = "standby"
        except Exception as err:  # anything the connector raises is reported, never kills the runner
            failure = err
        finally:
            with self._lock:
                self._connector = None
        if failure is None:
            if self._role == "running" and not self._shutdown:
                # Stopped on request; a worker shutting down keeps "running" to hand the connector back.
                self._role = "idle"
            if self._role == "standby":
                self._wake.wait(self._settings.standby_poll_s)
            return
        reading = self._read_slot()
        if reading is not None and reading.active_pid is not None:
            # Lost a race for the slot (creating it, or altering the publication at the same moment).
            log.info("connector %s: another worker took the slot first", self.name)
            self._role = "standby"
            return
        self._fail(failure, version, streamed=connector.status.streams_started > 0)

    def _fail(self, err: BaseException, version: int, *, streamed: bool = False) -> None:
        self._role = "failed"
        self._failures += 1
        if isinstance(err, SinkError):
            self._kafka_failures += 1
        retriable = err.retriable if isinstance(err, PgcdcError) else True
        if not isinstance(err, PgcdcError):
            log.exception("connector %s failed unexpectedly", self.name, exc_info=err)
        kind = type(err).__name__
        with self._lock:
            if version != self._config_version:
                return
            if streamed:
                # This attempt streamed before it failed: retries start over from the first delay.
                self._attempt = 0
            self._attempt += 1
            attempt = self._attempt
        if not retriable:
            self._waiting_for_change = True
            trace = (
                f"{kind}: {err}; not retried: fix the cause, then update the config or restart the connector"
            )
            log.error("connector %s failed: %s", self.name, trace)
            self._report(ConnectState.FAILED, trace, "failed", error=str(err), retriable=False)
            return
        delay = min(self._settings.retry_initial_s * 2 ** (attempt - 1), self._settings.retry_max_s)
        trace = f"{kind}: {err}; retrying in {delay:.0f} s (attempt {attempt})"
        log.warning("connector %s failed: %s", self.name, trace)
        self._next_retry_ms = int((time.time() + delay) * 1000)
        self._report(
            ConnectState.FAILED,
            trace,
            "failed",
            error=str(err),
            retriable=True,
            attempt=attempt,
            next_retry_ms=self._next_retry_ms,
        )
        self._wake.wait(delay)
        self._next_retry_ms = None

    # --- status -------------------------------------------------------------------------------------------

    def _report(self, state: ConnectState, trace: str | None, pgcdc_state: str, **extra: Any) -> None:
        if self._removed:
            return
        details: dict[str, Any] = {}
        connector = self._connector
        if connector is not None:
            details.update(dataclasses.asdict(connector.status))
            details["ms_behind_source"] = self._ms_behind
        details.update(extra)
        details["state"] = pgcdc_state
        reading = self._reading
        details["wal_retained_bytes"] = reading.retained_bytes if reading is not None else None
        details["wal_retained_warn_bytes"] = self._wal_alarm.threshold
        details["wal_retained_warning"] = (
            self._wal_alarm.warning(reading.retained_bytes) if reading is not None else None
        )
        details["updated_ms"] = int(time.time() * 1000)
        self._published_state = pgcdc_state
        self._published_at = time.monotonic()
        try:
            self._publish(StatusReport(connector=self.name, state=state, trace=trace, details=details))
        except PgcdcError as err:
            log.warning("connector %s: cannot write its status: %s", self.name, err)

    def tick(self) -> None:
        """Called every ``tick_s``: sample lag; write the running connector's status when due."""
        now = time.monotonic()
        if (
            self._role not in ("running", "standby")
            and now - self._last_lag_read >= self._settings.lag_interval_s
        ):
            # Standby and running runners read the slot anyway; paused and failed ones need it for lag.
            self._last_lag_read = now
            self._read_slot()
        connector = self._connector
        if connector is None or self._role != "running":
            return
        status = connector.status
        if now - self._last_lag_read >= self._settings.lag_interval_s:
            self._last_lag_read = now
            self._read_slot()
        commit_ms = status.last_event_commit_ms
        if commit_ms is not None and commit_ms != self._last_commit_ms:
            # Debezium's MilliSecondsBehindSource: how long after its commit the newest event was handled.
            self._last_commit_ms = commit_ms
            self._ms_behind = max(0, int(time.time() * 1000) - commit_ms)
        state = _pgcdc_state(status)
        if state is None:
            return
        if state == "creating" and now - self._running_since < CREATING_REPORT_AFTER_S:
            return
        if state != self._published_state or now - self._published_at >= self._settings.status_interval_s:
            self._report(ConnectState.RUNNING, None, state)
            self._write_offset(connector, status)

    def _write_offset(self, connector: Connector, status: ConnectorStatus) -> None:
        if status.confirmed_lsn is None or status.confirmed_lsn == self._offset_lsn:
            return
        if connector.exactly_once:
            # The connector commits its offset in its own Kafka transactions; one written beside them would
            # be behind and could move the resume point back.
            return
        try:
            lsn = parse_lsn(status.confirmed_lsn)
        except ValueError:
            return
        self._offset_lsn = status.confirmed_lsn
        ts_usec = status.last_event_commit_ms * 1000 if status.last_event_commit_ms is not None else None
        with self._lock:
            raw = dict(self._raw)
        try:
            self._publish_offset(parse_stored(raw), lsn, ts_usec)
        except (PgcdcError, ValueError) as err:
            log.warning("connector %s: cannot write its offset: %s", self.name, err)


def _pgcdc_state(status: ConnectorStatus) -> str | None:
    """The running connector's state in pgcdc's words; None while it is stopping."""
    if status.state in ("creating", "available"):
        return status.state
    return None
