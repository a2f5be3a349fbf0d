"""exactly.once.support=required: kill -9 and restarts neither lose nor repeat a change for a read_committed
consumer; a second producer with the same transactional.id fences the first."""

from __future__ import annotations

import signal
import threading
import time
from collections import Counter
from pathlib import Path

import psycopg
import pytest
from confluent_kafka import Producer

from pgcdc.ack.offsets import SourceOffset, offset_key, read_committed_offset
from pgcdc.errors import ProducerFencedError
from pgcdc.produce.client import kafka_settings
from pgcdc.produce.topics import TopicAdmin
from pgcdc.produce.transaction import KafkaTransactions
from tests.connector_run import (
    connector_settings,
    kill_9_while_writing,
    pgcdc_process,
    unique_prefix,
    wait_until,
)
from tests.kafka_markers import without_aborted
from tests.kafka_read import Record, read_topic
from tests.worker_run import unique_group, wait_for_state, worker_group

SNAPSHOT_ROWS = 500
ROWS = 6000
PER_TRANSACTION = 20
# The writer is paced so that the kills land while it writes, not after.
TRANSACTION_PAUSE_S = 0.01


def id_counts(records: list[Record]) -> Counter[int]:
    """How often each row's create (or snapshot read) is on the topic."""
    return Counter(r.value_json["payload"]["after"]["id"] for r in records if r.value is not None)


def eos_settings(database: str, prefix: str) -> dict[str, str]:
    return connector_settings(
        database,
        prefix,
        **{
            "table.include.list": "public.items",
            "exactly.once.support": "required",
            # The slot hears of positions rarely, as with the default: at-least-once would resend that tail.
            "status.update.interval.ms": "10000",
        },
    )


def test_kill_9_mid_stream_delivers_each_change_exactly_once(
    database: str, kafka_bootstrap: str, tmp_path: Path
) -> None:
    with psycopg.connect(database, autocommit=True) as conn:
        conn.execute("CREATE TABLE public.items (id int PRIMARY KEY, note text)")
        conn.execute(
            "INSERT INTO public.items SELECT g, 'snap' FROM generate_series(1, %s) g", (SNAPSHOT_ROWS,)
        )
    prefix = unique_prefix()
    topic = f"{prefix}.public.items"
    settings = eos_settings(database, prefix)
    last = SNAPSHOT_ROWS + ROWS

    def workload() -> None:
        with psycopg.connect(database, autocommit=True) as conn:
            for start in range(SNAPSHOT_ROWS + 1, last + 1, PER_TRANSACTION):
                with conn.transaction():
                    conn.execute(
                        "INSERT INTO public.items SELECT g, 'n' || g FROM generate_series(%s::int, %s::int) g",
                        (start, start + PER_TRANSACTION - 1),
                    )
                time.sleep(TRANSACTION_PAUSE_S)

    writer = threading.Thread(target=workload)
    process = pgcdc_process(settings, kafka_bootstrap, tmp_path)
    try:
        process = kill_9_while_writing(
            process,
            settings,
            kafka_bootstrap,
            tmp_path,
            writer=writer,
            topic=topic,
            counts=(1500, 3500, 5500),
        )
        records = read_topic(
            kafka_bootstrap,
            topic,
            until=lambda got: set(id_counts(got)) >= set(range(1, last + 1)),
            timeout=180,
        )
        # Anything written twice would come with the last records: wait until nothing more arrives.
        time.sleep(1.0)
        records = read_topic(kafka_bootstrap, topic, until=lambda got: len(got) >= len(records), timeout=30)
    finally:
        process.send_signal(signal.SIGTERM)
        code = process.wait(60)
    assert code == 0, (tmp_path / "c.log").read_text()[-3000:]
    # Kafka hides the transaction open at each kill from read_committed consumers; Tansu shows it (its fetch
    # lists no aborted transactions), so duplicates are counted without the aborted records, as Kafka would
    # show them. Missing changes are counted in the whole log: Tansu shows pgcdc an aborted transaction's
    # offset record too (a kill between the offset and the commit), after which the aborted copy is the only
    # one there; Kafka would hide that offset and pgcdc would write the changes again.
    committed = without_aborted(kafka_bootstrap, topic, records)
    counts = id_counts(committed)
    only_aborted = set(range(1, last + 1)) - set(counts)
    print(f"{len(records) - len(committed)} aborted record(s), {len(only_aborted)} change(s) only there")
    missing = set(range(1, last + 1)) - set(id_counts(records))
    duplicates = sum(n - 1 for n in counts.values())
    assert (len(missing), duplicates) == (0, 0), f"missing {sorted(missing)[:10]}, duplicates {duplicates}"
    stored = read_committed_offset(
        kafka_settings(kafka_bootstrap, env={}),
        "connect-offsets-pgcdc-run",
        offset_key("c", prefix),
    )
    assert stored is not None and stored.tx_id is not None


def test_restarts_after_kafka_committed_send_nothing_again(
    database: str, kafka_bootstrap: str, tmp_path: Path
) -> None:
    """The slot's confirmed position lags what Kafka holds (kill -9 before the next position report): the
    restart starts from Kafka's offset, not the slot's, so nothing is sent again."""
    with psycopg.connect(database, autocommit=True) as conn:
        conn.execute("CREATE TABLE public.items (id int PRIMARY KEY, note text)")
    prefix = unique_prefix()
    topic = f"{prefix}.public.items"
    settings = eos_settings(database, prefix)
    process = pgcdc_process(settings, kafka_bootstrap, tmp_path)
    try:
        wait_until(lambda: b"streaming" in (tmp_path / "c.log").read_bytes(), timeout=60, what="streaming")
        for round_ in range(2):
            with psycopg.connect(database, autocommit=True) as conn:
                for start in range(round_ * 1000 + 1, (round_ + 1) * 1000 + 1, 100):
                    conn.execute(
                        "INSERT INTO public.items SELECT g, 'n' FROM generate_series(%s::int, %s::int) g",
                        (start, start + 99),
                    )
            n = (round_ + 1) * 1000
            read_topic(kafka_bootstrap, topic, until=lambda got, n=n: len(got) >= n, timeout=60)
            process.send_signal(signal.SIGKILL)
            process.wait(30)
            process = pgcdc_process(settings, kafka_bootstrap, tmp_path)
            wait_until(
                lambda r=round_: (tmp_path / "c.log").read_bytes().count(b"streaming") >= r + 2,
                timeout=60,
                what="streaming again",
            )
        with psycopg.connect(database, autocommit=True) as conn:
            conn.execute("INSERT INTO public.items VALUES (0, 'last')")
        records = read_topic(kafka_bootstrap, topic, until=lambda got: 0 in id_counts(got), timeout=60)
    finally:
        process.send_signal(signal.SIGTERM)
        code = process.wait(60)
    assert code == 0, (tmp_path / "c.log").read_text()[-3000:]
    counts = id_counts(without_aborted(kafka_bootstrap, topic, records))
    assert set(counts) == set(range(0, 2001))
    assert sum(n - 1 for n in counts.values()) == 0


def test_a_second_producer_with_the_same_transactional_id_fences_the_first(kafka_bootstrap: str) -> None:
    topic = f"{unique_prefix()}.offsets"
    key = offset_key("fenced", "srv")
    kafka = kafka_settings(kafka_bootstrap, env={})
    TopicAdmin(kafka=kafka, partitions=1, replication_factor=-1).ensure(topic, compacted=True)
    config = {"bootstrap.servers": kafka_bootstrap, "transactional.id": f"{topic}-fenced-0"}
    first = KafkaTransactions(producer=Producer(config), transactional_id=f"{topic}-fenced-0")
    first.init()
    first.commit((topic, key, SourceOffset(lsn=100, tx_id=7).value()))  # type: ignore[arg-type]
    first.begin()
    second = KafkaTransactions(producer=Producer(config), transactional_id=f"{topic}-fenced-0")
    second.init()
    with pytest.raises(ProducerFencedError, match="fenced") as raised:
        first.commit((topic, key, SourceOffset(lsn=200).value()))  # type: ignore[arg-type]
    assert raised.value.retriable is False
    assert read_committed_offset(kafka, topic, key) == SourceOffset(
        lsn=100,  # type: ignore[arg-type]
        tx_id=7,
    )


def test_failover_between_workers_resumes_from_the_groups_offsets_topic(
    database: str, kafka_bootstrap: str, tmp_path: Path
) -> None:
    """A worker killed mid-stream: the one taking over uses the same transactional id (fencing the dead one's
    open transaction) and resumes from connect-offsets-<group>; nothing is lost or written twice."""
    with psycopg.connect(database, autocommit=True) as conn:
        conn.execute("CREATE TABLE public.items (id int PRIMARY KEY, note text)")
    name = unique_prefix()
    topic = f"{name}.public.items"
    settings = eos_settings(database, name)
    rows = 3000
    group = unique_group()
    with worker_group(kafka_bootstrap, tmp_path, count=2, group=group) as workers:
        with workers[0].client() as api:
            assert api.post("/connectors", json={"name": name, "config": settings}).status_code == 201
            holder_id = wait_for_state(api, name, "available")["connector"]["worker_id"]
        holder = next(w for w in workers if w.worker_id == holder_id)

        def workload() -> None:
            with psycopg.connect(database, autocommit=True) as conn:
                for start in range(1, rows + 1, 20):
                    conn.execute(
                        "INSERT INTO public.items SELECT g, 'n' FROM generate_series(%s::int, %s::int) g",
                        (start, start + 19),
                    )
                    time.sleep(0.005)  # spread the writes over the kill

        writer = threading.Thread(target=workload)
        writer.start()
        read_topic(kafka_bootstrap, topic, until=lambda got: len(got) >= 600, timeout=60)
        holder.kill()
        writer.join(120)
        records = read_topic(
            kafka_bootstrap,
            topic,
            until=lambda got: set(id_counts(got)) >= set(range(1, rows + 1)),
            timeout=120,
        )
    # Duplicates as Kafka's read_committed shows them, missing changes in the whole log (see the kill -9 test).
    counts = id_counts(without_aborted(kafka_bootstrap, topic, records))
    assert set(id_counts(records)) == set(range(1, rows + 1))
    assert sum(n - 1 for n in counts.values()) == 0
    stored = read_committed_offset(
        kafka_settings(kafka_bootstrap, env={}), f"connect-offsets-{group}", offset_key(name, name)
    )
    assert stored is not None and stored.tx_id is not None


def test_tansu_shows_aborted_records_to_read_committed_consumers_and_its_log_tells_them_apart(
    kafka_bootstrap: str,
) -> None:
    """Why the tests above drop aborted records themselves: Tansu writes ABORT markers but lists no aborted
    transactions in its fetch answers, which librdkafka's read_committed relies on. When this fails, Tansu
    hides them itself and ``without_aborted`` is no longer needed."""
    topic = f"{unique_prefix()}.aborted"
    TopicAdmin(kafka=kafka_settings(kafka_bootstrap, env={}), partitions=1, replication_factor=-1).ensure(
        topic
    )
    config = {
        "bootstrap.servers": kafka_bootstrap,
        "transactional.id": f"{topic}-0",
        "compression.type": "lz4",
    }
    producer = Producer(config)
    producer.init_transactions(10)
    for values, commit in (([b"c1", b"c2"], True), ([b"a1", b"a2"], False), ([b"c3"], True)):
        producer.begin_transaction()
        for value in values:
            producer.produce(topic, value, b"k")
        producer.flush(10)
        if commit:
            producer.commit_transaction(10)
        else:
            producer.abort_transaction(10)
    producer.begin_transaction()
    producer.produce(topic, b"open at the fence", b"k")
    producer.flush(10)
    successor = Producer(config)
    successor.init_transactions(10)  # aborts the open transaction
    successor.begin_transaction()
    successor.produce(topic, b"c4", b"k")
    successor.commit_transaction(10)
    records = read_topic(kafka_bootstrap, topic, until=lambda got: any(r.value == b"c4" for r in got))
    assert [r.value for r in records] == [b"c1", b"c2", b"a1", b"a2", b"c3", b"open at the fence", b"c4"]
    assert [r.value for r in without_aborted(kafka_bootstrap, topic, records)] == [b"c1", b"c2", b"c3", b"c4"]
