"""Debezium's transaction metadata: transaction ids, each event's place in its transaction, END's counts."""

from __future__ import annotations

from functools import lru_cache

from pgcdc.events.change import TransactionBlock
from pgcdc.java_string import java_string_hash

# Debezium counts each logical decoding message as a data collection of its own, named by an object without a
# toString (so "<class>@<identity hash>"); pgcdc keeps the class name and puts the message's LSN (hex) after the
# '@', which is as unique and, unlike an identity hash, the same on every run.
MESSAGE_COLLECTION = "io.debezium.connector.postgresql.LogicalDecodingMessageMonitor$LogicalDecodingMessageId"

_INITIAL_CAPACITY = 16


def transaction_id(xid: int, lsn: int) -> str:
    """Debezium's id for PostgreSQL: the xid (which wraps around) and the WAL position of the record at hand,
    so BEGIN, every event and END of one transaction each carry their own position."""
    return f"{xid}:{lsn}"


def message_collection(lsn: int) -> str:
    return f"{MESSAGE_COLLECTION}@{lsn:x}"


# Table names repeat in every transaction; message names never do, hence the bound.
_collection_hash = lru_cache(maxsize=4096)(java_string_hash)


class _JavaHashMapOrder:
    """Iteration order of Debezium's per-transaction ``HashMap<String, Long>`` of event counts.

    A HashMap iterates bucket by bucket (the hash's high half folded into the low, masked by the capacity) and,
    within a bucket, in insertion order. Its capacity starts at 16, doubles past a load of 3/4 and survives
    clear(), which is how Debezium empties the map between transactions: one wide transaction changes the
    order of every later one. (A bucket of 8 or more keys would be turned into a tree; that takes hundreds of
    tables in one transaction and is not modelled.)
    """

    def __init__(self) -> None:
        self._capacity = _INITIAL_CAPACITY

    def order(self, keys: list[str]) -> list[str]:
        """``keys`` (in insertion order) as the map would list them."""
        while len(keys) > self._capacity * 3 // 4:
            self._capacity *= 2
        if len(keys) < 2:
            return keys
        mask = self._capacity - 1

        def bucket(key: str) -> int:
            h = _collection_hash(key)
            return (h ^ (h >> 16)) & mask

        return sorted(keys, key=bucket)  # stable: ties keep insertion order, as within a bucket


class TransactionMetadata:
    """The open transaction's counters, for one connector (``provide.transaction.metadata=true``)."""

    def __init__(self) -> None:
        self._order = _JavaHashMapOrder()
        self._xid = 0
        self._total = 0
        self._per_collection: dict[str, int] = {}

    def begin(self, xid: int, lsn: int) -> str:
        """A transaction starts at ``lsn``; returns the BEGIN record's id."""
        self._xid = xid
        self._total = 0
        self._per_collection = {}
        return transaction_id(xid, lsn)

    def block(self, collection: str, lsn: int) -> TransactionBlock:
        """The ``transaction`` block of the next event written for ``collection`` (schema.table)."""
        self._total += 1
        counts = self._per_collection
        count = counts[collection] = counts.get(collection, 0) + 1
        return TransactionBlock(
            f"{self._xid}:{lsn}", self._total, count
        )  # transaction_id(), inlined: per event

    def end(self, lsn: int) -> tuple[str, int, list[tuple[str, int]]]:
        """The END record's id, event count and per-collection counts."""
        counts = self._per_collection
        listed = [(name, counts[name]) for name in self._order.order(list(counts))]
        return transaction_id(self._xid, lsn), self._total, listed
