"""The real Debezium beside pgcdc in differential tests: its properties, and a capture run as a subprocess."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
from psycopg.conninfo import conninfo_to_dict

from tests.connector_run import connector_settings, running_connector, unique_prefix, wait_until
from tests.fix_services import PgServer, create_database, drop_database
from tests.kafka_read import read_topic

CAPTURE = Path(__file__).with_name("dbz_capture.py")


def debezium_properties(dsn: str, prefix: str, workdir: Path, **settings: str) -> dict[str, str]:
    """Debezium's properties for the database ``dsn`` names, under ``prefix``, with its own slot and publication."""
    params = conninfo_to_dict(dsn)
    return {
        "name": prefix,
        "connector.class": "io.debezium.connector.postgresql.PostgresConnector",
        "offset.storage": "org.apache.kafka.connect.storage.FileOffsetBackingStore",
        "offset.storage.file.filename": str(workdir / "offsets.dat"),
        "offset.flush.interval.ms": "1000",
        "database.hostname": str(params.get("host") or "127.0.0.1"),
        "database.port": str(params.get("port") or 5432),
        "database.user": str(params.get("user") or "postgres"),
        "database.password": str(params.get("password") or "x"),
        "database.dbname": str(params["dbname"]),
        "topic.prefix": prefix,
        "plugin.name": "pgoutput",
        "slot.name": f"dbz_{prefix}",
        "publication.name": f"dbz_pub_{prefix}",
        "publication.autocreate.mode": "filtered",
        "poll.interval.ms": "100",
        **settings,
    }


def _slot_active(dsn: str, slot: str) -> bool:
    with psycopg.connect(dsn, autocommit=True) as conn:
        row = conn.execute("SELECT active FROM pg_replication_slots WHERE slot_name = %s", (slot,)).fetchone()
    return bool(row and row[0])


@contextmanager
def debezium_capture(
    python: str, dsn: str, properties: dict[str, str], workdir: Path, *, count: int
) -> Iterator[list[dict[str, Any]]]:
    """Run Debezium until it wrote ``count`` records with a value (or 240 s passed): the block runs once its slot
    streams, and the yielded list holds the records ({destination, key, value, headers}) after the block."""
    (workdir / "properties.json").write_text(json.dumps(properties))
    out = workdir / "debezium.jsonl"
    records: list[dict[str, Any]] = []
    with open(workdir / "debezium.log", "wb") as log:
        process = subprocess.Popen(
            [python, str(CAPTURE), str(workdir / "properties.json"), str(out), str(count), "240"],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_until(
                lambda: _slot_active(dsn, properties["slot.name"]) or process.poll() is not None,
                timeout=180,
                what="Debezium to stream",
                interval=0.5,
            )
            assert process.poll() is None, f"Debezium stopped: see {workdir / 'debezium.log'}"
            yield records
            process.wait(300)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait(30)
    if out.exists():
        records.extend(json.loads(line) for line in out.read_text().splitlines() if line)


def by_table(records: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Debezium's captured records by table name."""
    tables: dict[str, list[dict[str, Any]]] = {}
    for record in records:
        tables.setdefault(record["destination"].rsplit(".", 1)[-1], []).append(record)
    return tables


def pgcdc_records(bootstrap: str, prefix: str, counts: dict[str, int]) -> dict[str, list[dict[str, Any]]]:
    """pgcdc's records ({key, value} parsed, headers as [name, text]) of each public table (and of the
    ``transaction`` topic), as many as ``counts`` says: as Debezium wrote."""
    return {
        t: [
            {
                "key": r.key_json,
                "value": r.value_json,
                "headers": [[name, None if data is None else data.decode()] for name, data in r.headers],
            }
            for r in read_topic(
                bootstrap,
                f"{prefix}.transaction" if t == "transaction" else f"{prefix}.public.{t}",
                until=lambda got, n=n: len(got) >= n,
                timeout=60,
            )
        ]
        for t, n in counts.items()
        if n
    }


def side_by_side(
    python: str,
    dsn: str,
    workdir: Path,
    bootstrap: str,
    settings: Mapping[str, str],
    statements: Sequence[tuple[str, Mapping[str, Any] | None]],
    counts: Mapping[str, int],
) -> tuple[dict[str, list[dict[str, Any]]], dict[str, list[dict[str, Any]]]]:
    """(pgcdc's records, Debezium's records) by table: both run with ``settings`` under one new topic prefix while
    ``statements`` run, until Debezium wrote ``sum(counts)`` records with a value; ``counts`` names the tables."""
    prefix = unique_prefix()
    properties = debezium_properties(dsn, prefix, workdir, **settings)
    with running_connector(connector_settings(dsn, prefix, **settings), bootstrap):
        with (
            debezium_capture(python, dsn, properties, workdir, count=sum(counts.values())) as captured,
            psycopg.connect(dsn, autocommit=True) as conn,
        ):
            for statement, params in statements:
                conn.execute(statement, params)
        theirs = by_table(captured)
        ours = pgcdc_records(bootstrap, prefix, {t: len(theirs.get(t, [])) for t in counts})
    return ours, theirs


def side_by_side_on_new_database(
    python: str,
    server: PgServer,
    workdir: Path,
    bootstrap: str,
    setup: Sequence[str],
    settings: Mapping[str, str],
    streamed: Sequence[str],
    counts: Mapping[str, int],
) -> tuple[dict[str, list[dict[str, Any]]], dict[str, list[dict[str, Any]]]]:
    """side_by_side on a database of its own, made by ``setup`` (then snapshotted, if the settings say so) and
    dropped afterwards."""
    name = create_database(server, workdir.name)
    dsn = server.dsn(name)
    try:
        with psycopg.connect(dsn, autocommit=True) as conn:
            for statement in setup:
                conn.execute(statement)
        statements = [(s, None) for s in streamed]
        return side_by_side(python, dsn, workdir, bootstrap, settings, statements, counts)
    finally:
        drop_database(server.admin_dsn, name)
