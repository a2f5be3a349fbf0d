"""Differential test of name columns: a snapshot and a stream through pgcdc and the real Debezium 3.6.

Opt-in (marker ``debezium``), as test_debezium.py. Debezium writes a name column's text in a snapshot (read
through JDBC) but null when streaming (a NOT NULL column's "", in the key too) unless include.unknown.datatypes
is true; pgcdc must write the same keys, values and headers (the run id aside), with and without that setting.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.differential.debezium_run import side_by_side_on_new_database
from tests.differential.test_debezium import blank, blank_headers, debezium  # noqa: F401 - a fixture
from tests.fix_services import PgServer

pytestmark = pytest.mark.debezium

SETUP = (
    "CREATE TABLE public.names (id int PRIMARY KEY, n name, nd name DEFAULT 'dflt', nn name NOT NULL DEFAULT 'x')",
    "CREATE TABLE public.named (n name PRIMARY KEY, v int)",
    "INSERT INTO public.names VALUES (1, 'snap name', 'a', 'b'), (2, NULL, DEFAULT, DEFAULT)",
    "INSERT INTO public.named VALUES ('k1', 1)",
)
STREAMED = (
    "INSERT INTO public.names VALUES (3, 'stream name', 'c', 'd'), (4, NULL, DEFAULT, DEFAULT)",
    "INSERT INTO public.named VALUES ('k2', 2)",
    "UPDATE public.named SET v = 3 WHERE n = 'k1'",
)
COUNTS = {"names": 4, "named": 3}  # records with a value per table: snapshot rows, then streamed changes


@pytest.fixture(scope="module", params=["false", "true"], ids=lambda v: f"unknown-{v}")
def both(
    request: pytest.FixtureRequest,
    debezium: str,  # noqa: F811 - the imported fixture
    pg_server: PgServer,
    kafka_bootstrap: str,
    tmp_path_factory: Any,
) -> tuple[dict[str, list[Any]], dict[str, list[Any]]]:
    settings = {
        "table.include.list": "public.names,public.named",
        "snapshot.mode": "initial",
        "include.unknown.datatypes": request.param,
    }
    return side_by_side_on_new_database(
        debezium,
        pg_server,
        tmp_path_factory.mktemp("names"),
        kafka_bootstrap,
        SETUP,
        settings,
        STREAMED,
        COUNTS,
    )


@pytest.mark.parametrize("table", sorted(COUNTS))
def test_name_columns_equal_debeziums(
    both: tuple[dict[str, list[Any]], dict[str, list[Any]]], table: str
) -> None:
    ours, theirs = both
    assert len(theirs.get(table, [])) == COUNTS[table], f"Debezium wrote {theirs.get(table)}"
    snapshot = theirs[table][0]["value"]["payload"]["after"]
    assert snapshot["n"] in ("snap name", "k1"), "Debezium's snapshot no longer writes the text"
    assert len(ours[table]) == len(theirs[table])
    for mine, real in zip(ours[table], theirs[table], strict=True):
        assert mine["key"] == real["key"]
        assert blank(mine["value"]) == blank(real["value"])
        assert blank_headers(mine["headers"]) == blank_headers(real["headers"])
