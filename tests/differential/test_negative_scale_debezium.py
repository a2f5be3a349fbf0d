"""Differential test of numeric(p, -s) (PostgreSQL 15+): a snapshot and a stream through pgcdc and the real
Debezium 3.6, in every decimal.handling.mode.

Opt-in (marker ``debezium``), as test_debezium.py. Debezium reads a negative scale as pgjdbc does (its 16 low
bits: -2 is 2046) and writes the right values with that many decimal places; pgcdc must write the same keys,
values (schemas and defaults included) and headers (the run id aside).
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.differential.debezium_run import side_by_side_on_new_database
from tests.differential.test_debezium import blank, blank_headers, debezium  # noqa: F401 - a fixture
from tests.fix_services import PgServer

pytestmark = pytest.mark.debezium

SETUP = (
    "CREATE TABLE public.rounded (id int PRIMARY KEY, x numeric(5,-2), y numeric(3,-1) DEFAULT 120,"
    " z numeric(6,2), w numeric(4,-1)[])",
    "INSERT INTO public.rounded VALUES (1, 12345, 120, 1.5, '{15,-20}'), (2, -99900, NULL, NULL, NULL),"
    " (3, 0, 10, 0, '{}')",
)
STREAMED = (
    "INSERT INTO public.rounded VALUES (4, 49, 9994, -2.25, '{1,NULL}'), (5, NULL, NULL, NULL, NULL)",
)
COUNTS = {"rounded": 5}


@pytest.fixture(scope="module", params=["precise", "string", "double"])
def both(
    request: pytest.FixtureRequest,
    debezium: str,  # noqa: F811 - the imported fixture
    pg_server: PgServer,
    kafka_bootstrap: str,
    tmp_path_factory: Any,
) -> tuple[dict[str, list[Any]], dict[str, list[Any]]]:
    settings = {
        "table.include.list": "public.rounded",
        "snapshot.mode": "initial",
        "decimal.handling.mode": request.param,
    }
    return side_by_side_on_new_database(
        debezium,
        pg_server,
        tmp_path_factory.mktemp("negscale"),
        kafka_bootstrap,
        SETUP,
        settings,
        STREAMED,
        COUNTS,
    )


def test_negative_scales_equal_debeziums(both: tuple[dict[str, list[Any]], dict[str, list[Any]]]) -> None:
    ours, theirs = both
    assert len(theirs.get("rounded", [])) == COUNTS["rounded"], f"Debezium wrote {theirs.get('rounded')}"
    assert len(ours["rounded"]) == len(theirs["rounded"])
    for mine, real in zip(ours["rounded"], theirs["rounded"], strict=True):
        assert mine["key"] == real["key"]
        assert blank(mine["value"]) == blank(real["value"])
        assert blank_headers(mine["headers"]) == blank_headers(real["headers"])
