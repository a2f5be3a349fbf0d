"""Kafka transactions for exactly.once.support=required: a batch of records and the offset covering it commit
together, or not at all.

Only the producer's calls live here; when to commit is the pipeline's choice (transaction.boundary). Every
failure but a fence is retriable: the transaction is aborted and the connector starts over from the offset
that Kafka's last committed transaction holds, so nothing is lost and nothing is written twice.

A fence is learnt at the fenced producer's next call to the broker for its transaction, that is at its next
commit (Kafka Connect's source task learns it the same way): it then raises ProducerFencedError, never retried,
whichever call met it first.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from confluent_kafka import KafkaError, KafkaException, Producer

from pgcdc.errors import ProducerFencedError, SinkError
from pgcdc.produce.waiting import flush

log = logging.getLogger(__name__)

# Seconds a transactional call may wait for the coordinator before the attempt counts as failed.
CALL_TIMEOUT_S = 30.0


def _error_of(err: KafkaException) -> KafkaError | None:
    error = err.args[0] if err.args else None
    return error if isinstance(error, KafkaError) else None


def _fenced(error: KafkaError | None) -> bool:
    if error is None:
        return False
    # librdkafka may report a fence as a fatal error whose code is generic and whose text names the fence.
    return error.code() in (KafkaError.PRODUCER_FENCED, KafkaError._FENCED) or (
        error.fatal() and "fenc" in error.str().lower()
    )


class KafkaTransactions:
    """The transactional side of one producer: fence older instances, open lazily, commit with an offset."""

    def __init__(self, *, producer: Producer, transactional_id: str) -> None:
        self._producer = producer
        self.transactional_id = transactional_id
        self.open = False
        """A transaction is begun and not yet committed or aborted."""
        self.abort_pending = False
        """An abort timed out or failed short of a fatal error: the producer still waits for the coordinator."""

    def _fence_error(self, error: KafkaError | None) -> ProducerFencedError:
        return ProducerFencedError(
            f"Kafka fenced this producer (transactional.id {self.transactional_id}): another instance of the "
            f"connector started with the same id and took over ({error.str() if error else 'fenced'}); this one "
            "stops without writing more. Run each connector once; restart it only if the other instance is gone"
        )

    def init(self) -> None:
        """Register the transactional id: aborts what an earlier instance left open and fences it for good."""
        try:
            self._producer.init_transactions(CALL_TIMEOUT_S)
        except KafkaException as err:
            error = _error_of(err)
            if _fenced(error):
                raise self._fence_error(error) from err
            raise SinkError(
                f"cannot start Kafka transactions as {self.transactional_id}: {error.str() if error else err}"
                "; the broker must support transactions (Kafka 0.11+) and the user needs WRITE on the "
                "transactional id"
            ) from err

    def begin(self) -> None:
        if self.open:
            return
        try:
            self._producer.begin_transaction()
        except KafkaException as err:
            raise self.failure("begin", err) from err
        self.open = True

    def commit(
        self, offset_record: tuple[str, bytes, bytes] | None, *, delivered: Callable[[], None] = lambda: None
    ) -> None:
        """Write the offset record (topic, key, value) last and commit; on failure abort and raise (retriable
        unless fenced).

        ``delivered`` raises when Kafka refused a record of the transaction. It runs once every record's
        delivery report is in, before the commit: a refused record makes the commit fail, and a failed commit
        is retried, which would meet the same refusal for ever; the refusal's own error says whether a retry
        can help (a record refused as too large: never)."""
        self.begin()
        try:
            if offset_record is not None:
                topic, key, value = offset_record
                self._producer.produce(topic, value, key)
            # commit_transaction() would flush too; the offset record goes in the same round trip either way.
            if flush(self._producer, CALL_TIMEOUT_S):
                raise SinkError(
                    f"Kafka did not acknowledge a transaction's records within {CALL_TIMEOUT_S:.0f} s; it is "
                    "aborted and the connector resumes from the offset of the last committed transaction"
                )
            delivered()
            self._producer.commit_transaction(CALL_TIMEOUT_S)
        except (KafkaException, BufferError) as err:
            raise self.failure("commit", err) from err
        except SinkError:
            self.abort()
            raise
        self.open = False

    def abort(self) -> KafkaError | None:
        """Abort the open transaction if any; a failure here only means the next instance aborts it instead.
        Returns the error the abort met."""
        if not self.open:
            return None
        self.open = False
        try:
            self._producer.abort_transaction(CALL_TIMEOUT_S)
        except KafkaException as err:
            error = _error_of(err)
            # A fatal error (a fence) ends the producer's transactions for good: nothing is left to wait for.
            self.abort_pending = error is None or not error.fatal()
            log.warning("could not abort the Kafka transaction (the next start aborts it): %s", err)
            return error
        return None

    def failure(self, what: str, err: KafkaException | BufferError) -> SinkError:
        """Abort the open transaction after a producer call (``what``) raised ``err``; returns the error to
        raise: ProducerFencedError when another instance took over."""
        error = _error_of(err) if isinstance(err, KafkaException) else None
        met = self.abort()
        if met is not None and met.fatal():
            # produce() says only that the producer failed for good (_FATAL); the transaction's calls say why.
            error = met
        if _fenced(error):
            return self._fence_error(error)
        if error is not None and error.fatal():
            failure = SinkError(f"the Kafka producer failed for good at {what}: {error.str()}")
            failure.retriable = True  # a new producer (a restart) is a fresh start
            return failure
        reason = error.str() if error is not None else str(err)
        return SinkError(
            f"Kafka transaction {what} failed ({reason}); it is aborted and the connector resumes from the "
            "offset of the last committed transaction"
        )
