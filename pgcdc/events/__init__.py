"""Messages + relation + transaction -> change events. No I/O here."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from pgcdc.events.change import ChangeEvent, Row, SourcePosition, TransactionMarker
from pgcdc.lsn import Lsn

if TYPE_CHECKING:
    from pgcdc.ack.tracker import TransactionAck
    from pgcdc.events.table import CapturedTable


class EventSink(Protocol):
    """Where built events go: the serialize+produce stage, or a test's list.

    A sink may also have ``emit_insert(table, values, lsn, position, ack, transactions) -> bool``, which writes
    an insert straight from its tuple when it can (KafkaSink); the builder then makes no event of it."""

    def emit(self, event: ChangeEvent) -> None: ...

    def mark(self, marker: TransactionMarker) -> None:
        """A BEGIN or END record (provide.transaction.metadata)."""


class SignalObserver(Protocol):
    """Who acts on the signal table's rows (incremental snapshots) and watches row changes for its windows."""

    def signal(self, row: Row, lsn: Lsn, ack: TransactionAck | None, position: SourcePosition) -> None: ...

    def changed(self, table: CapturedTable, key: Row | None, tx_id: int | None) -> None: ...

    @property
    def watching(self) -> bool:
        """Whether ``changed`` may act: while it cannot, row events need not be built for it."""
