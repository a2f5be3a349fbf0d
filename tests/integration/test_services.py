"""Tests of the harness itself: embedded PostgreSQL, fresh databases, the broker and the topic reader."""

from __future__ import annotations

import time
import uuid

import orjson
import psycopg
import psycopg2
import psycopg2.extras
import pytest
from confluent_kafka import KafkaError, KafkaException, Message, Producer
from confluent_kafka.admin import AdminClient, NewTopic

from pgcdc.embedded.broker import EmbeddedBroker
from pgcdc.embedded.postgres import EmbeddedPostgres
from tests.fix_services import PgServer, create_database, drop_database
from tests.kafka_read import read_topic, topic_names


def _slot_name() -> str:
    # Slot names are cluster-wide, unlike the databases the tests get.
    return f"harness_{uuid.uuid4().hex[:12]}"


def _assert_logical_slot_works(server: PgServer, dsn: str) -> None:
    slot = _slot_name()
    with psycopg.connect(dsn, autocommit=True) as conn:
        assert conn.execute("SHOW wal_level").fetchone() == ("logical",)
        version = conn.execute("SELECT current_setting('server_version_num')::int / 10000").fetchone()
        assert version == (server.version,)
        conn.execute("SELECT pg_create_logical_replication_slot(%s, 'pgoutput')", [slot])
        row = conn.execute(
            "SELECT plugin, slot_type, database = current_database() FROM pg_replication_slots"
            " WHERE slot_name = %s",
            [slot],
        ).fetchone()
    assert row == ("pgoutput", "logical", True)


def test_pg_server_can_create_a_pgoutput_slot(pg_server: PgServer, database: str) -> None:
    if pg_server.embedded is not None:
        assert pg_server.version == 15
    _assert_logical_slot_works(pg_server, database)


@pytest.mark.pg18
def test_pg18_server_can_create_a_pgoutput_slot(pg18_server: PgServer, database18: str) -> None:
    assert pg18_server.version == 18
    _assert_logical_slot_works(pg18_server, database18)


def test_drop_database_ends_the_walsender_and_drops_its_slot(pg_server: PgServer) -> None:
    name = create_database(pg_server, "walsender_cleanup")
    dsn = pg_server.dsn(name)
    slot = _slot_name()
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE t (id int PRIMARY KEY)")
        conn.execute("CREATE PUBLICATION harness_pub FOR ALL TABLES")
    repl = psycopg2.connect(dsn, connection_factory=psycopg2.extras.LogicalReplicationConnection)
    try:
        cur = repl.cursor()
        cur.create_replication_slot(slot, output_plugin="pgoutput")
        cur.start_replication(
            slot_name=slot, decode=False, options={"proto_version": "1", "publication_names": "harness_pub"}
        )
        with psycopg.connect(pg_server.admin_dsn, autocommit=True) as admin:
            active = admin.execute(
                "SELECT active_pid IS NOT NULL FROM pg_replication_slots WHERE slot_name = %s", [slot]
            ).fetchone()
            assert active == (True,)

            drop_database(pg_server.admin_dsn, name)

            slots = admin.execute(
                "SELECT 1 FROM pg_replication_slots WHERE slot_name = %s", [slot]
            ).fetchall()
            databases = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchall()
            assert (slots, databases) == ([], [])
    finally:
        repl.close()


def test_kill_then_start_keeps_committed_data(own_postgres: EmbeddedPostgres) -> None:
    pg = own_postgres
    with psycopg.connect(pg.dsn(), autocommit=True) as conn:
        conn.execute("CREATE TABLE kept (id int PRIMARY KEY)")
        conn.execute("INSERT INTO kept SELECT generate_series(1, 3)")
    first_pid = pg.pid

    pg.kill()
    assert not pg.running
    pg.start()
    assert pg.pid not in (None, first_pid)
    with psycopg.connect(pg.dsn()) as conn:
        assert conn.execute("SELECT array_agg(id ORDER BY id) FROM kept").fetchone() == ([1, 2, 3],)

    pg.restart(mode="immediate")
    with psycopg.connect(pg.dsn()) as conn:
        assert conn.execute("SELECT count(*) FROM kept").fetchone() == (3,)
    assert "database system was interrupted" in pg.log_path.read_text()


def _create_topic(bootstrap: str, topic: str) -> None:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)])[topic].result(timeout=10)


def test_broker_round_trip_through_read_topic(kafka_bootstrap: str) -> None:
    topic = f"harness.round_trip.{uuid.uuid4().hex[:8]}"
    _create_topic(kafka_bootstrap, topic)
    failures: list[KafkaError] = []

    def on_delivery(err: KafkaError | None, _msg: Message) -> None:
        if err is not None:
            failures.append(err)

    producer = Producer({"bootstrap.servers": kafka_bootstrap, "enable.idempotence": True, "acks": "all"})
    for i in range(3):
        producer.produce(
            topic,
            key=orjson.dumps({"id": i}),
            value=None if i == 2 else orjson.dumps({"n": i}),
            headers=[("seq", str(i).encode())],
            on_delivery=on_delivery,
        )
    assert producer.flush(10) == 0
    assert failures == []

    records = read_topic(kafka_bootstrap, topic, until=lambda got: len(got) >= 3, timeout=20)

    assert [r.key_json for r in records] == [{"id": 0}, {"id": 1}, {"id": 2}]
    assert [r.value_json for r in records] == [{"n": 0}, {"n": 1}, None]
    assert [r.headers for r in records] == [(("seq", b"0"),), (("seq", b"1"),), (("seq", b"2"),)]
    assert [(r.partition, r.offset) for r in records] == [(0, 0), (0, 1), (0, 2)]
    assert all(abs(r.timestamp / 1000 - time.time()) < 300 for r in records)
    assert topic in topic_names(kafka_bootstrap)


def test_read_topic_reports_what_it_got_at_the_deadline(kafka_bootstrap: str) -> None:
    topic = f"harness.deadline.{uuid.uuid4().hex[:8]}"
    _create_topic(kafka_bootstrap, topic)
    producer = Producer({"bootstrap.servers": kafka_bootstrap})
    producer.produce(topic, key=b'{"id":1}', value=b'{"only":"one"}')
    assert producer.flush(10) == 0

    with pytest.raises(AssertionError, match=r"got 1 records:\n  p0@0 key=\{\"id\":1\}"):
        read_topic(kafka_bootstrap, topic, until=lambda got: len(got) > 1, timeout=2)


def test_read_topic_waits_for_a_missing_topic_until_the_deadline(kafka_bootstrap: str) -> None:
    with pytest.raises(AssertionError, match="does not exist"):
        read_topic(kafka_bootstrap, f"harness.missing.{uuid.uuid4().hex[:8]}", until=bool, timeout=1)


def test_paused_broker_stalls_and_resumes(own_broker: EmbeddedBroker) -> None:
    admin = AdminClient({"bootstrap.servers": own_broker.bootstrap_servers})
    admin.list_topics(timeout=5)

    own_broker.pause()
    with pytest.raises(KafkaException):
        admin.list_topics(timeout=1)
    own_broker.resume()
    admin.list_topics(timeout=5)

    own_broker.kill()
    assert not own_broker.running
