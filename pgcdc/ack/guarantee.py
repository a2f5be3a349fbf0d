"""The delivery guarantee as a stage around the event builder: at-least-once, or exactly-once's Kafka
transactions, opened and committed with the offset at transaction.boundary.

The stream loop hands every frame to ``handle`` and tells the stage when the stream is idle; it never asks
which guarantee is in force. At-least-once passes frames straight to the builder (nothing is added per frame);
exactly-once commits, at the end of a PostgreSQL transaction, when its OffsetCommitter says it is due.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Protocol

from pgcdc.ack.committer import OffsetCommitter
from pgcdc.ack.offsets import SourceOffset, read_committed_offset
from pgcdc.decode.messages import Message
from pgcdc.lsn import Lsn, format_lsn
from pgcdc.produce.client import KafkaSettings
from pgcdc.produce.topics import TopicAdmin
from pgcdc.produce.transaction import KafkaTransactions

log = logging.getLogger(__name__)


class TransactionSource(Protocol):
    """What the stage needs of the event builder: its messages, and where its transactions end."""

    def handle(self, message: Message, lsn: Lsn) -> None: ...

    @property
    def in_transaction(self) -> bool: ...

    def last_offset(self) -> SourceOffset | None: ...

    def resume_after(self, lsn: Lsn) -> None: ...


class DeliveryGuarantee(Protocol):
    """When records are final in Kafka, and so what PostgreSQL may be told to forget."""

    def start(self) -> None:
        """Ready to write; called before a copy and again once the slot is held (only the first call acts)."""

    def handle(self, message: Message, lsn: Lsn) -> None:
        """One decoded message at WAL position ``lsn``, passed on to the builder."""

    def idle(self) -> None:
        """The stream has nothing waiting."""

    def caught_up(self, lsn: Lsn) -> None:
        """Idle with nothing in flight or open: every captured change before ``lsn`` is final in Kafka."""

    def confirmable(self, safe: Lsn) -> Lsn:
        """Of ``safe`` (what Kafka acknowledged), the position that may be confirmed to PostgreSQL."""

    @property
    def open(self) -> bool:
        """Records are written that are not final yet (an open Kafka transaction)."""

    @property
    def stop_waits(self) -> bool:
        """A stop should wait for the PostgreSQL transaction being read to end."""

    def begin_copy(self) -> None:
        """A snapshot copy starts."""

    def commit_copy(self, lsn: Lsn | None) -> None:
        """A snapshot copy is acknowledged; ``lsn``: the position it moves the offset to, None to keep it."""

    def finish(self) -> None:
        """A stop: make final what can be."""

    def abort(self) -> None:
        """A failure or a stop cut short: drop what is not final."""


class AtLeastOnce:
    """Records are final once Kafka acknowledges them; a restart may write some again."""

    def __init__(self, *, builder: TransactionSource) -> None:
        self.handle = builder.handle

    def start(self) -> None:
        pass

    def idle(self) -> None:
        pass

    def caught_up(self, lsn: Lsn) -> None:
        pass

    def confirmable(self, safe: Lsn) -> Lsn:
        return safe

    open = False
    stop_waits = False

    def begin_copy(self) -> None:
        pass

    def commit_copy(self, lsn: Lsn | None) -> None:
        pass

    def finish(self) -> None:
        pass

    def abort(self) -> None:
        pass


class ExactlyOnce:
    """exactly.once.support=required: records and the offset covering them commit in one Kafka transaction.

    Until start() has fenced older instances and read the committed offset, it acts as at-least-once. Fenced
    in turn by a newer instance, it learns so at its next commit (a change's, or a heartbeat's), as Kafka
    Connect's task does, and the stream stops with ProducerFencedError. Until then it keeps the slot, but has
    nothing to write: an idle fenced instance is not probed for, heartbeat.interval.ms (or WAL written elsewhere,
    see caught_up) bounds how long it waits."""

    def __init__(
        self,
        *,
        builder: TransactionSource,
        transactions: KafkaTransactions,
        topics: TopicAdmin,
        kafka: KafkaSettings,
        offsets_topic: str,
        key: bytes,
        boundary: str,
        interval_s: float,
        delivered: Callable[[], None],
    ) -> None:
        """``delivered`` raises the first failed delivery of the connector's records (OffsetCommitter)."""
        self._builder = builder
        self._transactions = transactions
        self._topics = topics
        self._kafka = kafka
        self._offsets_topic = offsets_topic
        self._key = key
        self._boundary = boundary
        self._interval_s = interval_s
        self._delivered = delivered
        self._committer: OffsetCommitter | None = None
        """Set by start(), once this instance has fenced older ones and read the committed offset."""

    def start(self) -> None:
        """Fence any older instance, then read the offset Kafka's committed transactions hold: the stream
        resumes there, whatever position the slot kept. The slot is at or before it (it is confirmed only up
        to committed offsets), so transactions PostgreSQL sends again are dropped by the builder."""
        if self._committer is not None:
            return
        self._topics.ensure(self._offsets_topic, compacted=True)
        self._transactions.init()
        stored = read_committed_offset(self._kafka, self._offsets_topic, self._key)
        if stored is not None:
            self._builder.resume_after(stored.lsn)
        log.info(
            "exactly once: transactional.id %s, resuming after the offset in %s: %s",
            self._transactions.transactional_id,
            self._offsets_topic,
            format_lsn(stored.lsn) if stored is not None else "none yet",
        )
        self._committer = OffsetCommitter(
            transactions=self._transactions,
            offsets_topic=self._offsets_topic,
            key=self._key,
            boundary=self._boundary,
            interval_s=self._interval_s,
            stored=stored,
            delivered=self._delivered,
        )

    def handle(self, message: Message, lsn: Lsn) -> None:
        builder = self._builder
        builder.handle(message, lsn)
        committer = self._committer
        if committer is not None:
            committer.frame()
            if not builder.in_transaction:
                committer.transaction_ended(builder.last_offset())

    def idle(self) -> None:
        committer = self._committer
        if committer is not None and not self._builder.in_transaction and committer.due(stream_idle=True):
            committer.commit(self._builder.last_offset())

    def caught_up(self, lsn: Lsn) -> None:
        # Tables not captured, or other databases, write WAL that the slot may only forget past the committed
        # offset: move the offset along (Debezium moves it with each heartbeat).
        committer = self._committer
        if committer is not None and not self._builder.in_transaction:
            committer.caught_up(lsn)

    def confirmable(self, safe: Lsn) -> Lsn:
        # Only what committed Kafka transactions hold.
        return safe if self._committer is None else min(safe, self._committer.confirmable)

    @property
    def open(self) -> bool:
        return self._committer is not None and self._committer.open

    @property
    def stop_waits(self) -> bool:
        # Finish the PostgreSQL transaction being read so its Kafka one can commit.
        return self._committer is not None and self._builder.in_transaction

    def begin_copy(self) -> None:
        # The whole copy is one Kafka transaction: a copy cut short is aborted, never half written.
        if self._committer is not None:
            self._transactions.begin()

    def commit_copy(self, lsn: Lsn | None) -> None:
        if self._committer is not None:
            offset = None if lsn is None else SourceOffset(lsn, ts_usec=time.time_ns() // 1000)
            self._committer.commit(offset)

    def finish(self) -> None:
        # Stopped inside a PostgreSQL transaction: its changes are not all written, so none of them count.
        committer = self._committer
        if committer is None:
            return
        if self._builder.in_transaction:
            committer.abort()
        else:
            committer.commit(self._builder.last_offset())

    def abort(self) -> None:
        # What the open transaction holds is not covered by a committed offset.
        if self._committer is not None:
            self._committer.abort()
