"""Every type end to end (pgoutput -> pgcdc -> Kafka), compared with the records the real Debezium 3.6 wrote for
the same statements (tests/data/debezium-types.jsonl, run ``adaptive``). No Java needed: the quick subset of the
differential test in tests/differential."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest

from tests.connector_run import connector_settings, running_connector, unique_prefix
from tests.differential import workload
from tests.fix_services import PgServer, create_database, drop_database
from tests.kafka_read import Record, read_topic
from tests.unit.test_values import RECORDS, RUNS, jdk17_parsed

RUN = "adaptive"
SEQUENCE_COLUMNS = {"c_smallserial"}  # nextval() of a fresh sequence here, of a used one in the reference


def expected(table: str) -> list[dict[str, Any]]:
    return [r for r in RECORDS if r["run"] == RUN and r["phase"] == "stream" and r["table"] == table]


@pytest.fixture(scope="module")
def streamed(pg_server: PgServer, kafka_bootstrap: str) -> dict[str, list[Record]]:
    name = create_database(pg_server, "types")
    dsn = pg_server.dsn(name)
    try:
        with psycopg.connect(dsn, autocommit=True) as conn:
            # A zone other than UTC: pgcdc must pin its walsender to UTC (tstzrange values are text).
            conn.execute(f"ALTER DATABASE {name} SET TimeZone = 'Asia/Kolkata'")
        workload.create_tables(dsn)
        workload.load_toasted_row(dsn)
        prefix = unique_prefix()
        tables = ",".join(f"public.{t}" for t in workload.TABLES)
        settings = connector_settings(
            dsn, prefix, **{"table.include.list": tables, "snapshot.mode": "no_data"}
        )
        with running_connector(settings, kafka_bootstrap):
            workload.run(dsn, workload.stream_statements())
            counts = {t: len(expected(t)) for t in workload.TABLES}
            counts["toasted"] = 3  # the copy and two updates; the reference keeps the updates
            return {
                t: read_topic(
                    kafka_bootstrap, f"{prefix}.public.{t}", until=lambda got, n=n: len(got) >= n, timeout=60
                )
                for t, n in counts.items()
            }
    finally:
        drop_database(pg_server.admin_dsn, name)


@pytest.mark.parametrize("table", ["moretypes", "arrays", "unknowns", "edges"])
def test_values_and_schemas_match_debezium(streamed: dict[str, list[Record]], table: str) -> None:
    ours = {r.value_json["payload"]["after"]["id"]: r.value_json for r in streamed[table]}
    theirs = expected(table)
    assert sorted(ours) == sorted(r["id"] for r in theirs)
    fields = RUNS[RUN]["tables"][table]["value_fields"]
    for record in theirs:
        value = ours[record["id"]]
        assert value["payload"]["op"] == record["op"]
        after = value["payload"]["after"]
        assert list(after) == list(record["after"]), "the same columns, in the same order"
        for name, want in record["after"].items():
            if name not in SEQUENCE_COLUMNS:
                assert after[name] == jdk17_parsed(want), f"{table} id {record['id']} column {name}"
        assert value["schema"]["fields"][1]["fields"] == fields


def test_unchanged_toast_values_match_debezium(streamed: dict[str, list[Record]]) -> None:
    updates = [r.value_json["payload"] for r in streamed["toasted"] if r.value_json["payload"]["op"] == "u"]
    for record in expected("toasted"):
        ours = next(p["after"] for p in updates if p["after"]["id"] == record["id"])
        assert ours == {**record["after"], "n": ours["n"]}
