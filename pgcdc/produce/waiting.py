"""Waiting for a producer's deliveries in slices short enough that a fatal error (a fence) is raised intact."""

from __future__ import annotations

import time

from confluent_kafka import Producer

# confluent-kafka splits a flush() or poll() of 200 ms or more into 200 ms chunks, to check for signals in
# between. When the producer fails for good meanwhile (another instance fenced its transactional id), the
# chunked wait goes on serving delivery callbacks with the fatal error already set, and raises a SystemError or
# a KafkaError object that is no exception at all (no `except` clause but a bare one catches it): the fence
# then escaped every handler, as an unexpected, retried failure or a thread that just ended. A wait under
# 200 ms takes the plain path, which raises the fatal error as a KafkaException (seen with 2.16.1).
SLICE_S = 0.1


def flush(producer: Producer, timeout_s: float) -> int:
    """``producer.flush(timeout_s)``, waited for in slices; returns how many records are still undelivered."""
    deadline = time.monotonic() + timeout_s
    while True:
        left = int(producer.flush(max(0.0, min(SLICE_S, deadline - time.monotonic()))))
        if not left or time.monotonic() >= deadline:
            return left
