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
