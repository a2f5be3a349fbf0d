"""The seed's users scenario end to end, compared field by field with the real Debezium 3.6 records."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import orjson
import psycopg
import pytest

from tests.connector_run import connector_settings, running_connector, unique_prefix
from tests.kafka_read import Record, read_topic, topic_names

REFERENCE = (
    Path(__file__).resolve().parents[2].parent / "shared" / "reference" / "debezium-3.6-users-events.jsonl"
)

# Values that differ between any two runs: versions, clocks, WAL positions, transaction ids.
RUN_SPECIFIC_SOURCE = ("version", "ts_ms", "ts_us", "ts_ns", "sequence", "txId", "lsn")
RUN_SPECIFIC_ENVELOPE = ("ts_ms", "ts_us", "ts_ns")

SETUP = """
CREATE TABLE public.users (
    id serial PRIMARY KEY, first_name text, last_name text, password text, email text,
    created_at timestamptz DEFAULT now());
INSERT INTO public.users (first_name, last_name, password, email, created_at) VALUES
    ('Ada','Lovelace','secret1','ada@example.com','2024-01-01 09:00:00+00'),
    ('Alan','Turing','secret2','alan@example.com','2024-01-02 09:30:00+00'),
    ('Grace','Hopper','secret3','grace@example.com','2024-01-03 10:15:30.123456+00');
CREATE TABLE public.alltypes (id int PRIMARY KEY);
INSERT INTO public.alltypes VALUES (1);
"""

WORKLOAD = [
    "INSERT INTO public.users (first_name,last_name,password,email,created_at)"
    " VALUES ('Dana','Scully','secret4','dana@example.com','2024-01-04 11:00:00+00')",
    "UPDATE public.users SET email = 'dana.scully@example.com' WHERE id = 4",
    "ALTER TABLE public.users REPLICA IDENTITY FULL",
    "UPDATE public.users SET last_name = 'Scully-Mulder' WHERE id = 4",
    "DELETE FROM public.users WHERE id = 2",
    [
        "INSERT INTO public.users (first_name,last_name,password,email,created_at) VALUES"
        " ('Fox','Mulder','secret5','fox@example.com','2024-01-05 12:00:00+00'),"
        " ('Walter','Skinner','secret6','walter@example.com','2024-01-06 13:00:00+00')",
        "UPDATE public.users SET email = upper(email) WHERE id IN (1, 3)",
        "DELETE FROM public.users WHERE id = 5",
    ],
    "SELECT pg_logical_emit_message(true, 'prefix', 'hello')",
    "SELECT pg_logical_emit_message(false, 'prefix', 'non-transactional hello')",
    "INSERT INTO public.users (first_name,last_name,password,email,created_at)"
    " VALUES ('End','Marker','secret7','end@example.com','2024-01-07 14:00:00+00')",
]


def reference(destination_suffix: str, phase: str = "workload") -> list[dict[str, Any]]:
    rows = [orjson.loads(line) for line in REFERENCE.read_bytes().splitlines() if line.strip()]
    return [r for r in rows if r["phase"] == phase and r["destination"].endswith(destination_suffix)]


def normalized(document: Any, prefix: str, dbname: str) -> Any:
    """Our record as if written by the reference run: its names, and run-specific values blanked."""
    text = orjson.dumps(document).decode().replace(f'"{dbname}"', '"dbzdemo"').replace(prefix, "demo")
    return blank_run_specific(orjson.loads(text))


def blank_run_specific(document: Any) -> Any:
    document = copy.deepcopy(document)
    if isinstance(document, dict) and isinstance(document.get("payload"), dict):
        payload = document["payload"]
        for name in RUN_SPECIFIC_ENVELOPE:
            if name in payload:
                payload[name] = "<run>"
        if isinstance(payload.get("source"), dict):
            for name in RUN_SPECIFIC_SOURCE:
                payload["source"][name] = "<run>"
    return document


def run_workload(dsn: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        for step in WORKLOAD:
            if isinstance(step, list):
                with conn.transaction():
                    for statement in step:
                        conn.execute(statement)
            else:
                conn.execute(step)


def assert_positions_are_consistent(records: list[Record]) -> None:
    """sequence = [previous commit's end, this lsn]; positions never go backwards; one txId per transaction."""
    last = 0
    for record in records:
        if record.value is None:
            continue
        source = record.value_json["payload"]["source"]
        previous, own = orjson.loads(source["sequence"])
        assert int(own) == source["lsn"]
        assert source["lsn"] >= last
        last = source["lsn"]
        assert previous is None or int(previous) <= source["lsn"]
        assert isinstance(source["txId"], int) or source["table"] == ""
        assert source["ts_us"] == source["ts_ms"] * 1000 + source["ts_us"] % 1000
        assert source["ts_ns"] == source["ts_us"] * 1000


def _scenario(dsn: str, dbname: str, kafka_bootstrap: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(SETUP)
    prefix = unique_prefix()
    settings = connector_settings(
        dsn,
        prefix,
        **{
            "table.include.list": "public.users,public.alltypes",
            "column.exclude.list": "public.users.password",
            "heartbeat.interval.ms": "200",
            "skipped.operations": "none",
        },
    )
    with running_connector(settings, kafka_bootstrap):
        run_workload(dsn)
        users = read_topic(
            kafka_bootstrap,
            f"{prefix}.public.users",
            until=lambda got: any(r.value and b'"End"' in r.value for r in got),
            timeout=60,
        )
        alltypes = read_topic(kafka_bootstrap, f"{prefix}.public.alltypes", until=lambda got: len(got) >= 1)
        messages = read_topic(
            kafka_bootstrap, f"{prefix}.message", until=lambda got: len(got) >= 2, timeout=30
        )
        heartbeats = read_topic(
            kafka_bootstrap, f"__debezium-heartbeat.{prefix}", until=lambda got: len(got) >= 1, timeout=30
        )

    expected_users = reference(".public.users", "pre_workload") + reference(".public.users")
    assert len(users) == len(expected_users)
    for ours, theirs in zip(users, expected_users, strict=True):
        assert normalized(ours.key_json, prefix, dbname) == theirs["key"]
        assert normalized(ours.value_json, prefix, dbname) == blank_run_specific(theirs["value"])
    assert [r.value_json["payload"]["source"]["snapshot"] for r in alltypes] == ["last"]
    assert_positions_are_consistent(users[3:])
    assert_positions_are_consistent(messages)

    expected_messages = reference(".message")
    for ours, theirs in zip(messages, expected_messages, strict=True):
        assert normalized(ours.key_json, prefix, dbname) == theirs["key"]
        ours_value = normalized(ours.value_json, prefix, dbname)
        theirs_value = blank_run_specific(theirs["value"])
        # A message's own txId is null outside a transaction, which is worth checking rather than blanking.
        assert (ours.value_json["payload"]["source"]["txId"] is None) == (
            theirs["value"]["payload"]["source"]["txId"] is None
        )
        assert ours_value == theirs_value

    heartbeat = reference("heartbeat.demo")[0]
    assert normalized(heartbeats[0].key_json, prefix, dbname) == heartbeat["key"]
    assert heartbeats[0].value_json["schema"] == heartbeat["value"]["schema"]

    # The excluded column's values appear in no byte of any topic this connector wrote.
    assert {t for t in topic_names(kafka_bootstrap) if prefix in t} == {
        f"{prefix}.public.users",
        f"{prefix}.public.alltypes",
        f"{prefix}.message",
    }
    for record in users + alltypes + messages + heartbeats:
        assert b"secret" not in (record.key or b"") + (record.value or b"")
        assert b"password" not in (record.value or b"")


def test_users_scenario_matches_debezium(database: str, kafka_bootstrap: str) -> None:
    _scenario(database, psycopg.conninfo.conninfo_to_dict(database)["dbname"], kafka_bootstrap)  # type: ignore[arg-type]


@pytest.mark.pg18
def test_users_scenario_matches_debezium_on_postgresql_18(database18: str, kafka_bootstrap: str) -> None:
    _scenario(database18, psycopg.conninfo.conninfo_to_dict(database18)["dbname"], kafka_bootstrap)  # type: ignore[arg-type]
