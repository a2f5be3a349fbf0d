"""exactly.once.support=required: kill -9 and restarts neither lose nor repeat a change for a read_committed
consumer; a second producer with the same transactional.id fences the first."""

from __future__ import annotations

import signal
import threading
import time
import warnings
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
from confluent_kafka import Producer

from pgcdc.ack.offsets import SourceOffset, offset_key, read_committed_offset
from pgcdc.config import parse_config
from pgcdc.errors import ProducerFencedError, SinkError, SlotInUseError
from pgcdc.lsn import Lsn
from pgcdc.pipeline import Connector
from pgcdc.produce.client import kafka_settings
from pgcdc.produce.topics import TopicAdmin
from pgcdc.produce.transaction import KafkaTransactions
from pgcdc.snapshot.export import ExportedSnapshot, SnapshotSlot
from tests.connector_run import (
    connector_settings,
    kill_9_while_writing,
    pgcdc_process,
    running_connector,
    unique_prefix,
    wait_until,
)
from tests.eos_instances import change_and_wait_for_its_commit, planned_before_the_slot, refused_the_slot
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


def test_an_instance_that_planned_a_snapshot_streams_from_the_slot_another_created_meanwhile(
    database: str, kafka_bootstrap: str, tmp_path: Path
) -> None:
    """Two instances start a new connector at the same moment: the later one planned a snapshot (no slot yet),
    but the other copied the tables, created the slot and streamed first. The later one must not copy again
    (its fence would drop the other's streamed transactions, and a second copy starts the history later):
    it stands by, and once the fenced instance is gone it streams from that slot, after its committed offset."""
    with psycopg.connect(database, autocommit=True) as conn:
        conn.execute("CREATE TABLE public.items (id int PRIMARY KEY, note text)")
        conn.execute("INSERT INTO public.items SELECT g, 's' FROM generate_series(1, %s) g", (SNAPSHOT_ROWS,))
    prefix = unique_prefix()
    topic = f"{prefix}.public.items"
    settings = {**eos_settings(database, prefix), "name": "c"}  # the name pgcdc_process gives its connector
    kafka = kafka_settings(kafka_bootstrap, env={})
    late, plan = planned_before_the_slot(database, settings, kafka)

    first = pgcdc_process(settings, kafka_bootstrap, tmp_path)
    try:
        wait_until(lambda: b"streaming" in (tmp_path / "c.log").read_bytes(), timeout=60, what="streaming")
        # Committed before the fence (Tansu would show a fenced, aborted transaction's records as committed).
        change_and_wait_for_its_commit(
            database,
            kafka,
            "connect-offsets-pgcdc-run",
            offset_key("c", prefix),
            "UPDATE public.items SET note = 'streamed' WHERE id = 1",
            what="the first instance to commit the streamed change",
        )
        refused = refused_the_slot(database, kafka, late, plan)
        assert "created by another instance of this connector" in str(refused)
    finally:
        # The fenced instance can commit nothing more; it dies here so that the next start can hold the slot.
        first.kill()
        first.wait(30)
    with psycopg.connect(database, autocommit=True) as conn:
        conn.execute("UPDATE public.items SET note = 'after the fence' WHERE id = 2")

    with running_connector(settings, kafka_bootstrap):
        with psycopg.connect(database, autocommit=True) as conn:
            conn.execute("UPDATE public.items SET note = 'last' WHERE id = 3")
        records = read_topic(
            kafka_bootstrap,
            topic,
            until=lambda got: any(r.value_json["payload"]["after"]["note"] == "last" for r in got if r.value),
            timeout=60,
        )
    committed = without_aborted(kafka_bootstrap, topic, records)
    reads = Counter(
        r.value_json["payload"]["after"]["id"] for r in committed if r.value_json["payload"]["op"] == "r"
    )
    updates = [
        (r.value_json["payload"]["after"]["id"], r.value_json["payload"]["after"]["note"])
        for r in committed
        if r.value_json["payload"]["op"] == "u"
    ]
    assert reads == Counter(range(1, SNAPSHOT_ROWS + 1)), "one snapshot, each row once"
    assert updates == [(1, "streamed"), (2, "after the fence"), (3, "last")]


def _slots(database: str) -> set[str]:
    with psycopg.connect(database, autocommit=True) as conn:
        return {str(name) for (name,) in conn.execute("SELECT slot_name FROM pg_replication_slots")}


def test_an_instance_that_opens_its_snapshot_slot_after_another_promoted_its_copy_does_not_copy_again(
    database: str, kafka_bootstrap: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two instances start a new connector at the same moment. "first" copies the tables; "second" plans a
    snapshot too (no slot yet), fences the first and reaches its temporary slot just as the first creates the
    connector's slot and lets go of its temporary one. Held so, the interleaving is certain: checked before
    the temporary slot was open, the second found no slot and copied the tables again. It must stand by."""
    with psycopg.connect(database, autocommit=True) as conn:
        conn.execute("CREATE TABLE public.items (id int PRIMARY KEY, note text)")
        conn.execute("INSERT INTO public.items SELECT g, 's' FROM generate_series(1, %s) g", (SNAPSHOT_ROWS,))
    settings = eos_settings(database, unique_prefix())
    slot_name = settings["slot.name"]
    first_promoting, second_opening = threading.Event(), threading.Event()
    real_open, real_promote = SnapshotSlot.open, SnapshotSlot.promote

    def open_slot(self: SnapshotSlot) -> ExportedSnapshot:
        if threading.current_thread().name == "second":
            second_opening.set()
            # Let the first instance create the connector's slot and drop its temporary one first.
            wait_until(
                lambda: slot_name in (names := _slots(database)) and len(names) == 1,
                timeout=60,
                what="the first instance to promote its copy and let go of its temporary slot",
            )
        return real_open(self)

    def promote(self: SnapshotSlot, conn: psycopg.Connection[tuple[object, ...]]) -> None:
        if threading.current_thread().name == "first":
            first_promoting.set()
            assert second_opening.wait(60), "the second instance never reached its temporary slot"
        real_promote(self, conn)

    monkeypatch.setattr(SnapshotSlot, "open", open_slot)
    monkeypatch.setattr(SnapshotSlot, "promote", promote)
    kafka = kafka_settings(kafka_bootstrap, env={})
    first = Connector(config=parse_config(settings, env={}), kafka=kafka)
    second = Connector(config=parse_config(settings, env={}), kafka=kafka)
    raised: list[BaseException] = []

    def run_second() -> None:
        try:
            second.run()
        except BaseException as err:  # the verdict is read below
            raised.append(err)

    first_thread = threading.Thread(target=first.run, name="first", daemon=True)
    second_thread = threading.Thread(target=run_second, name="second", daemon=True)
    first_thread.start()
    try:
        assert first_promoting.wait(60), "the first instance never finished its copy"
        second_thread.start()
        second_thread.join(90)
        assert not second_thread.is_alive(), "the second instance neither stood by nor finished"
        assert len(raised) == 1 and isinstance(raised[0], SlotInUseError), raised
        assert "created by another instance of this connector" in str(raised[0])
        assert second.status.snapshot.get("rows_scanned", 0) == 0, "the second instance copied the tables"
    finally:
        first.stop()
        first_thread.join(60)


@pytest.fixture
def transactional_producer(kafka_bootstrap: str) -> Iterator[Callable[[str], Producer]]:
    """Makes producers with a transactional.id, closed after the test. Without the close a producer lives on
    while anything holds an error it raised (whose traceback holds the producer's frames: a log record, an
    ExceptionInfo), and keeps calling a broker that is gone at the session's end."""
    made: list[Producer] = []

    def make(transactional_id: str) -> Producer:
        made.append(Producer({"bootstrap.servers": kafka_bootstrap, "transactional.id": transactional_id}))
        return made[-1]

    yield make
    with warnings.catch_warnings():
        # A fenced producer cannot abort its transaction on close, which is what being fenced means.
        warnings.filterwarnings("ignore", message=".*fenced by a newer instance", category=RuntimeWarning)
        for producer in made:
            producer.close()


def test_a_second_producer_with_the_same_transactional_id_fences_the_first(
    kafka_bootstrap: str, transactional_producer: Callable[[str], Producer]
) -> None:
    topic = f"{unique_prefix()}.offsets"
    key = offset_key("fenced", "srv")
    kafka = kafka_settings(kafka_bootstrap, env={})
    TopicAdmin(kafka=kafka, partitions=1, replication_factor=-1).ensure(topic, compacted=True)
    transactional_id = f"{topic}-fenced-0"
    first = KafkaTransactions(
        producer=transactional_producer(transactional_id), transactional_id=transactional_id
    )
    first.init()
    first.commit((topic, key, SourceOffset(lsn=100, tx_id=7).value()))  # type: ignore[arg-type]
    first.begin()
    second = KafkaTransactions(
        producer=transactional_producer(transactional_id), transactional_id=transactional_id
    )
    second.init()
    with pytest.raises(ProducerFencedError, match="fenced") as raised:
        first.commit((topic, key, SourceOffset(lsn=200).value()))  # type: ignore[arg-type]
    assert raised.value.retriable is False
    assert read_committed_offset(kafka, topic, key) == SourceOffset(
        lsn=100,  # type: ignore[arg-type]
        tx_id=7,
    )


def data_and_offsets_topics(kafka_bootstrap: str) -> tuple[str, str, str]:
    """A new prefix, with a data topic and a compacted offsets topic under it."""
    prefix = unique_prefix()
    topic, offsets = f"{prefix}.data", f"{prefix}.offsets"
    admin = TopicAdmin(kafka=kafka_settings(kafka_bootstrap, env={}), partitions=1, replication_factor=-1)
    admin.ensure(topic)
    admin.ensure(offsets, compacted=True)
    return prefix, topic, offsets


def test_a_fence_met_while_the_commit_waits_for_the_records_is_raised_as_a_fence(
    kafka_bootstrap: str, transactional_producer: Callable[[str], Producer]
) -> None:
    """The fenced producer learns of the fence while its commit waits for the transaction's records, whose
    delivery callbacks run then: confluent-kafka's chunked flush raised that as a SystemError or a KafkaError
    object that is no exception, past every handler (pgcdc/produce/waiting.py); it is a ProducerFencedError."""
    prefix, topic, offsets = data_and_offsets_topics(kafka_bootstrap)
    transactional_id = f"{prefix}-0"
    producer = transactional_producer(transactional_id)
    first = KafkaTransactions(producer=producer, transactional_id=transactional_id)
    first.init()
    KafkaTransactions(
        producer=transactional_producer(transactional_id), transactional_id=transactional_id
    ).init()
    first.begin()
    reports: list[object] = []
    # A delivery callback in Python, as every record of the connector has.
    producer.produce(topic, b"value", b"key", on_delivery=lambda error, message: reports.append(error))
    offset = (offsets, offset_key("fenced", prefix), SourceOffset(lsn=Lsn(300)).value())
    with pytest.raises(ProducerFencedError, match="another instance of the connector") as raised:
        first.commit(offset)
    assert raised.value.retriable is False and not first.open


def test_a_commit_whose_delivery_check_fails_aborts_the_transaction_with_that_error(
    kafka_bootstrap: str, transactional_producer: Callable[[str], Producer]
) -> None:
    """KafkaTransactions.commit asks ``delivered`` once the records are acknowledged or refused: a record the
    broker refused (a failed delivery in AckTracker) aborts the transaction, and its own error (not a failed
    commit, which is retried) stops the connector. Tansu refuses no record, so the check fails here by hand."""
    prefix, topic, offsets = data_and_offsets_topics(kafka_bootstrap)
    producer = transactional_producer(f"{prefix}-0")
    transactions = KafkaTransactions(producer=producer, transactional_id=f"{prefix}-0")
    transactions.init()
    transactions.begin()
    producer.produce(topic, b"value", b"key")
    refused = SinkError("Kafka did not accept a record for topic t: Broker: Message size too large")
    refused.retriable = False

    def delivered() -> None:
        raise refused

    offset = (offsets, offset_key("refused", prefix), SourceOffset(lsn=Lsn(300)).value())
    with pytest.raises(SinkError) as raised:
        transactions.commit(offset, delivered=delivered)
    assert raised.value is refused and not transactions.open
    records = read_topic(kafka_bootstrap, topic, until=lambda got: len(got) >= 1)
    assert without_aborted(kafka_bootstrap, topic, records) == [], "the record's transaction committed"
    offset_records = read_topic(kafka_bootstrap, offsets, until=lambda got: len(got) >= 1)
    assert without_aborted(kafka_bootstrap, offsets, offset_records) == []


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
