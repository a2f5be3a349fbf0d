"""Workers as real processes: failover on kill -9, pause/resume, state kept in Kafka, failures and retries."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import psycopg
import psycopg2
from psycopg2.extras import LogicalReplicationConnection

from tests.connector_run import connector_settings, unique_prefix, wait_until
from tests.kafka_read import Record, read_topic
from tests.worker_run import start_worker, unique_group, wait_for_state, worker_group

FAILOVER_LIMIT_S = 15.0


def ids_on(records: list[Record]) -> set[int]:
    return {r.value_json["payload"]["after"]["id"] for r in records if r.value is not None}


def make_items(dsn: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE public.items (id int PRIMARY KEY, note text)")


def insert(dsn: str, ids: range) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO public.items SELECT g, 'n' || g FROM generate_series(%s::int, %s::int) g",
            (ids[0], ids[-1]),
        )


def slot_active(dsn: str, slot: str) -> bool | None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        row = conn.execute("SELECT active FROM pg_replication_slots WHERE slot_name = %s", (slot,)).fetchone()
    return None if row is None else bool(row[0])


def test_kill_9_of_the_holder_fails_over_within_15_s_and_loses_nothing(
    database: str, kafka_bootstrap: str, tmp_path: Path
) -> None:
    make_items(database)
    name = unique_prefix()
    topic = f"{name}.public.items"
    settings = connector_settings(database, name, **{"table.include.list": "public.items"})
    rows = 3000
    with worker_group(kafka_bootstrap, tmp_path, count=3) as workers:
        with workers[0].client() as api:
            assert api.post("/connectors", json={"name": name, "config": settings}).status_code == 201
            holder_id = wait_for_state(api, name, "available")["connector"]["worker_id"]
        holder = next(w for w in workers if w.worker_id == holder_id)
        survivor = next(w for w in workers if w is not holder)

        def workload() -> None:
            with psycopg.connect(database, autocommit=True) as conn:
                for start in range(1, rows + 1, 20):
                    conn.execute(
                        "INSERT INTO public.items SELECT g, 'n' || g"
                        " FROM generate_series(%s::int, %s::int) g",
                        (start, start + 19),
                    )
                    time.sleep(0.005)  # spread the writes over the kill

        writer = threading.Thread(target=workload)
        writer.start()
        read_topic(kafka_bootstrap, topic, until=lambda got: len(got) >= 300, timeout=60)
        killed_at = time.monotonic()
        holder.kill()
        insert(database, range(-1, 0))  # a marker written right after the kill
        read_topic(kafka_bootstrap, topic, until=lambda got: -1 in ids_on(got), timeout=FAILOVER_LIMIT_S + 30)
        failover_s = time.monotonic() - killed_at
        with survivor.client() as api:

            def taken_over() -> str | None:
                status = api.get(f"/connectors/{name}/status").json()
                worker_id = status["connector"]["worker_id"]
                return (
                    worker_id if status["pgcdc"]["state"] == "available" and worker_id != holder_id else None
                )

            new_holder = wait_until(taken_over, timeout=30, what="another worker to report the connector")
        writer.join(120)
        records = read_topic(
            kafka_bootstrap, topic, until=lambda got: ids_on(got) >= set(range(1, rows + 1)), timeout=120
        )
    print(f"failover: first event after kill -9 of the holder delivered in {failover_s:.2f} s")
    assert new_holder != holder_id
    assert failover_s < FAILOVER_LIMIT_S, f"failover took {failover_s:.1f} s"
    assert ids_on(records) == set(range(1, rows + 1)) | {-1}
    assert len(records) < 2 * (rows + 1), "far more duplicates than the unconfirmed tail at the kill"


def test_pause_holds_events_and_resume_delivers_them_all(
    database: str, kafka_bootstrap: str, tmp_path: Path
) -> None:
    make_items(database)
    name = unique_prefix()
    topic = f"{name}.public.items"
    settings = connector_settings(database, name, **{"table.include.list": "public.items"})
    with worker_group(kafka_bootstrap, tmp_path, count=2) as workers, workers[1].client() as api:
        api.post("/connectors", json={"name": name, "config": settings})
        wait_for_state(api, name, "available")
        insert(database, range(1, 101))
        read_topic(kafka_bootstrap, topic, until=lambda got: ids_on(got) >= set(range(1, 101)))
        assert api.put(f"/connectors/{name}/pause").status_code == 202
        paused = wait_for_state(api, name, "paused")
        assert paused["connector"]["state"] == "PAUSED"
        # Nobody reads the slot while paused: every change stays in it.
        wait_until(
            lambda: slot_active(database, settings["slot.name"]) is False, timeout=30, what="slot released"
        )
        insert(database, range(101, 201))
        wait_until(
            lambda: (
                (api.get(f"/connectors/{name}/status").json()["pgcdc"].get("wal_retained_bytes") or 0) > 0
            ),
            timeout=30,
            what="the paused connector to report WAL retained",
        )
        assert slot_active(database, settings["slot.name"]) is False
        assert api.put(f"/connectors/{name}/resume").status_code == 202
        wait_for_state(api, name, "available")
        records = read_topic(kafka_bootstrap, topic, until=lambda got: ids_on(got) >= set(range(1, 201)))
    assert ids_on(records) == set(range(1, 201))


def test_state_lives_in_kafka_so_a_new_worker_takes_over(
    database: str, kafka_bootstrap: str, tmp_path: Path
) -> None:
    make_items(database)
    name = unique_prefix()
    group = unique_group()
    topic = f"{name}.public.items"
    settings = connector_settings(database, name, **{"table.include.list": "public.items"})
    first = start_worker(kafka_bootstrap, group, tmp_path, name="first")
    try:
        with first.client() as api:
            api.post("/connectors", json={"name": name, "config": settings})
            wait_for_state(api, name, "available")
        insert(database, range(1, 51))
        read_topic(kafka_bootstrap, topic, until=lambda got: len(got) >= 50)
    finally:
        assert first.stop() == 0, first.log()[-3000:]
    insert(database, range(51, 101))  # while no worker runs
    second = start_worker(kafka_bootstrap, group, tmp_path, name="second")
    try:
        with second.client() as api:
            assert api.get("/connectors").json() == [name]
            status = wait_for_state(api, name, "available")
            assert status["connector"]["worker_id"] == second.worker_id
        records = read_topic(kafka_bootstrap, topic, until=lambda got: ids_on(got) >= set(range(1, 101)))
    finally:
        assert second.stop() == 0, second.log()[-3000:]
    assert ids_on(records) == set(range(1, 101))
    # Kafka Connect's record formats.
    configs = read_topic(kafka_bootstrap, f"connect-configs-{group}", until=lambda got: len(got) >= 1)
    stored = [r for r in configs if r.key == f"connector-{name}".encode()]
    assert stored and stored[-1].value_json["properties"]["slot.name"] == settings["slot.name"]
    statuses = read_topic(kafka_bootstrap, f"connect-status-{group}", until=lambda got: len(got) >= 2)
    mine = [r.value_json for r in statuses if r.key == f"status-connector-{name}".encode()]
    assert {"state", "trace", "worker_id", "generation"} <= set(mine[-1])
    # A graceful stop hands the connector back: the last word of the first worker was UNASSIGNED.
    assert any(s["state"] == "UNASSIGNED" and s["worker_id"] == first.worker_id for s in mine)
    offsets = read_topic(kafka_bootstrap, f"connect-offsets-{group}", until=lambda got: len(got) >= 1)
    assert offsets[-1].key_json == [name, {"server": name}]
    assert isinstance(offsets[-1].value_json["lsn"], int)


def test_failures_are_reported_retried_with_backoff_and_cleared_by_a_fix(
    database: str, kafka_bootstrap: str, tmp_path: Path
) -> None:
    make_items(database)
    name = unique_prefix()
    good = connector_settings(database, name, **{"table.include.list": "public.items"})
    unreachable = {**good, "database.url": "postgresql://nobody@127.0.0.1:1/nowhere"}
    with worker_group(kafka_bootstrap, tmp_path, count=1) as (worker,), worker.client() as api:
        api.post("/connectors", json={"name": name, "config": unreachable})

        def retried_twice() -> bool:
            body = api.get(f"/connectors/{name}/status").json()
            return body["pgcdc"].get("retriable") is True and (body["pgcdc"].get("attempt") or 0) >= 2

        wait_until(retried_twice, timeout=30, what="two retried attempts")
        body = api.get(f"/connectors/{name}/status").json()
        assert body["connector"]["state"] == "FAILED"
        assert "retrying in" in body["connector"]["trace"]
        assert "cannot connect to PostgreSQL" in body["pgcdc"]["reason"]
        assert api.put(f"/connectors/{name}/config", json=good).status_code == 200
        wait_for_state(api, name, "available")

        # A table that does not exist is not retried; once it exists, a restart brings the connector up.
        other = unique_prefix()
        missing = connector_settings(database, other, **{"table.include.list": "public.later"})
        api.post("/connectors", json={"name": other, "config": missing})
        failed = wait_for_state(api, other, "failed")
        assert failed["pgcdc"]["retriable"] is False
        assert "public.later" in failed["pgcdc"]["reason"]
        with psycopg.connect(database, autocommit=True) as conn:
            conn.execute("CREATE TABLE public.later (id int PRIMARY KEY)")
        assert api.post(f"/connectors/{other}/restart").status_code == 204
        wait_for_state(api, other, "available")


def test_destroy_drops_slot_and_publication_and_keeps_topics(
    database: str, kafka_bootstrap: str, tmp_path: Path
) -> None:
    make_items(database)
    name = unique_prefix()
    settings = connector_settings(database, name, **{"table.include.list": "public.items"})
    with worker_group(kafka_bootstrap, tmp_path, count=2) as workers, workers[0].client() as api:
        api.post("/connectors", json={"name": name, "config": settings})
        wait_for_state(api, name, "available")
        insert(database, range(1, 4))
        read_topic(kafka_bootstrap, f"{name}.public.items", until=lambda got: len(got) >= 3)
        response = api.delete(f"/connectors/{name}", params={"details": "true"})
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["slot_dropped"] and body["publication_dropped"]
        assert body["topics_kept"] == [f"{name}.public.items"]
        assert api.get(f"/connectors/{name}").status_code == 404
        with workers[1].client() as other:
            wait_until(
                lambda: other.get("/connectors").json() == [], timeout=10, what="the other worker to agree"
            )
    with psycopg.connect(database, autocommit=True) as conn:
        slots = conn.execute(
            "SELECT count(*) FROM pg_replication_slots WHERE slot_name = %s", (settings["slot.name"],)
        )
        assert slots.fetchone() == (0,)
        pubs = conn.execute(
            "SELECT count(*) FROM pg_publication WHERE pubname = %s", (settings["publication.name"],)
        )
        assert pubs.fetchone() == (0,)
    records = read_topic(kafka_bootstrap, f"{name}.public.items", until=lambda got: len(got) >= 3)
    assert ids_on(records) == {1, 2, 3}


def test_after_restarts_exactly_one_worker_streams_the_connector(
    database: str, kafka_bootstrap: str, tmp_path: Path
) -> None:
    make_items(database)
    name = unique_prefix()
    settings = connector_settings(database, name, **{"table.include.list": "public.items"})

    def readers() -> int:
        with psycopg.connect(database, autocommit=True) as conn:
            row = conn.execute(
                "SELECT count(*) FROM pg_stat_replication r"
                " JOIN pg_replication_slots s ON s.active_pid = r.pid WHERE s.slot_name = %s",
                (settings["slot.name"],),
            ).fetchone()
        return int(row[0]) if row else 0

    with worker_group(kafka_bootstrap, tmp_path, count=2) as workers, workers[0].client() as api:
        api.post("/connectors", json={"name": name, "config": settings})
        wait_for_state(api, name, "available")
        # Each restart lets go of the slot; either worker may take it, never both.
        for _ in range(3):
            assert api.post(f"/connectors/{name}/restart").status_code == 204
            wait_until(lambda: readers() == 1, timeout=30, what="one reader of the slot")

        def running_here() -> list[str] | None:
            series = f'pgcdc_connector_running_here{{connector="{name}"}} 1.0'
            found = [w.worker_id for w in workers if series in w.client().get("/metrics").text]
            return found if len(found) == 1 else None

        # A restart takes effect after its 204: the old session may still be reading when the loop above sees
        # one reader, and the new one opens a moment later. Settled means one worker and one reader at once.
        def settled() -> list[str] | None:
            holder = running_here()
            return holder if holder is not None and readers() == 1 else None

        holder = wait_until(
            settled, timeout=30, what="exactly one worker running the connector, reading the slot"
        )
        with psycopg.connect(database, autocommit=True) as conn:
            conn.execute("INSERT INTO public.items VALUES (1, 'after restarts')")
        records = read_topic(kafka_bootstrap, f"{name}.public.items", until=lambda got: len(got) >= 1)
    assert holder[0] in {w.worker_id for w in workers}
    assert ids_on(records) == {1}


def test_a_slot_held_outside_the_group_is_named_in_the_status(
    database: str, kafka_bootstrap: str, tmp_path: Path
) -> None:
    make_items(database)
    name = unique_prefix()
    settings = connector_settings(database, name, **{"table.include.list": "public.items"})
    slot = settings["slot.name"]
    with psycopg.connect(database, autocommit=True) as conn:
        conn.execute("CREATE PUBLICATION outsider_pub")
        conn.execute("SELECT pg_create_logical_replication_slot(%s, 'pgoutput')", (slot,))
    outsider = psycopg2.connect(
        database, connection_factory=LogicalReplicationConnection, application_name="outsider"
    )
    try:
        outsider.cursor().start_replication(
            slot_name=slot, options={"proto_version": "1", "publication_names": "outsider_pub"}
        )
        wait_until(lambda: slot_active(database, slot), timeout=30, what="the outsider to read the slot")
        with worker_group(kafka_bootstrap, tmp_path) as workers, workers[0].client() as api:
            assert api.post("/connectors", json={"name": name, "config": settings}).status_code == 201

            def named_holder() -> dict[str, object] | None:
                status = api.get(f"/connectors/{name}/status").json()
                return status if "application 'outsider'" in (status["pgcdc"].get("reason") or "") else None

            status = wait_until(named_holder, timeout=30, what="the status to name the slot's holder")
            assert status["connector"]["state"] == "UNASSIGNED"  # type: ignore[index]
            assert "stop that process" in status["pgcdc"]["reason"]  # type: ignore[index]
            outsider.close()
            wait_for_state(api, name, "available")
    finally:
        outsider.close()


def test_a_connector_another_worker_is_creating_reads_creating_on_every_worker(
    database: str, kafka_bootstrap: str, tmp_path: Path
) -> None:
    make_items(database)
    name = unique_prefix()
    # Without a snapshot the winner creates the slot itself; the open transaction keeps that creation waiting
    # (a logical slot waits for running transactions), so the winner holds the slot, still creating, well past
    # its first status report, while the other worker stands by.
    settings = connector_settings(
        database, name, **{"table.include.list": "public.items", "snapshot.mode": "no_data"}
    )
    with psycopg.connect(database, autocommit=True) as conn:
        conn.execute("CREATE TABLE public.blocker (id int)")
    with worker_group(kafka_bootstrap, tmp_path, count=2) as workers, psycopg.connect(database) as blocker:
        blocker.execute("INSERT INTO public.blocker VALUES (1)")
        clients = [w.client() for w in workers]
        assert clients[0].post("/connectors", json={"name": name, "config": settings}).status_code == 201
        seen: list[tuple[str, str, str]] = []

        def both_report_it_running() -> bool:
            states = []
            for worker, api in zip(workers, clients, strict=True):
                response = api.get(f"/connectors/{name}/status")
                if response.status_code == 404:  # this worker has not read the new config yet
                    return False
                body = response.json()
                seen.append((worker.name, body["pgcdc"]["state"], body["pgcdc"].get("reason") or ""))
                states.append((body["connector"]["state"], body["pgcdc"]["state"]))
            return states == [("RUNNING", "creating")] * 2

        wait_until(both_report_it_running, timeout=30, what="both workers to say creating", interval=0.05)
        assert {state for _, state, _ in seen} == {"creating"}, seen
        assert slot_active(database, settings["slot.name"])
        blocker.commit()
        wait_for_state(clients[1], name, "available")
        for api in clients:
            api.close()
