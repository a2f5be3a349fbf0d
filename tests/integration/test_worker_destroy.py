"""Destroying a connector while another worker stands by for its slot: nothing comes back on PostgreSQL."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

import psycopg
import pytest

from pgcdc.produce.client import kafka_settings
from pgcdc.worker.records import connector_config_record
from pgcdc.worker.runner import ConnectorRunner
from pgcdc.worker.service import Worker
from pgcdc.worker.settings import WorkerSettings
from tests.connector_run import connector_settings, unique_prefix, wait_until
from tests.worker_run import STANDBY_POLL_S, unique_group

# Seconds the standby's config log is held back after the slot is dropped: many standby polls.
HOLD_S = 10 * STANDBY_POLL_S


def slot_and_publication(dsn: str, slot: str, publication: str) -> tuple[bool, bool]:
    with psycopg.connect(dsn, autocommit=True) as conn:
        slots = conn.execute("SELECT count(*) FROM pg_replication_slots WHERE slot_name = %s", (slot,))
        has_slot = slots.fetchone() == (1,)
        pubs = conn.execute("SELECT count(*) FROM pg_publication WHERE pubname = %s", (publication,))
        return has_slot, pubs.fetchone() == (1,)


@contextmanager
def started(worker: Worker) -> Iterator[Worker]:
    worker.start()
    try:
        yield worker
    finally:
        worker.stop()


def test_a_standby_that_reads_the_deletion_late_does_not_bring_the_slot_back(
    database: str, kafka_bootstrap: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The owner stops on the deletion and its teardown drops the slot; the standby sees the slot free while
    its config log has not yet applied the deletion (held here). It must not start the deleted connector: a
    slot made again then is dropped by nobody and keeps WAL for ever."""
    with psycopg.connect(database, autocommit=True) as conn:
        conn.execute("CREATE TABLE public.items (id int PRIMARY KEY, note text)")
    name = unique_prefix()
    settings = connector_settings(database, name, **{"table.include.list": "public.items"})
    slot, publication = settings["slot.name"], settings["publication.name"]
    group = unique_group()

    def worker(worker_id: str) -> Worker:
        return Worker(
            settings=WorkerSettings(
                group_id=group,
                kafka=kafka_settings(kafka_bootstrap, env={}),
                worker_id=worker_id,
                standby_poll_s=STANDBY_POLL_S,
            )
        )

    deletion, _ = connector_config_record(name, None)
    on_config = Worker._on_config

    def standby_reads_the_deletion_late(self: Worker, key: bytes | None, value: bytes | None) -> None:
        if self.settings.worker_id == "standby" and key == deletion and value is None:
            # Apply the deletion only once the teardown dropped the slot and the standby had many looks at it
            # (or made it again, which ends the wait early).
            wait_until(
                lambda: slot_and_publication(database, slot, publication) == (False, False),
                timeout=60,
                what="the owner's teardown to drop the slot",
            )
            deadline = time.monotonic() + HOLD_S
            while (
                time.monotonic() < deadline and slot_and_publication(database, slot, publication)[0] is False
            ):
                time.sleep(0.05)
        on_config(self, key, value)

    attempt_once = ConnectorRunner._attempt_once

    def standby_starts_after_the_drop(self: ConnectorRunner) -> None:
        if self._settings.worker_id == "standby":
            # The standby saw the slot free (the owner let go); let the teardown drop it before going on, as a
            # slow standby does. Starting before the drop is harmless: the teardown waits for it to let go.
            wait_until(
                lambda: not slot_and_publication(database, slot, publication)[0],
                timeout=60,
                what="the owner's teardown to drop the slot",
            )
        attempt_once(self)

    monkeypatch.setattr(Worker, "_on_config", standby_reads_the_deletion_late)
    monkeypatch.setattr(ConnectorRunner, "_attempt_once", standby_starts_after_the_drop)
    with ExitStack() as stack:
        owner = stack.enter_context(started(worker("owner")))
        owner.create(name, settings)

        def owner_runs() -> bool:
            runner = owner.connector(name).runner
            return runner is not None and runner.role == "running"

        wait_until(owner_runs, timeout=60, what="the owner to run the connector")
        wait_until(
            lambda: slot_and_publication(database, slot, publication) == (True, True),
            timeout=60,
            what="the connector's slot and publication",
        )
        standby = stack.enter_context(started(worker("standby")))

        def stands_by() -> bool:
            runner = standby.connector(name).runner
            return runner is not None and runner.role == "standby"

        wait_until(stands_by, timeout=30, what="the second worker to stand by")
        teardown = owner.delete(name)
        assert teardown is not None and teardown.slot_dropped, teardown
        wait_until(lambda: name not in standby.names(), timeout=HOLD_S + 30, what="the standby to read it")
    # Both workers stopped: whatever they started has let go, and nothing may be left.
    assert slot_and_publication(database, slot, publication) == (False, False)
