"""exactly.once.support=required: an instance whose Kafka transactional id another instance took over (fenced)
stops at its next commit, with a non-retried ProducerFencedError, and lets go of the slot for the new one."""

from __future__ import annotations

import threading
import traceback
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
import pytest

from pgcdc.ack.offsets import offset_key
from pgcdc.config import parse_config
from pgcdc.errors import ProducerFencedError, SlotInUseError
from pgcdc.pipeline import Connector
from pgcdc.produce.client import KafkaSettings, kafka_settings
from tests.connector_run import unique_prefix, wait_until
from tests.eos_instances import change_and_wait_for_its_commit, planned_before_the_slot, refused_the_slot
from tests.integration.test_exactly_once import eos_settings
from tests.kafka_markers import without_aborted
from tests.kafka_read import Record, read_topic

# The fenced instance learns of the fence at its next commit, a few milliseconds after the change (or the
# heartbeat) that opens it; this leaves room for a loaded machine, and none for a 30 s producer call.
NOTICED_WITHIN_S = 20.0
# How often a standing-by instance looks again at the slot (a worker's --standby-poll, shortened).
STANDBY_POLL_S = 0.2


def release_frames(error: BaseException | None) -> None:
    """Clear the frames of ``error``'s tracebacks and its causes': they hold a connector's producer, which would
    outlive the session's broker and print connection errors after pytest's summary."""
    errors = [error]
    while errors:
        error = errors.pop()
        if error is not None:
            traceback.clear_frames(error.__traceback__)
            errors += [error.__cause__, error.__context__]


class Instance:
    """A connector run in a thread of the test, its error kept for the test's thread."""

    def __init__(self, connector: Connector) -> None:
        self.connector = connector
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="fenced-instance", daemon=True)

    def _run(self) -> None:
        try:
            self.connector.run()
        except BaseException as err:  # asserted on in the test's thread
            release_frames(err)
            self.error = err


@contextmanager
def standing_by(settings: dict[str, str], kafka: KafkaSettings) -> Iterator[list[Connector]]:
    """An instance that, like a worker's standby runner, tries again while another process reads the slot;
    yields its attempts (the last one streams once the slot is free)."""
    attempts: list[Connector] = []
    done = threading.Event()

    def run() -> None:
        while not done.is_set():
            attempts.append(Connector(config=parse_config(settings, env={}), kafka=kafka))
            try:
                attempts[-1].run()
                return
            except SlotInUseError:
                done.wait(STANDBY_POLL_S)

    thread = threading.Thread(target=run, name="standby-instance", daemon=True)
    thread.start()
    try:
        yield attempts
    finally:
        done.set()
        for attempt in attempts:
            attempt.stop()
        thread.join(60)
        assert not thread.is_alive(), "the new instance did not stop within 60 s"


def changes(records: list[Record]) -> list[tuple[str, int, str]]:
    """(op, id, note) of each row record."""
    payloads = [r.value_json["payload"] for r in records if r.value is not None]
    return [(p["op"], p["after"]["id"], p["after"]["note"]) for p in payloads]


@pytest.mark.parametrize(
    ("heartbeat_ms", "change_after_fence"),
    [("0", True), ("1000", False)],
    ids=["a change commits after the fence", "only a heartbeat commits after the fence"],
)
def test_a_fenced_instance_stops_at_its_next_commit_and_the_new_one_takes_the_slot(
    database: str, kafka_bootstrap: str, heartbeat_ms: str, change_after_fence: bool
) -> None:
    """Two instances of one new connector: the later one planned a snapshot before the other created the slot,
    so it registers the transactional id (fencing the streaming one) and then stands by. The fenced one
    learns of it at its next commit (the next change's, or with heartbeat.interval.ms the next heartbeat's,
    as Kafka Connect's task does at its next commit) and stops; the new one then streams from the slot, after
    the last offset the fenced one committed, so a read_committed consumer sees every change once."""
    with psycopg.connect(database, autocommit=True) as conn:
        conn.execute("CREATE TABLE public.items (id int PRIMARY KEY, note text)")
        conn.execute("INSERT INTO public.items VALUES (1, 'snapshot')")
    prefix = unique_prefix()
    topic = f"{prefix}.public.items"
    settings = {**eos_settings(database, prefix), "name": "c", "heartbeat.interval.ms": heartbeat_ms}
    kafka = kafka_settings(kafka_bootstrap, env={})
    late, plan = planned_before_the_slot(database, settings, kafka)

    first = Instance(Connector(config=parse_config(settings, env={}), kafka=kafka))
    first.thread.start()
    try:
        wait_until(
            lambda: first.connector.status.state == "available" or first.error,
            timeout=60,
            what="the first instance to stream",
        )
        assert first.error is None, first.error
        change_and_wait_for_its_commit(
            database,
            kafka,
            first.connector.offsets_topic,
            offset_key("c", prefix),
            "UPDATE public.items SET note = 'before the fence' WHERE id = 1",
            what="the first instance to commit the change made before the fence",
        )
        release_frames(refused_the_slot(database, kafka, late, plan))  # its start fenced the first instance
        with standing_by(settings, kafka) as attempts:
            if change_after_fence:
                with psycopg.connect(database, autocommit=True) as conn:
                    conn.execute("UPDATE public.items SET note = 'after the fence' WHERE id = 1")
            wait_until(
                lambda: not first.thread.is_alive(),
                timeout=NOTICED_WITHIN_S,
                what="the fenced instance to stop",
            )
            assert isinstance(first.error, ProducerFencedError), repr(first.error)
            assert first.error.retriable is False
            assert "another instance of the connector" in str(first.error)
            assert first.connector.status.state == "failed"
            wait_until(
                lambda: attempts and attempts[-1].status.state == "available",
                timeout=30,
                what="the new instance to stream from the slot",
            )
            if not change_after_fence:
                with psycopg.connect(database, autocommit=True) as conn:
                    conn.execute("UPDATE public.items SET note = 'after the fence' WHERE id = 1")
            records = read_topic(
                kafka_bootstrap,
                topic,
                until=lambda got: (
                    ("u", 1, "after the fence") in changes(without_aborted(kafka_bootstrap, topic, got))
                ),
                timeout=60,
            )
    finally:
        first.connector.stop()
        first.thread.join(60)
    assert changes(without_aborted(kafka_bootstrap, topic, records)) == [
        ("r", 1, "snapshot"),
        ("u", 1, "before the fence"),
        ("u", 1, "after the fence"),
    ]
