"""A lone connector's retained-WAL warning (``pgcdc run``): the worker's SlotWatch and RetainedWalAlarm on a timer.

A worker reads every connector's slot on its ticker (ConnectorRunner); ``pgcdc run`` has no ticker, so this
reads the slot on a thread of its own, as often, and logs each crossing of ``slot.retained.wal.warn.bytes``.
"""

from __future__ import annotations

import logging
import threading
from types import TracebackType

from pgcdc.errors import SourceError
from pgcdc.worker.slot_watch import SlotWatch
from pgcdc.worker.wal_alarm import RetainedWalAlarm

log = logging.getLogger(__name__)

# Seconds between readings: as often as a worker reads a slot (WorkerSettings.lag_interval_s).
READ_INTERVAL_S = 2.0


class RetainedWalWatch:
    """Reads the slot every ``interval_s`` from entering until leaving, the connector running or not."""

    def __init__(
        self,
        *,
        connector: str,
        conninfo: str,
        slot: str,
        threshold: int,
        interval_s: float = READ_INTERVAL_S,
    ) -> None:
        self._watch = SlotWatch(conninfo=conninfo, slot=slot, application_name="pgcdc-run")
        self._alarm = RetainedWalAlarm(connector=connector)
        self._threshold = threshold
        self._interval_s = interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"wal-watch-{connector}", daemon=True)

    def __enter__(self) -> RetainedWalWatch:
        if self._threshold > 0:
            self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(self._interval_s + 10)
        self._watch.close()

    def _run(self) -> None:
        while not self._stop.wait(self._interval_s):
            try:
                reading = self._watch.read()
            except SourceError as err:
                # PostgreSQL down or unreachable: the connector says so itself; the last verdict stands.
                log.debug("%s", err)
                continue
            self._alarm.update(retained=reading.retained_bytes, threshold=self._threshold)
