"""The retained-WAL warning: a slot that holds more than ``slot.retained.wal.warn.bytes`` is said to, once.

A paused or failing connector's slot keeps every byte of WAL written since its confirmed position, for every
table of the server, until the disk fills and PostgreSQL stops. The amount is measured anyway (SlotWatch); this
turns it into a state that is logged when it changes, shown in the status and exported as a metric.
"""

from __future__ import annotations

import logging

log = logging.getLogger(__name__)

SETTING = "slot.retained.wal.warn.bytes"


def format_bytes(count: int) -> str:
    """Bytes in binary units for messages: ``1.0 GiB``, ``12.5 MiB``, ``512 B``."""
    value = float(count)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{count} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


class RetainedWalAlarm:
    """Tracks whether the slot's retained WAL is over the threshold; logs each crossing, not each reading."""

    def __init__(self, *, connector: str) -> None:
        self._connector = connector
        self.threshold = 0
        """The current ``slot.retained.wal.warn.bytes``; 0 when the warning is off."""
        self.over = False

    def update(self, *, retained: int | None, threshold: int) -> None:
        """A new reading (None when the slot is missing or unreadable) under the connector's current setting."""
        self.threshold = threshold
        over = threshold > 0 and retained is not None and retained > threshold
        if over and not self.over:
            log.warning("connector %s: %s", self._connector, self._text(retained or 0))
        elif self.over and not over and retained is not None:
            log.info(
                "connector %s: its replication slot holds %s of WAL, back under %s=%s",
                self._connector,
                format_bytes(retained),
                SETTING,
                format_bytes(threshold) if threshold else "0 (off)",
            )
        if retained is not None or threshold == 0:
            # An unreadable slot keeps the last verdict: a network blip must not clear (and re-log) a warning.
            self.over = over

    def warning(self, retained: int | None) -> str | None:
        """The status's warning text while over the threshold."""
        if not self.over or retained is None:
            return None
        return self._text(retained)

    def _text(self, retained: int) -> str:
        return (
            f"its replication slot holds {format_bytes(retained)} of WAL, over {SETTING}="
            f"{format_bytes(self.threshold)}; PostgreSQL keeps it until the connector confirms past it: resume "
            "or fix the connector, or delete it (which drops the slot) before the server's disk fills"
        )
