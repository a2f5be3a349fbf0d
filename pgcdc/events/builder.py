"""Turn decoded pgoutput messages into change events, transaction by transaction, in commit order."""

from __future__ import annotations

from collections.abc import Callable

from pgcdc.ack.offsets import SourceOffset
from pgcdc.ack.tracker import AckTracker, TransactionAck
from pgcdc.config import ConnectorConfig
from pgcdc.decode.messages import (
    Begin,
    Commit,
    Delete,
    Insert,
    LogicalMessage,
    Message,
    RelationMessage,
    Truncate,
    Update,
)
from pgcdc.events import EventSink, SignalObserver
from pgcdc.events.change import ChangeEvent, KeyChange, Row, SourcePosition, TransactionMarker
from pgcdc.events.table import CapturedTable
from pgcdc.events.transaction import TransactionMetadata, message_collection
from pgcdc.lsn import Lsn

NEW_KEY_HEADER = "__debezium.newkey"
OLD_KEY_HEADER = "__debezium.oldkey"

DescribeRelation = Callable[[RelationMessage], CapturedTable | None]
"""Catalog look-up for a Relation message; None when the table is not captured."""


class EventBuilder:
    """Keeps the relation cache and the open transaction; hands each event to the sink with its ack handle."""

    def __init__(
        self,
        *,
        config: ConnectorConfig,
        describe: DescribeRelation,
        tracker: AckTracker,
        sink: EventSink,
        signals: SignalObserver | None = None,
    ) -> None:
        self._config = config
        self._signals = signals
        self._signal_oids: set[int] = set()
        self._describe = describe
        self._tracker = tracker
        self._sink = sink
        # A sink that can write an insert straight from its tuple (KafkaSink), skipping the event.
        self._emit_insert: Callable[..., bool] | None = getattr(sink, "emit_insert", None)
        self._tables: dict[int, CapturedTable | None] = {}
        self._ack: TransactionAck | None = None
        self._position = SourcePosition(tx_id=None, commit_time_us=0, last_commit_lsn=None)
        self._last_commit_lsn: Lsn | None = None
        self._skipped = config.skipped_operations
        self._tombstones = config.tombstones_on_delete
        self._final_lsn = Lsn(0)
        self._snapshotted_at: dict[int, Lsn] = {}
        self._transactions = TransactionMetadata() if config.provide_transaction_metadata else None
        self._resume_at = Lsn(0)
        self._marked = False

    def handle(self, message: Message, lsn: Lsn) -> None:
        """One decoded message at WAL position ``lsn`` (the frame's data start)."""
        if isinstance(message, Insert):
            self._insert(message, lsn)
        elif isinstance(message, Update):
            self._update(message, lsn)
        elif isinstance(message, Delete):
            self._delete(message, lsn)
        elif isinstance(message, Begin):
            self._ack = self._tracker.begin()
            self._final_lsn = message.final_lsn
            # (tx_id, commit_time_us, last_commit_lsn) by position: keywords cost twice as much, once a transaction.
            self._position = SourcePosition(message.xid, message.commit_time_us, self._last_commit_lsn)
            # A transaction before the resume point is already in Kafka, markers included.
            self._marked = self._transactions is not None and message.final_lsn >= self._resume_at
            if self._transactions is not None and self._marked:
                # Like Debezium, every transaction the stream sends gets BEGIN and END, even one whose changes
                # were all filtered out; BEGIN and END travel under the transaction's ack handle, so its end is
                # confirmed only once Kafka holds both, and a restart sends the whole transaction again.
                tx_id = self._transactions.begin(message.xid, lsn)
                self._sink.mark(TransactionMarker("BEGIN", tx_id, self._position, self._ack))
        elif isinstance(message, Commit):
            if self._ack is not None:
                if self._transactions is not None and self._marked:
                    tx_id, count, collections = self._transactions.end(message.end_lsn)
                    self._sink.mark(
                        TransactionMarker("END", tx_id, self._position, self._ack, count, collections)
                    )
                self._tracker.commit(self._ack, message.end_lsn)
            self._ack = None
            self._last_commit_lsn = message.end_lsn
        elif isinstance(message, RelationMessage):
            table = self._describe(message)
            self._tables[message.oid] = table
            if table is not None and self._config.is_signal_table(table.table.schema, table.table.table):
                self._signal_oids.add(message.oid)
            else:
                self._signal_oids.discard(message.oid)
        elif isinstance(message, Truncate):
            self._truncate(message, lsn)
        elif isinstance(message, LogicalMessage):
            self._message(message, lsn)

    def table(self, oid: int) -> CapturedTable | None:
        return self._tables.get(oid)

    def snapshotted(self, positions: dict[int, Lsn]) -> None:
        """Tables (by oid) whose snapshot saw every transaction committed before the given position: their
        stream events from such transactions are already in Kafka as snapshot rows, so they are dropped."""
        self._snapshotted_at.update(positions)

    def resume_after(self, lsn: Lsn) -> None:
        """Drop transactions that committed before ``lsn``: Kafka's committed offset says they are written,
        while the slot, confirmed lazily, may send them again (Debezium compares with ``lsn_commit`` too)."""
        self._resume_at = lsn

    @property
    def in_transaction(self) -> bool:
        """Between a Begin and its Commit: a Kafka transaction must not end here."""
        return self._ack is not None

    def last_offset(self) -> SourceOffset | None:
        """The offset after the last committed transaction handled; None before the first."""
        if self._last_commit_lsn is None:
            return None
        return SourceOffset(
            lsn=self._last_commit_lsn, tx_id=self._position.tx_id, ts_usec=self._position.commit_time_us
        )

    def _captured(self, oid: int) -> CapturedTable | None:
        table = self._tables.get(oid)
        if self._final_lsn < self._resume_at:
            return None
        if table is not None and self._snapshotted_at:
            covered = self._snapshotted_at.get(oid)
            if covered is not None and self._final_lsn < covered:
                return None
        return table

    def _emit(
        self,
        op: str,
        table: CapturedTable,
        key: Row | None,
        before: Row | None,
        after: Row | None,
        lsn: Lsn,
        key_change: KeyChange | None = None,
    ) -> None:
        if self._signals is not None:
            self._signals.changed(table, key, self._position.tx_id)
        event = ChangeEvent(op, table, key, before, after, self._position, lsn, self._ack)
        if key_change is not None:  # set only when there is one: a keyword argument costs every event
            event.key_change = key_change
        if self._transactions is not None:
            event.transaction = self._transactions.block(table.collection, lsn)
        self._sink.emit(event)

    def _tombstone(
        self, table: CapturedTable, key: Row | None, lsn: Lsn, key_change: KeyChange | None = None
    ) -> None:
        if self._tombstones and key is not None:
            self._sink.emit(
                ChangeEvent(
                    "d",
                    table,
                    key,
                    None,
                    None,
                    self._position,
                    lsn,
                    self._ack,
                    tombstone=True,
                    key_change=key_change,
                )
            )

    def _insert(self, message: Insert, lsn: Lsn) -> None:
        table: CapturedTable | None = self._captured(message.relation_oid)
        if table is None:
            return
        if self._signals is not None and message.relation_oid in self._signal_oids:
            # Debezium acts on a signal before writing the signal row's own event.
            self._signals.signal(table.row(message.new), lsn, self._ack, self._position)
        if "c" in self._skipped:
            return
        emit_insert = self._emit_insert
        if (
            emit_insert is not None
            and (self._signals is None or not self._signals.watching)
            and emit_insert(table, message.new, lsn, self._position, self._ack, self._transactions)
        ):
            return
        after = table.row(message.new)
        self._emit("c", table, table.key(after), None, after, lsn)

    def _update(self, message: Update, lsn: Lsn) -> None:
        table: CapturedTable | None = self._captured(message.relation_oid)
        if table is None:
            return
        old = message.old
        before = table.row(old) if old is not None else None
        after = table.row(message.new, previous=old)
        key = table.key(after)
        if before is not None and key is not None:
            old_key = table.key(before)
            if old_key is not None and old_key != key:
                # A changed key is a different Kafka record: Debezium writes a delete of the old key (and its
                # tombstone) and a create of the new one, so compaction keeps exactly the live row; each names
                # the other's key in a header.
                if "d" not in self._skipped:
                    to_new = KeyChange(NEW_KEY_HEADER, key)
                    self._emit("d", table, old_key, before, None, lsn, to_new)
                    self._tombstone(table, old_key, lsn, to_new)
                if "c" not in self._skipped:
                    self._emit("c", table, key, None, after, lsn, KeyChange(OLD_KEY_HEADER, old_key))
                return
        if message.old_is_key_only:
            before = None
        if "u" not in self._skipped:
            self._emit("u", table, key, before, after, lsn)

    def _delete(self, message: Delete, lsn: Lsn) -> None:
        table: CapturedTable | None = self._captured(message.relation_oid)
        if table is None or "d" in self._skipped:
            return
        before = table.row(message.old)
        key = table.key(before)
        self._emit("d", table, key, before, None, lsn)
        self._tombstone(table, key, lsn)

    def _truncate(self, message: Truncate, lsn: Lsn) -> None:
        if "t" in self._skipped:
            return
        for oid in message.relation_oids:
            table = self._captured(oid)
            if table is not None:
                self._emit("t", table, None, None, None, lsn)

    def _message(self, message: LogicalMessage, lsn: Lsn) -> None:
        if not self._config.captures_message(message.prefix):
            return
        if (self._final_lsn if message.transactional else message.lsn or lsn) < self._resume_at:
            return
        ack = self._ack
        position = self._position
        standalone = not message.transactional or ack is None
        if standalone:
            # A non-transactional message is decoded at its own position, outside any transaction.
            ack = self._tracker.begin()
            position = SourcePosition(
                tx_id=None,
                commit_time_us=self._position.commit_time_us,
                last_commit_lsn=self._last_commit_lsn,
            )
        at = message.lsn or lsn
        event = ChangeEvent(
            "m",
            None,
            {"prefix": message.prefix},
            None,
            None,
            position,
            at,
            ack,
            message_prefix=message.prefix,
            message_content=message.content,
        )
        if self._transactions is not None and not standalone:
            event.transaction = self._transactions.block(message_collection(at), at)
        self._sink.emit(event)
        if standalone:
            assert ack is not None
            self._tracker.commit(ack, at)
