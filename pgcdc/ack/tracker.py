"""Which transactions Kafka has fully acknowledged, in commit order; the newest such commit is safe to confirm.

PostgreSQL resumes a slot by skipping every transaction that committed before the confirmed position, so a
transaction's end LSN may be confirmed only once Kafka acknowledged all of its events and all events of every
transaction before it. Delivery reports arrive per partition and so out of order across partitions: each
transaction counts its outstanding events, and the head of the queue advances the safe position.
"""

from __future__ import annotations

from collections import deque
from typing import Any

from confluent_kafka import KafkaError

from pgcdc.errors import SinkError
from pgcdc.lsn import Lsn


class TransactionAck:
    """Outstanding deliveries of one transaction's events; ``delivered`` is the producer's callback."""

    __slots__ = ("_tracker", "callback", "committed", "end_lsn", "outstanding")

    def __init__(self, tracker: AckTracker) -> None:
        self._tracker = tracker
        self.outstanding = 0
        self.committed = False
        self.end_lsn = Lsn(0)
        # One bound method for all of the transaction's records, instead of a new one per record.
        self.callback = self.delivered

    def sent(self) -> None:
        self.outstanding += 1

    def delivered(self, error: Any, message: Any) -> None:
        if error is not None:
            self._tracker.fail(error, message)
        self.outstanding -= 1


class AckTracker:
    """Transactions in stream order; single-threaded (delivery callbacks run inside the producer's poll)."""

    def __init__(self) -> None:
        self._pending: deque[TransactionAck] = deque()
        self._safe = Lsn(0)
        self._failure: SinkError | None = None

    def begin(self) -> TransactionAck:
        ack = TransactionAck(self)
        self._pending.append(ack)
        return ack

    def commit(self, ack: TransactionAck, end_lsn: Lsn) -> None:
        ack.end_lsn = end_lsn
        ack.committed = True

    def fail(self, error: Any, message: Any) -> None:
        if self._failure is None:
            self._failure = delivery_error(error, message)

    def raise_if_failed(self) -> None:
        """A failed delivery stops the pipeline before any later position is confirmed."""
        if self._failure is not None:
            raise self._failure

    @property
    def idle(self) -> bool:
        """True when no transaction is open or waiting for Kafka."""
        return not self._pending

    @property
    def in_flight(self) -> int:
        return len(self._pending)

    def safe_lsn(self) -> Lsn:
        """The end LSN of the newest transaction that Kafka fully acknowledged, with all before it."""
        self.raise_if_failed()
        pending = self._pending
        while pending and pending[0].committed and pending[0].outstanding == 0:
            self._safe = max(self._safe, pending.popleft().end_lsn)
        return self._safe


def delivery_error(error: Any, message: Any) -> SinkError:
    """The error of a failed delivery report (``message`` may be None)."""
    # Imported here: events import this module, and the refusal's error names an event's key.
    from pgcdc.produce.refused import broker_refusal

    refused = broker_refusal(error, message)
    if refused is not None:
        return refused
    topic = message.topic() if message is not None else "?"
    failure = SinkError(f"Kafka did not accept a record for topic {topic}: {error}")
    # A record that timed out in the producer (exactly-once mode bounds its wait by the transaction's
    # timeout) is taken after a restart; librdkafka marks no delivery report's error retriable.
    failure.retriable = bool(getattr(error, "retriable", lambda: True)()) or (
        getattr(error, "code", lambda: None)() == KafkaError._MSG_TIMED_OUT
    )
    return failure
