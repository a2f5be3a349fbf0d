"""Differential test of incremental snapshots: one execute-snapshot signal, acted on by pgcdc and by the real
Debezium 3.6 side by side (marker ``debezium``; see test_debezium.py for what it needs).

Both read the same signal table; each ignores the other's watermarks (their chunk ids are its own). The ``op: r``
records of the snapshotted table, and the signal's own change event, must be equal but for run-specific values
and the run id of their context headers.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.connector_run import connector_settings, running_connector, unique_prefix, wait_until
from tests.differential.debezium_run import debezium_capture, debezium_properties
from tests.differential.test_debezium import blank, blank_headers, debezium  # noqa: F401 - a fixture
from tests.fix_services import PgServer, create_database, drop_database
from tests.kafka_read import read_topic

pytestmark = pytest.mark.debezium

TABLE = """CREATE TABLE public.items (
    id int PRIMARY KEY, v text, n numeric(7,2), at timestamptz, day date, ok boolean, doc jsonb, ref uuid,
    tags int[], nm name)"""
ROWS = """INSERT INTO public.items SELECT g, 'v' || g, g * 1.25, '2024-05-01 12:00:00+02'::timestamptz + g * interval '1 h',
    '2024-05-01'::date + g, g % 2 = 0, jsonb_build_object('g', g), md5(g::text)::uuid, ARRAY[g, g + 1],
    'name ' || g FROM generate_series(1, 7) g"""
SIGNAL = {
    "data-collections": ["public.items"],
    "type": "incremental",
    "additional-conditions": [{"data-collection": "public.items", "filter": "id <= 5"}],
}
# signal + Debezium's 3 windows + pgcdc's 3 windows (6 markers each) + 5 rows
DEBEZIUM_RECORDS = 1 + 6 + 6 + 5


@pytest.fixture
def both(
    debezium: str,  # noqa: F811 - the fixture imported above
    pg_server: PgServer,
    kafka_bootstrap: str,
    tmp_path: Path,
) -> Iterator[tuple[list[Any], list[Any]]]:
    """(pgcdc's records, Debezium's records), each as {"destination", "key", "value"}."""
    name = create_database(pg_server, "incremental")
    dsn = pg_server.dsn(name)
    try:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(TABLE)
            conn.execute(ROWS)
            conn.execute(
                "CREATE TABLE public.debezium_signal "
                "(id varchar(64) PRIMARY KEY, type varchar(32) NOT NULL, data varchar(2048))"
            )
        prefix = unique_prefix()
        common = {
            "table.include.list": "public.items",
            "snapshot.mode": "no_data",
            "signal.data.collection": "public.debezium_signal",
            "incremental.snapshot.chunk.size": "2",
        }
        properties = debezium_properties(dsn, prefix, tmp_path, **common)
        with running_connector(connector_settings(dsn, prefix, **common), kafka_bootstrap) as connector:
            with (
                debezium_capture(debezium, dsn, properties, tmp_path, count=DEBEZIUM_RECORDS) as theirs,
                psycopg.connect(dsn, autocommit=True) as conn,
            ):
                conn.execute(
                    "INSERT INTO public.debezium_signal VALUES ('sig-1', 'execute-snapshot', %s)",
                    (json.dumps(SIGNAL),),
                )
            wait_until(
                lambda: connector.status.snapshot.get("state") == "completed", timeout=60, what="pgcdc"
            )
            ours = [
                {
                    "destination": topic,
                    "key": r.key_json,
                    "value": r.value_json,
                    "headers": [[name, None if data is None else data.decode()] for name, data in r.headers],
                }
                for topic in (f"{prefix}.public.items", f"{prefix}.public.debezium_signal")
                for r in read_topic(kafka_bootstrap, topic, until=lambda got: len(got) >= 5, timeout=60)
            ]
        yield ours, theirs
    finally:
        drop_database(pg_server.admin_dsn, name)


def _snapshot_rows(records: list[Any]) -> list[Any]:
    rows = [r for r in records if r["destination"].endswith(".items") and r["value"]["payload"]["op"] == "r"]
    return sorted(rows, key=lambda r: r["key"]["payload"]["id"])


def _signal_event(records: list[Any]) -> Any:
    return next(
        r
        for r in records
        if r["destination"].endswith(".debezium_signal") and r["key"]["payload"]["id"] == "sig-1"
    )


def test_incremental_snapshot_records_equal_debeziums(both: tuple[list[Any], list[Any]]) -> None:
    ours, theirs = both
    real = _snapshot_rows(theirs)
    assert [r["key"]["payload"]["id"] for r in real] == [1, 2, 3, 4, 5], "Debezium did not snapshot ids 1-5"
    mine = _snapshot_rows(ours)
    assert len(mine) == len(real)
    for got, want in zip(mine, real, strict=True):
        assert got["key"] == want["key"]
        assert blank(got["value"]) == blank(want["value"])
        assert blank_headers(got["headers"]) == blank_headers(want["headers"])
    assert _signal_event(ours)["key"] == _signal_event(theirs)["key"]
    assert blank_headers(_signal_event(ours)["headers"]) == blank_headers(_signal_event(theirs)["headers"])
    assert blank(_signal_event(ours)["value"]) == blank(_signal_event(theirs)["value"])
