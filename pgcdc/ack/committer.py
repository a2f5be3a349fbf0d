"""Exactly-once mode's commit point: when a Kafka transaction commits, with which offset, and what may then be
confirmed to PostgreSQL.

A Kafka transaction only ever commits at the end of a PostgreSQL transaction, with the offset of that end in
the same Kafka transaction. The slot is confirmed only up to the committed offset: Kafka's committed records
are what PostgreSQL may forget, never records still in an open (abortable) transaction.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from pgcdc.ack.offsets import SourceOffset
from pgcdc.lsn import Lsn
from pgcdc.produce.transaction import KafkaTransactions

# transaction.boundary=poll: commit after this many frames even if the stream never pauses (Debezium's
# max.batch.size default, the most records one poll returns in Kafka Connect).
POLL_BATCH_FRAMES = 2048

# Idle, how far past the committed offset the stream's position may go before a Kafka transaction of its own
# moves the offset there (bytes of WAL). One WAL segment at PostgreSQL's default wal_segment_size: the server
# removes WAL a whole segment at a time, so moving the slot in smaller steps frees nothing sooner, and WAL
# written for other tables or databases costs at most one small transaction per 16 MB.
IDLE_OFFSET_STEP_BYTES = 16 * 1024 * 1024


class OffsetCommitter:
    """Commits the producer's open transaction with the connector's offset at the configured boundary."""

    def __init__(
        self,
        *,
        transactions: KafkaTransactions,
        offsets_topic: str,
        key: bytes,
        boundary: str,
        interval_s: float,
        stored: SourceOffset | None,
        delivered: Callable[[], None] = lambda: None,
    ) -> None:
        """``delivered`` raises the first failed delivery of the connector's records (AckTracker): a commit
        checks it once the transaction's records are all acknowledged or refused (KafkaTransactions.commit)."""
        self._transactions = transactions
        self._delivered = delivered
        self.offsets_topic = offsets_topic
        self._key = key
        self._boundary = boundary
        self._interval_s = interval_s
        self.committed = stored
        """The offset of Kafka's last committed transaction (the stored one until this run commits)."""
        self._frames = 0
        self._opened_at: float | None = None

    @property
    def confirmable(self) -> Lsn:
        """The newest position PostgreSQL may forget: what committed Kafka transactions cover."""
        return self.committed.lsn if self.committed is not None else Lsn(0)

    @property
    def open(self) -> bool:
        return self._transactions.open

    def frame(self) -> None:
        """Count one replication frame handled inside the open transaction."""
        if self._transactions.open:
            self._frames += 1
            if self._opened_at is None:
                self._opened_at = time.monotonic()

    def due(self, *, stream_idle: bool) -> bool:
        """Whether to commit now; the caller asks only at the end of a PostgreSQL transaction."""
        if not self._transactions.open:
            return False
        if self._boundary == "interval":
            opened = self._opened_at if self._opened_at is not None else time.monotonic()
            self._opened_at = opened
            return time.monotonic() - opened >= self._interval_s
        return stream_idle or self._frames >= POLL_BATCH_FRAMES

    def commit(self, offset: SourceOffset | None) -> None:
        """Commit the open transaction with ``offset`` (None keeps the last one); raises SinkError on failure,
        after aborting, so the connector restarts from the offset committed before."""
        if not self._transactions.open:
            return
        target = offset if offset is not None else self.committed
        if target is not None and self.committed is not None and target.lsn < self.committed.lsn:
            target = self.committed
        if target is None:
            # Nothing to resume from yet (only heartbeats or messages): commit the records alone.
            self._transactions.commit(None, delivered=self._delivered)
        else:
            record = (self.offsets_topic, self._key, target.value())
            self._transactions.commit(record, delivered=self._delivered)
            self.committed = target
        self._frames = 0
        self._opened_at = None

    def transaction_ended(self, ended: SourceOffset | None) -> None:
        """A PostgreSQL transaction ended at ``ended`` (the builder's last offset): commit if due; else, with
        nothing open, move the offset alone as caught_up does. A stream busy with changes that are not captured
        (other tables of a FOR ALL TABLES publication) may never fall idle, and its slot would keep all that
        WAL until it did."""
        if self.due(stream_idle=False):
            self.commit(ended)
        elif ended is not None:
            self.caught_up(ended.lsn)

    def caught_up(self, lsn: Lsn) -> None:
        """Nothing is open and no captured change lies between the committed offset and ``lsn``: once that is
        IDLE_OFFSET_STEP_BYTES or more, commit the offset alone, moved to ``lsn`` ("resume after ``lsn``"), so
        that the slot may be confirmed there. It keeps the last transaction's txId and ts_usec."""
        if self._transactions.open or lsn - self.confirmable < IDLE_OFFSET_STEP_BYTES:
            return
        last = self.committed
        self._transactions.begin()
        self.commit(
            SourceOffset(
                lsn,
                tx_id=last.tx_id if last is not None else None,
                ts_usec=last.ts_usec if last is not None else None,
            )
        )

    def abort(self) -> None:
        self._transactions.abort()
        self._frames = 0
        self._opened_at = None
