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
from pgcdc.pipeline import Connector
from pgcdc.produce.client import KafkaSettings
from pgcdc.worker.offset_writer import OffsetWriter
from pgcdc.worker.records import ConnectState, TargetState
from pgcdc.worker.settings import WorkerSettings
from pgcdc.worker.slot_watch import SlotReading, SlotWatch
from pgcdc.worker.status_report import StatusReport, StatusReporter
from pgcdc.worker.stored_config import parse_stored
from pgcdc.worker.wal_alarm import RetainedWalAlarm

log = logging.getLogger(__name__)


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
    """Who reads the slot while this runner stands by (SlotReading.holder), once it has stood by for a status
    interval: a worker of the group that took the slot has said so in a status by then, so a holder still
    unnamed is likely outside the group."""


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
        read_configs_to_end: Callable[[], bool],
    ) -> None:
        """``read_configs_to_end`` returns once this worker has applied everything the configs topic holds
        (False when it could not tell): a runner calls it before each start, so that a connector deleted,
        paused or changed before its slot went free is never started from an older config."""
        self.name = name
        self._read_configs_to_end = read_configs_to_end
        self._kafka = kafka
        self._settings = settings
        self._status = StatusReporter(connector=name, publish=publish, interval_s=settings.status_interval_s)
        self._offsets = OffsetWriter(connector=name, publish=publish_offset)
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
        self._standby_since = 0.0
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
            ms_behind_source=self._status.ms_behind if connector is not None else None,
            failures=self._failures,
            kafka_failures=self._kafka_failures,
            max_queue_size=self._max_queue_size,
            slot_holder=reading.holder if reading is not None and self._standing_by_long() else None,
        )

    def _standing_by_long(self) -> bool:
        """Standing by for longer than the worker that took the slot needs to write its first status (within
        CREATING_REPORT_AFTER_S plus a tick): until then the holder is most likely that worker, and naming it
        would show a connector another worker is starting as unassigned."""
        waited = time.monotonic() - self._standby_since
        return self._role == "standby" and waited >= self._settings.status_interval_s

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
            if self._role != "paused":
                # A standby runner reports too: a restart's new instance can find the slot still held by the
                # one it replaced and stand by, and then no runner would say the connector is paused.
                self._report(ConnectState.PAUSED, None, "paused")
            self._role = "paused"
            self._wake.wait(self._settings.lag_interval_s)
            return
        if self._waiting_for_change and not restart:
            self._wake.wait(self._settings.lag_interval_s)
            return
        reading = self._read_slot()
        if reading is not None and reading.active_pid is not None:
            self._stand_by()
            self._wake.wait(self._settings.standby_poll_s)
            return
        self._attempt_once()

    def _raw_config(self) -> dict[str, str]:
        with self._lock:
            return dict(self._raw)

    def _read_slot(self) -> SlotReading | None:
        try:
            config = parse_stored(self._raw_config())
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
        if not self._read_configs_to_end():
            # Cannot tell whether the connector was deleted meanwhile; a deleted connector started now would
            # make its slot again after the teardown dropped it, and nobody would drop it (WAL kept for ever).
            log.warning("connector %s: cannot read the configs topic to its end; not starting yet", self.name)
            self._wake.wait(self._settings.standby_poll_s)
            return
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
            self._status.begin_run()
        failure: BaseException | None = None
        try:
            connector.run()
        except SlotInUseError:
            self._stand_by()
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
            self._stand_by()
            return
        self._fail(failure, version, streamed=connector.status.streams_started > 0)

    def _stand_by(self) -> None:
        if self._role != "standby":
            self._standby_since = time.monotonic()
            self._role = "standby"

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
        connector = self._connector
        self._status.write(
            state,
            trace,
            pgcdc_state,
            running=connector.status if connector is not None else None,
            reading=self._reading,
            wal_alarm=self._wal_alarm,
            extra=extra,
        )

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
        self._status.sample(status)
        state = self._status.due(status, now)
        if state is not None:
            self._report(ConnectState.RUNNING, None, state)
            self._offsets.write(status, exactly_once=connector.exactly_once, raw_config=self._raw_config)
