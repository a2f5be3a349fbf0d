"""A change event and its ``source`` block: what happened, to which row, at which position."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pgcdc.ack.tracker import TransactionAck
from pgcdc.lsn import Lsn

if TYPE_CHECKING:
    from pgcdc.events.table import CapturedTable

Row = dict[str, Any]
"""Column name -> value already in its JSON form (see pgcdc.decode.values)."""


class SourcePosition:
    """The transaction-level part of Debezium's ``source`` block; shared by all events of a transaction.

    Written out, not a dataclass, for the reason ChangeEvent is (change.pxd): one is built per transaction."""

    __slots__ = ("commit_time_us", "last_commit_lsn", "snapshot", "tx_id")

    def __init__(
        self, tx_id: int | None, commit_time_us: int, last_commit_lsn: Lsn | None, snapshot: str = "false"
    ) -> None:
        self.tx_id = tx_id
        self.commit_time_us = commit_time_us
        self.last_commit_lsn = last_commit_lsn
        """End LSN of the previous commit seen by this connector: the first half of ``source.sequence``."""
        self.snapshot = snapshot


@dataclass(slots=True)  # not frozen: one per event, and a frozen dataclass is several times slower to build
class TransactionBlock:
    """The ``transaction`` block of a change event (provide.transaction.metadata): its place in the transaction."""

    id: str
    total_order: int
    """Position among all events of the transaction, from 1."""
    data_collection_order: int
    """Position among the transaction's events of the same table (or message), from 1."""


@dataclass(frozen=True, slots=True)
class KeyChange:
    """An update that changed the key became a delete and a create: each names the other's key in a header."""

    header: str
    """``__debezium.newkey`` on the delete and its tombstone, ``__debezium.oldkey`` on the create."""
    key: Row


@dataclass(slots=True)
class TransactionMarker:
    """A BEGIN or END record on the transaction topic; delivered under the transaction's own ack handle."""

    status: str
    id: str
    position: SourcePosition
    ack: TransactionAck | None
    event_count: int | None = None
    """END only: events written for the transaction."""
    data_collections: list[tuple[str, int]] | None = None
    """END only: (schema.table, events) in the order Debezium lists them."""


class ChangeEvent:
    """One record to write: ``op`` is c/u/d/t/r for rows, m for a logical decoding message, or a tombstone.

    Written out, not a dataclass: compiled (change.pxd, pgcdc.hot_path) it is an extension type whose fields the
    compiled builder, serializer and sink reach in the C struct, built by a compiled ``__init__`` (a dataclass's
    generated one is interpreted even in a compiled module)."""

    __slots__ = (
        "ack",
        "after",
        "before",
        "headers",
        "key",
        "key_change",
        "lsn",
        "message_content",
        "message_prefix",
        "op",
        "position",
        "table",
        "tombstone",
        "transaction",
    )

    def __init__(
        self,
        op: str,
        table: CapturedTable | None,
        key: Row | None,
        before: Row | None,
        after: Row | None,
        position: SourcePosition,
        lsn: Lsn,
        ack: TransactionAck | None,
        *,
        tombstone: bool = False,
        message_prefix: str | None = None,
        message_content: bytes | None = None,
        headers: dict[str, str | bytes | None] | None = None,
        transaction: TransactionBlock | None = None,
        key_change: KeyChange | None = None,
    ) -> None:
        self.op = op
        self.table = table
        self.key = key
        self.before = before
        self.after = after
        self.position = position
        self.lsn = lsn
        self.ack = ack
        self.tombstone = tombstone
        self.message_prefix = message_prefix
        self.message_content = message_content
        self.headers = headers
        self.transaction = transaction
        self.key_change = key_change
