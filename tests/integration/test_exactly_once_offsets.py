"""exactly.once.support=required and the offsets topic: a connector starts while others of its group keep
committing offsets, and an idle connector moves its offset so that its slot keeps no WAL for other tables."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from confluent_kafka import Producer

from pgcdc.ack.committer import IDLE_OFFSET_STEP_BYTES
from pgcdc.ack.offsets import SourceOffset, offset_key, read_committed_offset
from pgcdc.lsn import Lsn
from pgcdc.produce.client import kafka_settings
from tests.connector_run import connector_settings, running_connector, unique_prefix
from tests.fix_services import PgServer, create_database, drop_database
from tests.kafka_markers import without_aborted
from tests.kafka_read import Record, read_topic
from tests.wal_churn import MB, WAL_LIMIT, churn_wal, wait_confirmed_past_churn
from tests.worker_run import unique_group

# Another connector of the group commits its offset this often (a fast heartbeat.interval.ms).
NEIGHBOUR_COMMIT_S = 0.1
# A start reading a busy offsets topic must not wait for it to fall quiet (it gave up after 60 s).
START_DEADLINE_S = 30


def eos_settings(database: str, prefix: str) -> dict[str, str]:
    return connector_settings(
        database,
        prefix,
        **{"name": prefix, "table.include.list": "public.items", "exactly.once.support": "required"},
    )


def notes(bootstrap: str, topic: str, records: list[Record]) -> Counter[str]:
    """How often each change's note is on the topic, as a read_committed consumer of Kafka would see it."""
    return Counter(
        r.value_json["payload"]["after"]["note"]
        for r in without_aborted(bootstrap, topic, records)
        if r.value
    )


def change_and_read(database: str, bootstrap: str, topic: str, row: int, note: str) -> list[Record]:
    """Insert row ``row`` of public.items with ``note``; the topic's records once that change is on it."""
    with psycopg.connect(database, autocommit=True) as conn:
        conn.execute("INSERT INTO public.items VALUES (%s, %s)", (row, note))
    return read_topic(bootstrap, topic, until=lambda got: note in notes(bootstrap, topic, got), timeout=60)


@contextmanager
def neighbour_committing(bootstrap: str, offsets_topic: str) -> Iterator[None]:
    """Another exactly-once connector of the group: one Kafka transaction with its offset every 100 ms."""
    producer = Producer({"bootstrap.servers": bootstrap, "transactional.id": f"{offsets_topic}-neighbour"})
    producer.init_transactions(10)
    stop = threading.Event()
    key = offset_key("neighbour", "neighbour")

    def commit() -> None:
        lsn = 1
        while not stop.wait(NEIGHBOUR_COMMIT_S):
            producer.begin_transaction()
            producer.produce(offsets_topic, SourceOffset(Lsn(lsn)).value(), key)
            producer.commit_transaction(10)
            lsn += 1

    writer = threading.Thread(target=commit, name="neighbour")
    writer.start()
    try:
        yield
    finally:
        stop.set()
        writer.join(30)
        producer.close()


def test_a_connector_starts_while_others_of_its_group_keep_committing_offsets(
    database: str, kafka_bootstrap: str
) -> None:
    """Reading the offsets topic ends at the end it had when the read began: other connectors' commits, which
    never let the topic fall quiet, do not keep a start waiting (it timed out after 60 s and failed)."""
    with psycopg.connect(database, autocommit=True) as conn:
        conn.execute("CREATE TABLE public.items (id int PRIMARY KEY, note text)")
    prefix = unique_prefix()
    topic = f"{prefix}.public.items"
    settings = eos_settings(database, prefix)
    group = unique_group()
    with running_connector(settings, kafka_bootstrap, group=group):
        change_and_read(database, kafka_bootstrap, topic, 1, "first run")
    with psycopg.connect(database, autocommit=True) as conn:
        conn.execute("INSERT INTO public.items VALUES (2, 'while stopped')")

    with neighbour_committing(kafka_bootstrap, f"connect-offsets-{group}"):
        started = time.monotonic()
        with running_connector(settings, kafka_bootstrap, group=group):
            took = time.monotonic() - started
            records = change_and_read(database, kafka_bootstrap, topic, 3, "second run")
    assert took < START_DEADLINE_S, f"the start took {took:.0f} s"
    assert notes(kafka_bootstrap, topic, records) == Counter(["first run", "while stopped", "second run"])


def test_an_idle_connector_moves_its_offset_so_its_slot_keeps_under_64_mb_of_wal(
    database: str, pg_server: PgServer, kafka_bootstrap: str
) -> None:
    """Its table idle while another table and another database churn, an exactly-once connector commits an
    offset-only Kafka transaction at the stream's position, so the slot is confirmed past the churn; a change
    afterwards, and a restart, still deliver each change once. The publication is FOR ALL TABLES (Debezium's
    default), so the other table's changes reach the connector, which drops them: psycopg2 moves the slot past
    keepalives by itself only while the last frame it received is confirmed, and an offset held at the last
    captured commit confirmed none of those frames."""
    with psycopg.connect(database, autocommit=True) as conn:
        conn.execute("CREATE TABLE public.items (id int PRIMARY KEY, note text)")
    other = create_database(pg_server, "other_eos_churn")
    prefix = unique_prefix()
    topic = f"{prefix}.public.items"
    settings = {**eos_settings(database, prefix), "publication.autocreate.mode": "all_tables"}
    slot = settings["slot.name"]
    key = offset_key(prefix, prefix)
    kafka = kafka_settings(kafka_bootstrap, env={})
    try:
        with running_connector(settings, kafka_bootstrap):
            change_and_read(database, kafka_bootstrap, topic, 1, "before the churn")
            before = read_committed_offset(kafka, "connect-offsets-pgcdc-run", key)
            churn = churn_wal([database, pg_server.dsn(other)], slot_dsn=database, slot=slot)
            # The offset moves in IDLE_OFFSET_STEP_BYTES steps: the slot may end up to one step behind.
            wait_confirmed_past_churn(database, slot, churn, lag=IDLE_OFFSET_STEP_BYTES + MB)
            moved = read_committed_offset(kafka, "connect-offsets-pgcdc-run", key)
            change_and_read(database, kafka_bootstrap, topic, 2, "after the churn")
        with psycopg.connect(database, autocommit=True) as conn:
            conn.execute("INSERT INTO public.items VALUES (3, 'while stopped')")
        with running_connector(settings, kafka_bootstrap):
            records = change_and_read(database, kafka_bootstrap, topic, 4, "after the restart")
    finally:
        drop_database(pg_server.admin_dsn, other)
    print(f"\n{churn}")
    assert churn.written > 2 * WAL_LIMIT, "the churn should write well over the limit"
    assert churn.worst_retained < WAL_LIMIT, f"the idle slot retained {churn.worst_retained >> 20} MB of WAL"
    assert before is not None and moved is not None and moved.lsn > before.lsn
    # Moved by no PostgreSQL transaction: it keeps the last one's txId, in Debezium's format.
    assert moved.tx_id == before.tx_id
    assert notes(kafka_bootstrap, topic, records) == Counter(
        ["before the churn", "after the churn", "while stopped", "after the restart"]
    )
