"""The six workloads (a)-(f): the tables each one needs and the load it writes, at full size or scaled down."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import psycopg
import psycopg.conninfo

Conn = psycopg.Connection[tuple[object, ...]]

NARROW_COLUMNS = "id bigserial PRIMARY KEY, a int, b text, c timestamptz"
NARROW_VALUES = "SELECT g, repeat('x', 50), now() FROM generate_series(1, {n}) g"
WIDE_COLUMNS = (
    "id bigserial PRIMARY KEY, "
    + ", ".join(f"i{k} int" for k in range(1, 9))
    + ", "
    + ", ".join(f"t{k} text" for k in range(1, 9))
    + ", ts1 timestamptz, ts2 timestamptz, n1 numeric(12,2), n2 numeric(12,2)"
)
# Eight 192-character texts, eight ints, two timestamps and two numerics: about 1.6 kB a row, under the
# 2 kB at which PostgreSQL would start compressing (TOAST) and change what is measured.
WIDE_INSERT = (
    "INSERT INTO public.{table} (i1, i2, i3, i4, i5, i6, i7, i8, t1, t2, t3, t4, t5, t6, t7, t8, ts1, ts2, n1, n2)"
    " SELECT g, g + 1, g + 2, g + 3, g + 4, g + 5, g + 6, g + 7, s, s, s, s, s, s, s, s, now(), now(),"
    " g / 100.0, g / 7.0 FROM generate_series(1, {n}) g, LATERAL (SELECT repeat(md5(g::text), 6) AS s) x"
)
RATE_WRITERS = 4
"""(b) writes from this many sessions at once: one session alone cannot commit 5,000 times a second with fsync
on (each commit waits for its WAL flush); several share flushes (group commit), as an application's do."""
RATE_BURST = 10
"""Single-row transactions each writer commits back to back per tick (every 8 ms for 5,000/s over 4)."""


@dataclass(frozen=True)
class Workload:
    key: str
    """a..f, as the issue names them."""
    title: str
    tables: tuple[str, ...]
    events: int
    create: Callable[[Conn], None]
    """Makes the tables anew (and, for a snapshot, fills them); not timed."""
    drive: Callable[[Conn], None]
    """Writes the timed load; does nothing for a snapshot."""
    snapshot: bool = False
    latency: bool = False


def _fresh(conn: Conn, tables: tuple[str, ...], columns: str) -> None:
    for table in tables:
        conn.execute(f"DROP TABLE IF EXISTS public.{table}")
        conn.execute(f"CREATE TABLE public.{table} ({columns})")


def _narrow_rows(conn: Conn, table: str, n: int) -> None:
    sql = f"INSERT INTO public.{table} (a, b, c) " + NARROW_VALUES.format(n=n)
    conn.execute(sql)


def _scaled(n: int, scale: float) -> int:
    return max(1, round(n * scale))


def streaming_narrow(scale: float) -> Workload:
    tx, per_tx = 20, _scaled(10_000, scale)
    table = ("bench_a",)

    def drive(conn: Conn) -> None:
        for _ in range(tx):
            _narrow_rows(conn, table[0], per_tx)

    return Workload(
        key="a",
        title=f"{tx * per_tx:,} narrow rows in {tx} transactions of {per_tx:,}",
        tables=table,
        events=tx * per_tx,
        create=lambda conn: _fresh(conn, table, NARROW_COLUMNS),
        drive=drive,
    )


def steady_rate(scale: float, *, rate: int = 5000) -> Workload:
    events = _scaled(50_000, scale)
    table = ("bench_b",)

    def create(conn: Conn) -> None:
        _fresh(conn, table, NARROW_COLUMNS)
        # A procedure commits each row as its own transaction without a round trip per row.
        conn.execute(
            "CREATE OR REPLACE PROCEDURE bench_burst(n int) LANGUAGE plpgsql AS $$ BEGIN"
            " FOR i IN 1..n LOOP INSERT INTO public.bench_b (a, b, c) VALUES (i, repeat('x', 50), now());"
            " COMMIT; END LOOP; END $$"
        )

    def drive(conn: Conn) -> None:
        info = conn.info
        dsn = psycopg.conninfo.make_conninfo(
            host=info.host, port=info.port, user=info.user, password=info.password, dbname=info.dbname
        )
        shares = [
            events // RATE_WRITERS + (1 if k < events % RATE_WRITERS else 0) for k in range(RATE_WRITERS)
        ]
        started = time.monotonic() + 0.05
        writers = [
            threading.Thread(target=_paced, args=(dsn, share, rate / RATE_WRITERS, started), daemon=True)
            for share in shares
            if share
        ]
        for writer in writers:
            writer.start()
        for writer in writers:
            writer.join()

    return Workload(
        key="b",
        title=f"{events:,} single-row transactions at {rate:,} per second",
        tables=table,
        events=events,
        create=create,
        drive=drive,
        latency=True,
    )


def _paced(dsn: str, events: int, rate: float, started: float) -> None:
    """One writer's share of (b): bursts of ``RATE_BURST`` transactions on a fixed schedule from ``started``."""
    tick = RATE_BURST / rate
    with psycopg.connect(dsn, autocommit=True) as conn:
        for count, first in enumerate(range(0, events, RATE_BURST)):
            delay = started + count * tick - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            conn.execute("CALL bench_burst(%s)", (min(RATE_BURST, events - first),))


def wide_rows(scale: float) -> Workload:
    tx, per_tx = 10, _scaled(10_000, scale)
    table = ("bench_c",)

    def drive(conn: Conn) -> None:
        for _ in range(tx):
            conn.execute(WIDE_INSERT.format(table=table[0], n=per_tx))

    return Workload(
        key="c",
        title=f"{tx * per_tx:,} wide rows (about 1.6 kB) in {tx} transactions of {per_tx:,}",
        tables=table,
        events=tx * per_tx,
        create=lambda conn: _fresh(conn, table, WIDE_COLUMNS),
        drive=drive,
    )


def snapshot(scale: float) -> Workload:
    rows = _scaled(1_000_000, scale)
    table = ("bench_d",)

    def create(conn: Conn) -> None:
        _fresh(conn, table, NARROW_COLUMNS)
        _narrow_rows(conn, table[0], rows)
        conn.execute("VACUUM ANALYZE public.bench_d")

    return Workload(
        key="d",
        title=f"snapshot of {rows:,} narrow rows",
        tables=table,
        events=rows,
        create=create,
        drive=lambda conn: None,
        snapshot=True,
    )


def one_big_transaction(scale: float) -> Workload:
    rows = _scaled(1_000_000, scale)
    table = ("bench_e",)
    return Workload(
        key="e",
        title=f"one transaction of {rows:,} narrow rows",
        tables=table,
        events=rows,
        create=lambda conn: _fresh(conn, table, NARROW_COLUMNS),
        drive=lambda conn: _narrow_rows(conn, table[0], rows),
    )


def many_tables(scale: float, *, count: int = 100) -> Workload:
    tx, per_table = 20, _scaled(100, scale)
    tables = tuple(f"bench_f{k:03d}" for k in range(count))

    def drive(conn: Conn) -> None:
        statements = " ".join(
            f"INSERT INTO public.{t} (a, b, c) {NARROW_VALUES.format(n=per_table)};" for t in tables
        )
        for _ in range(tx):
            # One round trip per transaction, as (a) has.
            conn.execute(f"DO $$ BEGIN {statements} END $$")

    return Workload(
        key="f",
        title=f"{tx * per_table * count:,} narrow rows over {count} tables, "
        f"{tx} transactions of {per_table * count:,}",
        tables=tables,
        events=tx * per_table * count,
        create=lambda conn: _fresh(conn, tables, NARROW_COLUMNS),
        drive=drive,
    )


BUILDERS: dict[str, Callable[[float], Workload]] = {
    "a": streaming_narrow,
    "b": steady_rate,
    "c": wide_rows,
    "d": snapshot,
    "e": one_big_transaction,
    "f": many_tables,
}
