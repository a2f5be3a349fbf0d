"""Messages + relation + transaction -> change events. No I/O here."""

from __future__ import annotations

from typing import Protocol

from pgcdc.events.change import ChangeEvent


class EventSink(Protocol):
    """Where built events go: the serialize+produce stage, or a test's list."""

    def emit(self, event: ChangeEvent) -> None: ...
