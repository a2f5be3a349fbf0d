"""The reference workload (tests/data/sql): the tables of every type, and the statements streamed through them."""

from __future__ import annotations

import re
from pathlib import Path

import psycopg

SQL = Path(__file__).resolve().parent.parent / "data" / "sql"
TABLES = ("moretypes", "arrays", "unknowns", "toasted", "edges")


def statements(name: str) -> list[str]:
    """The statements of ``tests/data/sql/<name>``, split as the reference's scripts split them."""
    return [s for s in (SQL / name).read_text().split(";\n") if s.strip()]


def create_tables(dsn: str) -> None:
    """The reference's tables (with alltypes and defaults2, which edges.sql needs), empty."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        for statement in statements("alltypes.sql") + statements("moretypes.sql") + statements("edges.sql"):
            conn.execute(statement)


def load_toasted_row(dsn: str) -> None:
    """The out-of-line values the TOAST updates leave alone (row 1 of toasted)."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        for statement in statements("toasted_rows.sql"):
            conn.execute(statement)


def stream_statements() -> list[str]:
    """What the reference streamed through these tables: every row again with id+200, then the TOAST updates."""
    rows = re.sub(r"^ \((\d+),", r" (\1+200,", (SQL / "moretypes_rows.sql").read_text(), flags=re.M)
    edges = re.sub(r"\((\d+),", r"(\1+200,", (SQL / "edges_rows.sql").read_text())
    edges = edges.replace("'12:00:00+05:30:15'", "'12:00:00+05:30'")
    return [
        s for s in (rows + edges).split(";\n") if s.strip() and "INSERT INTO public.defaults2" not in s
    ] + statements("toasted_stream.sql")


def run(dsn: str, sql: list[str]) -> int:
    """Run the statements one by one (each its own transaction); the number of rows they changed."""
    changed = 0
    with psycopg.connect(dsn, autocommit=True) as conn:
        for statement in sql:
            changed += conn.execute(statement).rowcount
    return changed


# Key-changing updates (delete + tombstone + create, with __debezium.newkey/oldkey headers) on a key of a number,
# a timestamp and a string with a quote, a backslash and non-ASCII text, whose header text depends on the modes;
# and transactions of several events and of two tables, for provide.transaction.metadata.
KEYED_TABLES = ("keyed", "keyed_log")
_KEYED_DDL = (
    "CREATE TABLE public.keyed (id int, code numeric(6,2), at timestamp, name text, v int,"
    " PRIMARY KEY (id, code, at, name))",
    "CREATE TABLE public.keyed_log (id int PRIMARY KEY, note text)",
)
KEYED_STATEMENTS: tuple[tuple[str, int], ...] = (
    # (statement, records with a value it makes: a key change is two)
    (
        "INSERT INTO public.keyed VALUES (1, 1.50, '2024-01-02 03:04:05.678', 'a\"b\\c', 0),"
        " (2, 2, '1999-12-31 23:59:59', 'x', 0)",
        2,
    ),
    ("UPDATE public.keyed SET id = 11, code = 0.01, name = 'é' WHERE id = 1", 2),
    ("UPDATE public.keyed SET v = 1 WHERE id = 11", 1),
    ("UPDATE public.keyed SET id = id + 100", 4),
    (
        "WITH bumped AS (UPDATE public.keyed SET v = v + 1 RETURNING id)"
        " INSERT INTO public.keyed_log SELECT id, 'bumped' FROM bumped",
        4,
    ),
    ("DELETE FROM public.keyed WHERE id = 111", 1),
    # Key timestamps before 1970 (before 1582-10-15, one BC): a worker's header text of such a key holds only
    # the time of day (Values.dateFormatFor picks the pattern by the instant).
    ("UPDATE public.keyed SET at = '1500-03-01 10:00:00.25' WHERE id = 102", 2),
    ("UPDATE public.keyed SET at = '0044-03-15 12:00:00 BC' WHERE id = 102", 2),
)


def create_keyed_tables(dsn: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        for statement in _KEYED_DDL:
            conn.execute(statement)
