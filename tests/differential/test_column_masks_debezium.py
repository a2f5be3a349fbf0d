"""Differential test of column.truncate / column.mask: the same rows through pgcdc and the real Debezium 3.6.

Opt-in (marker ``debezium``), as test_debezium.py. Every table has columns of many types, a row with values, a row
of NULLs (defaults aside) and a TOASTed value; each table gets its own rule on all its columns. Both connectors
snapshot the rows, then stream an insert, an update leaving the TOASTed value alone and a delete; every key and
value must be equal but for clocks, LSNs and transaction ids, and so must the headers of snapshot and stream
records (the context headers of extended.headers.enabled) but for the run id.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from tests.differential.debezium_run import side_by_side
from tests.differential.test_debezium import blank, blank_headers, debezium  # noqa: F401 - a fixture
from tests.fix_services import PgServer, create_database, drop_database

pytestmark = pytest.mark.debezium

COLUMNS = """
  id text PRIMARY KEY, t text, vc5 varchar(5), vc varchar, bp4 char(4), ch "char", e mood, dom shorttext,
  domt plaintext, j json, u uuid, i4 int4, n numeric(7,2), nn numeric, b bool, by bytea, vb varbit, d date,
  tstz timestamptz, inet_ inet, arr text[], nnarr numeric[], tdef text DEFAULT 'a default', tnn text NOT NULL
  DEFAULT 'not null default', emo text, big text, iv interval, tq tsquery
"""
ROW = """(%(id)s, 'hello world', 'abcde', 'varying text', 'ab', 'q', 'happy', 'abcdef', 'domain text',
 '{"a": 1}', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', 123456, 12345.67, 3.14159, true, '\\xdeadbeefcafe',
 B'1100110011001100110011', '2024-02-29', '2024-02-29 12:34:56.789+02', '192.168.0.1/24', '{alpha,beta}',
 '{1.5,2.25}', 'given', 'also given', '😀é-xyzw', %(big)s, '1 day 02:03:04', 'fat & (rat | cat)')"""
# A value PostgreSQL stores out of line, which an UPDATE of another column leaves unchanged (TOAST).
BIG = "".join(f"{i:05d}-{(i * 7919) % 100003:06d}" for i in range(3000))
RULES = {
    "column.truncate.to.2.chars": r"public\.tr\..*,public.rules2.t",
    "column.truncate.to.8.chars": "public.tr8.*",
    "column.mask.with.3.chars": "public.mk.*,public.rules2.t,public.rules2.vc,PUBLIC.CASES.T,public.cases.v.*",
    "column.mask.hash.SHA-256.with.salt.s@lt.x": "public.h1.*",
    "column.mask.hash.v2.MD5.with.salt.pepper": "public.h2.*",
}
# Modes that turn bytes, intervals and numerics into strings, and keep columns of unknown types as bytes.
CONFIGS = {
    "defaults": {},
    "strings-and-unknown-types": {
        "binary.handling.mode": "base64",
        "interval.handling.mode": "string",
        "decimal.handling.mode": "string",
        "include.unknown.datatypes": "true",
    },
}
TABLES = ("mk", "h1", "h2", "tr", "tr8", "cases", "rules2")
STREAMED = [
    *(f"INSERT INTO {t} VALUES {ROW}" for t in TABLES),
    *(f"UPDATE {t} SET t = 'changed text' WHERE id = 'r1'" for t in TABLES),
    *(f"DELETE FROM {t} WHERE id = 'r2'" for t in TABLES),
]


def _load(dsn: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("CREATE TYPE mood AS ENUM ('happy', 'sad')")
        conn.execute("CREATE DOMAIN shorttext AS varchar(6)")
        conn.execute("CREATE DOMAIN plaintext AS text")
        for table in TABLES:
            conn.execute(f"CREATE TABLE {table} ({COLUMNS})")
            conn.execute(f"ALTER TABLE {table} ALTER COLUMN big SET STORAGE EXTERNAL")
            conn.execute(f"INSERT INTO {table} VALUES {ROW}", {"id": "r1", "big": BIG})
            conn.execute(f"INSERT INTO {table} (id) VALUES ('r2')")


@pytest.fixture(scope="module", params=sorted(CONFIGS))
def both(
    request: pytest.FixtureRequest,
    debezium: str,  # noqa: F811 - the imported fixture
    pg_server: PgServer,
    kafka_bootstrap: str,
    tmp_path_factory: Any,
) -> Iterator[tuple[dict[str, list[Any]], dict[str, list[Any]]]]:
    """(pgcdc's records, Debezium's records) by table."""
    name = create_database(pg_server, "masks")
    dsn = pg_server.dsn(name)
    workdir = tmp_path_factory.mktemp("masks")
    try:
        _load(dsn)
        settings = {
            "table.include.list": ",".join(f"public.{t}" for t in TABLES),
            "snapshot.mode": "initial",
            **RULES,
            **CONFIGS[request.param],
        }
        # Per table: two snapshot rows, then an insert, an update and a delete.
        statements = [(s, {"id": "r3", "big": "short"}) for s in STREAMED]
        counts = dict.fromkeys(TABLES, 5)
        ours, theirs = side_by_side(debezium, dsn, workdir, kafka_bootstrap, settings, statements, counts)
        yield ours, theirs
    finally:
        drop_database(pg_server.admin_dsn, name)


@pytest.mark.parametrize("table", TABLES)
def test_masked_records_equal_debeziums(
    both: tuple[dict[str, list[Any]], dict[str, list[Any]]], table: str
) -> None:
    ours, theirs = both
    assert len(theirs.get(table, [])) == 6, f"Debezium wrote {len(theirs.get(table, []))} records for {table}"
    assert len(ours[table]) == len(theirs[table])
    for mine, real in zip(ours[table], theirs[table], strict=True):
        assert mine["key"] == real["key"]
        assert blank(mine["value"]) == blank(real["value"])
        assert blank_headers(mine["headers"]) == blank_headers(real["headers"])
