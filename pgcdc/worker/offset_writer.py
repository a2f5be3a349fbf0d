"""The offset a runner writes for its running connector: the confirmed position, as Kafka Connect commits a
source task's offset."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping

from pgcdc.config import ConnectorConfig
from pgcdc.errors import PgcdcError
from pgcdc.lsn import parse_lsn
from pgcdc.status import ConnectorStatus
from pgcdc.worker.stored_config import parse_stored

log = logging.getLogger(__name__)


class OffsetWriter:
    """Writes a connector's confirmed LSN (and its commit time) through ``publish`` each time it moves."""

    def __init__(
        self, *, connector: str, publish: Callable[[ConnectorConfig, int, int | None], None]
    ) -> None:
        """``publish(config, lsn, ts_usec)`` writes the offset record."""
        self._connector = connector
        self._publish = publish
        self._written_lsn: str | None = None

    def write(
        self, status: ConnectorStatus, *, exactly_once: bool, raw_config: Callable[[], Mapping[str, str]]
    ) -> None:
        """Write the running connector's position if it moved; ``raw_config`` reads its stored config."""
        if status.confirmed_lsn is None or status.confirmed_lsn == self._written_lsn:
            return
        if exactly_once:
            # The connector commits its offset in its own Kafka transactions; one written beside them would
            # be behind and could move the resume point back.
            return
        try:
            lsn = parse_lsn(status.confirmed_lsn)
        except ValueError:
            return
        self._written_lsn = status.confirmed_lsn
        ts_usec = status.last_event_commit_ms * 1000 if status.last_event_commit_ms is not None else None
        try:
            self._publish(parse_stored(raw_config()), lsn, ts_usec)
        except (PgcdcError, ValueError) as err:
            log.warning("connector %s: cannot write its offset: %s", self._connector, err)
