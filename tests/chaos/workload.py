"""The chaos workload: transactions with verifiable ids over several tables, and the ledger of what committed.

Every row carries a ``version`` that its key's changes raise by one, so each change is named by
(table, id, version) and a delete by (table, id, DELETED). Each committed transaction also writes its number
to ``chaos.txlog`` (not captured), which settles a commit whose answer was lost to a fault.
Rolled-back transactions write ids below zero and versions above ROLLBACK_BUMP: any such value in Kafka is
an event of a rolled-back transaction.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from dataclasses import dataclass, field

import psycopg

log = logging.getLogger(__name__)

SCHEMA = "chaos"
TABLES = ("accounts", "orders", "notes")
MARKERS = "markers"
CAPTURED = (*TABLES, MARKERS)
DELETED = 1 << 40
"""The label of a delete: above every version, as a delete is the last change of its key."""
ROLLBACK_BUMP = 1_000_000
"""Rolled-back updates raise the version by this much; no committed version gets near it."""

DDL = (
    "CREATE SCHEMA chaos;"
    + "".join(
        f"CREATE TABLE chaos.{t} (id bigint PRIMARY KEY, version int NOT NULL, txn bigint NOT NULL, body text);"
        for t in TABLES
    )
    + (
        "CREATE TABLE chaos.markers (id int PRIMARY KEY, at timestamptz NOT NULL DEFAULT clock_timestamp());"
        "CREATE TABLE chaos.txlog (txn bigint PRIMARY KEY);"
    )
)

_RECONNECT_S = 0.2


@dataclass
class Ledger:
    """What committed, per key in commit order; and what was rolled back."""

    changes: dict[tuple[str, int], list[int]] = field(default_factory=dict)
    transactions: int = 0
    rolled_back: int = 0
    in_doubt_committed: int = 0
    in_doubt_lost: int = 0
    large_rows: int = 0

    @property
    def events(self) -> int:
        return sum(len(labels) for labels in self.changes.values())

    def add(self, table: str, key: int, label: int) -> None:
        self.changes.setdefault((table, key), []).append(label)


@dataclass
class _Op:
    table: str
    key: int
    label: int
    sql: str


class _LiveKeys:
    """Keys that exist now, per table, for O(1) random picks and removals."""

    def __init__(self) -> None:
        self._keys: dict[str, list[int]] = {t: [] for t in TABLES}
        self._index: dict[str, dict[int, int]] = {t: {} for t in TABLES}
        self.version: dict[tuple[str, int], int] = {}

    def add(self, table: str, key: int, version: int) -> None:
        self._index[table][key] = len(self._keys[table])
        self._keys[table].append(key)
        self.version[(table, key)] = version

    def remove(self, table: str, key: int) -> None:
        position = self._index[table].pop(key)
        last = self._keys[table].pop()
        if last != key:
            self._keys[table][position] = last
            self._index[table][last] = position
        del self.version[(table, key)]

    def pick(self, rng: random.Random, table: str, taken: set[tuple[str, int]]) -> int | None:
        keys = self._keys[table]
        for _ in range(3):
            if not keys:
                return None
            key = keys[rng.randrange(len(keys))]
            if (table, key) not in taken:
                return key
        return None


class Workload:
    """One writer thread: transactions at up to ``rate`` per second until ``stop``.

    ``transactions`` is the planned count: ``reached`` says when it is done, and the large transaction
    (``large_rows`` inserts) runs once ``large_at`` of it is done.
    """

    def __init__(
        self,
        *,
        dsn: str,
        transactions: int,
        rate: float,
        seed: int,
        large_rows: int,
        large_at: float = 0.3,
        rollback_share: float = 0.05,
    ) -> None:
        self._dsn = dsn
        self._total = transactions
        self._interval = 1.0 / rate if rate > 0 else 0.0
        self._rng = random.Random(seed)
        self._large_rows = large_rows
        self._large_at = int(transactions * large_at)
        self._rollback_share = rollback_share
        self.ledger = Ledger()
        self._live = _LiveKeys()
        self._next_id = 1
        self._next_txn = 1
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="chaos-workload", daemon=True)
        self.error: BaseException | None = None
        self.done = 0
        self.reconnects = 0

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def join(self, timeout: float) -> None:
        self._thread.join(timeout)
        if self._thread.is_alive():
            raise AssertionError(f"the workload did not finish within {timeout:.0f} s ({self.done} done)")
        if self.error is not None:
            raise self.error

    @property
    def reached(self) -> bool:
        return self.done >= self._total

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    # --- the writer ---------------------------------------------------------------------------------------

    def _run(self) -> None:
        try:
            conn = self._connect()
            started = time.monotonic()
            while not self._stop.is_set():
                if self.done == self._large_at and self._large_rows:
                    conn = self._transaction(conn, self._large())
                conn = self._transaction(conn, self._next())
                self.done += 1
                if self._interval:
                    lag = started + self.done * self._interval - time.monotonic()
                    if lag > 0:
                        time.sleep(lag)
            conn.close()
        except BaseException as err:
            self.error = err

    def _connect(self) -> psycopg.Connection[tuple[object, ...]]:
        deadline = time.monotonic() + 120
        while True:
            try:
                return psycopg.connect(self._dsn, autocommit=True, connect_timeout=5)
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(_RECONNECT_S)

    def _next(self) -> tuple[int, list[_Op], bool]:
        txn = self._next_txn
        self._next_txn += 1
        if self._rng.random() < self._rollback_share:
            return txn, self._rolled_back_ops(txn), False
        ops: list[_Op] = []
        taken: set[tuple[str, int]] = set()
        for _ in range(self._rng.randint(1, 4)):
            table = self._rng.choice(TABLES)
            roll = self._rng.random()
            key = self._live.pick(self._rng, table, taken) if roll >= 0.5 else None
            if key is None:
                key = self._next_id
                self._next_id += 1
                ops.append(_Op(table, key, 1, _insert(table, key, 1, txn)))
            elif roll < 0.85:
                version = self._live.version[(table, key)] + 1
                ops.append(
                    _Op(
                        table,
                        key,
                        version,
                        f"UPDATE chaos.{table} SET version = {version}, txn = {txn} WHERE id = {key};",
                    )
                )
            else:
                ops.append(_Op(table, key, DELETED, f"DELETE FROM chaos.{table} WHERE id = {key};"))
            taken.add((table, key))
        return txn, ops, True

    def _rolled_back_ops(self, txn: int) -> list[_Op]:
        table = self._rng.choice(TABLES)
        ops = [_Op(table, -txn, 1, _insert(table, -txn, 1, txn))]
        key = self._live.pick(self._rng, table, set())
        if key is not None:
            bumped = self._live.version[(table, key)] + ROLLBACK_BUMP
            ops.append(
                _Op(table, key, bumped, f"UPDATE chaos.{table} SET version = {bumped} WHERE id = {key};")
            )
        return ops

    def _large(self) -> tuple[int, list[_Op], bool]:
        txn = self._next_txn
        self._next_txn += 1
        first, last = self._next_id, self._next_id + self._large_rows - 1
        self._next_id = last + 1
        sql = (
            f"INSERT INTO chaos.notes SELECT g, 1, {txn}, repeat('L', 100)"
            f" FROM generate_series({first}::bigint, {last}::bigint) g;"
        )
        ops = [_Op("notes", key, 1, "") for key in range(first, last + 1)]
        ops[0].sql = sql
        self.ledger.large_rows = self._large_rows
        return txn, ops, True

    def _transaction(
        self, conn: psycopg.Connection[tuple[object, ...]], planned: tuple[int, list[_Op], bool]
    ) -> psycopg.Connection[tuple[object, ...]]:
        """Run one transaction (one round trip); on a lost connection, find out whether it committed."""
        txn, ops, commit = planned
        body = "".join(op.sql for op in ops)
        end = f"INSERT INTO chaos.txlog VALUES ({txn}); COMMIT;" if commit else "ROLLBACK;"
        try:
            # No parameters, so psycopg sends it with the simple protocol: several statements, one trip.
            conn.execute(f"BEGIN; {body} {end}".encode())
            committed = commit
        except psycopg.OperationalError:
            self.reconnects += 1
            conn.close()
            conn = self._connect()
            committed = commit and self._committed(conn, txn)
            if commit:
                if committed:
                    self.ledger.in_doubt_committed += 1
                else:
                    self.ledger.in_doubt_lost += 1
        if committed:
            self._apply(ops)
            self.ledger.transactions += 1
        else:
            self.ledger.rolled_back += 1
        return conn

    def _committed(self, conn: psycopg.Connection[tuple[object, ...]], txn: int) -> bool:
        row = conn.execute("SELECT count(*) FROM chaos.txlog WHERE txn = %s", (txn,)).fetchone()
        return row is not None and row[0] == 1

    def _apply(self, ops: list[_Op]) -> None:
        for op in ops:
            self.ledger.add(op.table, op.key, op.label)
            if op.label == 1:
                self._live.add(op.table, op.key, 1)
            elif op.label == DELETED:
                self._live.remove(op.table, op.key)
            else:
                self._live.version[(op.table, op.key)] = op.label


def _insert(table: str, key: int, version: int, txn: int) -> str:
    return f"INSERT INTO chaos.{table} VALUES ({key}, {version}, {txn}, 'b{txn}');"


def create_schema(dsn: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(DDL.encode())


def insert_marker(dsn: str, number: int, *, retry_for: float = 120) -> None:
    """Commit marker ``number`` (retried while PostgreSQL comes back); its arrival in Kafka times recovery."""
    deadline = time.monotonic() + retry_for
    while True:
        try:
            with psycopg.connect(dsn, autocommit=True, connect_timeout=5) as conn:
                conn.execute("INSERT INTO chaos.markers (id) VALUES (%s) ON CONFLICT DO NOTHING", (number,))
            return
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(_RECONNECT_S)
