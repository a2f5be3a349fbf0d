"""Excluded columns: with column.exclude.mode=publication their values never leave PostgreSQL (not in the
publication's column list, not in the bytes on the wire, snapshot included, not in any topic); with the default
client mode they cross the wire but reach no topic.

Every connection pgcdc opens goes through a recording proxy, so "on the wire" means all of them: catalog
queries, the snapshot's copy and the replication stream.
"""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest

from tests.chaos.proxy import TcpProxy
from tests.connector_run import connector_settings, running_connector, unique_prefix
from tests.fix_services import PgServer
from tests.kafka_read import read_topic, topic_names

# Values that must never be seen outside PostgreSQL, and values that must (proof the capture works).
SECRETS = (b"hunter2-in-snapshot-8d1c", b"hunter2-inserted-8d1c", b"hunter2-updated-8d1c")
VISIBLE = (b"visible-in-snapshot-8d1c", b"visible-inserted-8d1c", b"visible-updated-8d1c")


@pytest.fixture
def recorded(pg_server: PgServer) -> Iterator[TcpProxy]:
    with TcpProxy(int(pg_server.params["port"]), record=True) as proxy:
        yield proxy


def run_users_workload(database: str, proxy: TcpProxy, bootstrap: str, mode: str) -> tuple[str, str]:
    """Snapshot a row, then insert, update and delete through the connector; returns (prefix, publication)."""
    with psycopg.connect(database, autocommit=True) as conn:
        conn.execute("CREATE TABLE public.users (id int PRIMARY KEY, name text, password text)")
        conn.execute(
            "INSERT INTO public.users VALUES (1, %s, %s)", (VISIBLE[0].decode(), SECRETS[0].decode())
        )
    dbname = database.rsplit("/", 1)[1].split("?")[0]
    prefix = unique_prefix()
    settings = connector_settings(
        f"postgresql://postgres@{proxy.address}/{dbname}",
        prefix,
        **{
            "table.include.list": "public.users",
            "column.exclude.list": "public.users.password",
            "column.exclude.mode": mode,
        },
    )
    with running_connector(settings, bootstrap), psycopg.connect(database, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO public.users VALUES (2, %s, %s)", (VISIBLE[1].decode(), SECRETS[1].decode())
        )
        conn.execute(
            "UPDATE public.users SET name = %s, password = %s WHERE id = 1",
            (VISIBLE[2].decode(), SECRETS[2].decode()),
        )
        conn.execute("DELETE FROM public.users WHERE id = 2")
        # snapshot r, insert c, update u, delete d and its tombstone
        read_topic(bootstrap, f"{prefix}.public.users", until=lambda got: len(got) >= 5)
    return prefix, settings["publication.name"]


def all_records(bootstrap: str, prefix: str) -> bytes:
    data = b""
    for topic in sorted(t for t in topic_names(bootstrap) if t.startswith(prefix + ".")):
        for record in read_topic(bootstrap, topic, until=lambda got: len(got) >= 1):
            data += (record.key or b"") + (record.value or b"")
    return data


def test_publication_mode_keeps_excluded_values_inside_postgresql(
    database: str, recorded: TcpProxy, kafka_bootstrap: str
) -> None:
    prefix, publication = run_users_workload(database, recorded, kafka_bootstrap, "publication")
    with psycopg.connect(database, autocommit=True) as conn:
        row = conn.execute(
            "SELECT attnames FROM pg_publication_tables WHERE pubname = %s AND tablename = 'users'",
            (publication,),
        ).fetchone()
    assert row is not None and list(row[0]) == ["id", "name"], row
    wire = recorded.received
    for visible in VISIBLE:
        assert visible in wire, f"{visible!r} not captured: the recording misses traffic"
    for secret in SECRETS:
        assert secret not in wire, f"{secret!r} crossed the wire"
    topics = all_records(kafka_bootstrap, prefix)
    assert VISIBLE[2] in topics
    for secret in SECRETS:
        assert secret not in topics, f"{secret!r} reached Kafka"
    assert b'"password"' not in topics, "the excluded column is in a schema"


def test_client_mode_drops_excluded_values_before_kafka(
    database: str, recorded: TcpProxy, kafka_bootstrap: str
) -> None:
    prefix, _ = run_users_workload(database, recorded, kafka_bootstrap, "client")
    # In client mode the values do cross the wire (the reason publication mode exists)...
    assert SECRETS[1] in recorded.received
    # ...and pgcdc drops them before anything is produced.
    topics = all_records(kafka_bootstrap, prefix)
    assert VISIBLE[2] in topics
    for secret in SECRETS:
        assert secret not in topics, f"{secret!r} reached Kafka"
    assert b'"password"' not in topics, "the excluded column is in a schema"
