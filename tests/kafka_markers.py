"""Which records of a partition belong to aborted Kafka transactions, read from the log's control records.

A read_committed consumer learns which transactions were aborted from the broker's fetch answer
(``aborted_transactions``); Tansu always answers an empty list, so librdkafka there shows aborted records too.
The log itself still says it: each transaction ends with a control batch whose one record's key is
(version, type), type 0 for ABORT and 1 for COMMIT. This module fetches a partition's raw batches (Fetch v4,
read_uncommitted) and finds the data batches an ABORT marker closed, so that tests can read topics as a
read_committed consumer does against Kafka. Only batch headers and control records are parsed:
data records may be compressed, and their content comes from librdkafka as usual.
"""

from __future__ import annotations

import socket
import struct
from dataclasses import dataclass, field

from tests.kafka_read import Record

_FETCH = 1
_FETCH_VERSION = 4
_MAX_BYTES = 4 << 20
_BATCH_HEADER = struct.Struct(">qiibIhiqqqhii")
_CONTROL = 0x20
_TRANSACTIONAL = 0x10


@dataclass
class _Partition:
    aborted: set[int] = field(default_factory=set)
    """Offsets of records in data batches closed by an ABORT marker (or by a fence of their producer)."""
    next_offset: int = 0
    """Where reading the log goes on."""
    open: dict[int, tuple[int, list[tuple[int, int]]]] = field(default_factory=dict)
    """Per producer id, the epoch and the transactional data batches not closed by a marker yet."""


def _string(text: str) -> bytes:
    data = text.encode()
    return struct.pack(">h", len(data)) + data


def _varint(data: bytes, at: int) -> tuple[int, int]:
    shift = value = 0
    while True:
        byte = data[at]
        at += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return (value >> 1) ^ -(value & 1), at
        shift += 7


class _Connection:
    def __init__(self, bootstrap: str) -> None:
        host, _, port = bootstrap.split(",")[0].rpartition(":")
        self._sock = socket.create_connection((host, int(port)), timeout=30)
        self._correlation = 0

    def close(self) -> None:
        self._sock.close()

    def _read(self, size: int) -> bytes:
        chunks = bytearray()
        while len(chunks) < size:
            chunk = self._sock.recv(size - len(chunks))
            if not chunk:
                raise ConnectionError("the broker closed the connection")
            chunks += chunk
        return bytes(chunks)

    def fetch(self, topic: str, partition: int, offset: int) -> tuple[int, bytes]:
        """(high watermark, raw record batches) from ``offset`` on."""
        self._correlation += 1
        header = struct.pack(">hhi", _FETCH, _FETCH_VERSION, self._correlation) + _string(
            "pgcdc-test-markers"
        )
        body = struct.pack(">iiiib", -1, 100, 1, _MAX_BYTES, 0)  # replica, wait, min, max, read_uncommitted
        body += struct.pack(">i", 1) + _string(topic) + struct.pack(">i", 1)
        body += struct.pack(">iqi", partition, offset, _MAX_BYTES)
        request = header + body
        self._sock.sendall(struct.pack(">i", len(request)) + request)
        (size,) = struct.unpack(">i", self._read(4))
        answer = self._read(size)
        at = 4 + 4  # correlation id, throttle time
        (topics,) = struct.unpack_from(">i", answer, at)
        at += 4
        assert topics == 1, f"fetch answered {topics} topics"
        (name_len,) = struct.unpack_from(">h", answer, at)
        at += 2 + name_len + 4  # the name, the partition count (one)
        _, error, high_watermark, _ = struct.unpack_from(">ihqq", answer, at)
        at += 4 + 2 + 8 + 8
        if error:
            raise AssertionError(f"fetch of {topic}[{partition}]@{offset} failed with Kafka error {error}")
        (aborted,) = struct.unpack_from(">i", answer, at)
        at += 4 + max(aborted, 0) * 16
        (records_len,) = struct.unpack_from(">i", answer, at)
        at += 4
        return high_watermark, answer[at : at + max(records_len, 0)]


def _abort(state: _Partition, spans: list[tuple[int, int]]) -> None:
    for first, last in spans:
        state.aborted.update(range(first, last + 1))


def _apply(state: _Partition, batches: bytes) -> int | None:
    """Fold whole batches into ``state``; the offset after the last one, None when there was none."""
    at, next_offset = 0, None
    while at + _BATCH_HEADER.size <= len(batches):
        fields = _BATCH_HEADER.unpack_from(batches, at)
        base, length, _, magic, _, attributes, last_delta = fields[:7]
        producer_id = fields[9]
        end = at + 12 + length
        if end > len(batches):
            break  # cut short by the size limit: fetched again from its start
        assert magic == 2, f"record batch magic {magic} at offset {base}"
        span = (base, base + last_delta)
        epoch = fields[10]
        if producer_id in state.open and state.open[producer_id][0] < epoch:
            # A newer epoch of the same producer id: the older one was fenced (InitProducerId), which aborts
            # its open transaction (Kafka writes an ABORT marker for it, Tansu writes none).
            _abort(state, state.open.pop(producer_id)[1])
        if attributes & _CONTROL:
            # One record: length, attributes, timestamp delta, offset delta, key length, key (version, type).
            record_at = at + _BATCH_HEADER.size
            for _ in range(5):
                _, record_at = _varint(batches, record_at)
            _, marker = struct.unpack_from(">hh", batches, record_at)
            closed = state.open.pop(producer_id, (epoch, []))[1]
            if marker == 0:
                _abort(state, closed)
        elif attributes & _TRANSACTIONAL:
            state.open.setdefault(producer_id, (epoch, []))[1].append(span)
        at, next_offset = end, span[1] + 1
    return next_offset


class AbortedRecords:
    """Says whether a record was written by an aborted transaction, reading each partition's log as far as
    the question needs (records a read_committed consumer got are below the last stable offset, so their
    transaction's marker is in the log by then)."""

    def __init__(self, bootstrap: str) -> None:
        self._bootstrap = bootstrap
        self._connection: _Connection | None = None
        self._partitions: dict[tuple[str, int], _Partition] = {}

    def hides(self, topic: str, partition: int, offset: int) -> bool:
        state = self._partitions.setdefault((topic, partition), _Partition())
        still_open = any(first <= offset <= last for _, spans in state.open.values() for first, last in spans)
        if offset >= state.next_offset or still_open:
            self._read(topic, partition, state)
        return offset in state.aborted

    def _read(self, topic: str, partition: int, state: _Partition) -> None:
        if self._connection is None:
            self._connection = _Connection(self._bootstrap)
        while True:
            high_watermark, batches = self._connection.fetch(topic, partition, state.next_offset)
            after = _apply(state, batches)
            if after is None:
                return
            state.next_offset = after
            if after >= high_watermark:
                return

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None


def without_aborted(bootstrap: str, topic: str, records: list[Record]) -> list[Record]:
    """``records`` of ``topic`` as a read_committed consumer of Kafka gets them: aborted transactions dropped."""
    aborted = AbortedRecords(bootstrap)
    try:
        return [r for r in records if not aborted.hides(topic, r.partition, r.offset)]
    finally:
        aborted.close()
