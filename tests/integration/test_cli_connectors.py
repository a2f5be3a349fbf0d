"""``pgcdc connectors`` and ``pgcdc topics`` as a person runs them, against real worker processes."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator

import orjson
import psycopg
import pytest

from pgcdc.embedded.ports import free_port
from tests.connector_run import wait_until
from tests.kafka_read import read_topic, topic_names
from tests.worker_run import WorkerProcess, wait_for_state, worker_group

SECRET = "cli-secret-pw-51d0"


@pytest.fixture(scope="module")
def workers(kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[WorkerProcess]]:
    with worker_group(kafka_bootstrap, tmp_path_factory.mktemp("cli-workers"), count=2) as group:
        yield group


def pgcdc(*args: str, url: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pgcdc.cli", *args],
        env={**os.environ, "PGCDC_URL": url, "COLUMNS": "200", **(env or {})},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
    )


def ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, (
        f"exit {result.returncode}\nstdout: {result.stdout}\nstderr: {result.stderr}"
    )
    assert SECRET not in result.stdout + result.stderr, "the password was printed"
    return result.stdout


def one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode != 0, result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("pgcdc: error: "), result.stderr
    return lines[0]


@pytest.mark.parametrize(
    "command",
    [
        ("connectors",),
        ("connectors", "create"),
        ("connectors", "info"),
        ("connectors", "wait"),
        ("connectors", "update"),
        ("connectors", "pause"),
        ("connectors", "resume"),
        ("connectors", "destroy"),
        ("topics",),
        ("worker",),
    ],
)
def test_every_command_has_help_with_an_example(command: tuple[str, ...]) -> None:
    text = ok(pgcdc(*command, "--help", url="http://127.0.0.1:1"))
    assert re.search(r"Example: (\S+=\S+ )*pgcdc ", text), text


def test_an_unreachable_api_is_one_line_and_a_non_zero_exit() -> None:
    line = one_line_error(pgcdc("connectors", url=f"http://127.0.0.1:{free_port()}"))
    assert "cannot reach the pgcdc API" in line and "PGCDC_URL" in line


def test_connector_life_cycle_from_the_cli(
    workers: list[WorkerProcess], database: str, kafka_bootstrap: str
) -> None:
    with psycopg.connect(database, autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE public.users (id int PRIMARY KEY, email text, password text);"
            "CREATE TABLE public.orders (id int PRIMARY KEY, user_id int)"
        )
    source = re.sub(r"postgresql://([^@/]*)@", rf"postgresql://\1:{SECRET}@", database)
    assert SECRET in source
    url = workers[0].url
    env = {"DATABASE_URL": source, "KAFKA_URL": kafka_bootstrap}

    created = ok(
        pgcdc(
            "connectors",
            "create",
            "--source",
            "DATABASE_URL",
            "--store",
            "KAFKA_URL",
            "--table",
            "public.users",
            "--exclude-column",
            "public.users.password",
            url=url,
            env=env,
        )
    )
    match = re.search(r"^Name:\s+([a-z]+_[a-z]+_\d{5})$", created, re.MULTILINE)
    assert match, created
    name = match.group(1)
    assert re.search(r"^Status:\s+creating$", created, re.MULTILINE), created
    assert f"pgcdc connectors wait {name}" in created

    assert f"Connector {name} is available." in ok(
        pgcdc("connectors", "wait", name, "--timeout", "60", url=url)
    )
    with psycopg.connect(database, autocommit=True) as conn:
        conn.execute("INSERT INTO public.users VALUES (1, 'a@example.com', 'hunter2')")
    records = read_topic(kafka_bootstrap, f"{name}.public.users", until=lambda got: len(got) >= 1)
    assert records[0].value_json["payload"]["after"] == {"id": 1, "email": "a@example.com"}
    assert f"heartbeat.{name}" in topic_names(kafka_bootstrap)

    listed = orjson.loads(ok(pgcdc("connectors", "--json", url=workers[1].url)))
    assert listed[name]["status"]["pgcdc"]["state"] == "available"
    table = ok(pgcdc("connectors", "--table", url=url))
    assert name in table and "available" in table and "public.users" in table
    assert f"=== {name}" in ok(pgcdc("connectors", url=url))

    info = ok(pgcdc("connectors", "info", name, url=url))
    for expected in (
        f"=== {name}",
        "Status:           available",
        "Lag:              < 1 MB",
        f"public.users → {name}.public.users",
        "Excluded Columns: public.users.password",
        "heartbeat.interval.ms",
        "********",
    ):
        assert expected in info, f"{expected!r} missing from:\n{info}"
    as_json = orjson.loads(ok(pgcdc("connectors", "info", name, "--json", url=url)))
    assert as_json["config"]["database.url"] == "********"

    with psycopg.connect(database, autocommit=True) as conn:
        conn.execute("INSERT INTO public.orders VALUES (1, 1)")  # exists before the table is added
    updated = ok(pgcdc("connectors", "update", name, "--add-table", "public.orders", url=url))
    assert "table.include.list" in updated
    with workers[0].client() as api:

        def capturing_orders() -> bool:
            status = api.get(f"/connectors/{name}/status").json()["pgcdc"]
            return status["state"] == "available" and "public.orders" in status["tables"]

        wait_until(capturing_orders, timeout=60, what="the connector to capture public.orders")
    with psycopg.connect(database, autocommit=True) as conn:
        conn.execute("INSERT INTO public.orders VALUES (10, 1)")
    orders = read_topic(kafka_bootstrap, f"{name}.public.orders", until=lambda got: len(got) >= 2)
    # The added table's existing row is snapshotted, then its changes stream, each exactly once.
    assert [(r.value_json["payload"]["op"], r.key_json["payload"]["id"]) for r in orders] == [
        ("r", 1),
        ("c", 10),
    ]

    assert "Paused" in ok(pgcdc("connectors", "pause", name, url=url))
    with workers[1].client() as api:
        wait_for_state(api, name, "paused")
    line = one_line_error(pgcdc("connectors", "wait", name, url=url))
    assert "is paused" in line
    assert "Resumed" in ok(pgcdc("connectors", "resume", name, url=url))
    ok(pgcdc("connectors", "wait", name, "--timeout", "60", url=url))

    topics = ok(pgcdc("topics", url=url))
    assert f"{name}.public.users" in topics and "Messages/s" in topics
    stop = threading.Event()

    def traffic() -> None:
        with psycopg.connect(database, autocommit=True) as conn:
            next_id = 100
            while not stop.is_set():
                conn.execute("INSERT INTO public.users VALUES (%s, 'x@example.com', 'pw')", (next_id,))
                next_id += 1
                stop.wait(0.01)

    writer = threading.Thread(target=traffic)
    writer.start()
    try:

        def rates() -> dict[str, object] | None:
            listed = orjson.loads(ok(pgcdc("topics", "--json", url=url)))["topics"]
            users = next(t for t in listed if t["name"] == f"{name}.public.users")
            return users if (users["messages_per_sec"] or 0) > 0 else None

        users = wait_until(rates, timeout=30, what="traffic on the users topic")
    finally:
        stop.set()
        writer.join(10)
    assert users["bytes_per_sec"] > 0 and users["messages"] >= 2  # type: ignore[operator]

    assert "--confirm" in one_line_error(pgcdc("connectors", "destroy", name, url=url))
    assert "does not match" in one_line_error(
        pgcdc("connectors", "destroy", name, "--confirm", "other", url=url)
    )
    destroyed = ok(pgcdc("connectors", "destroy", name, "--confirm", name, url=url))
    assert f"Destroyed {name}." in destroyed
    assert "Dropped replication slot" in destroyed and "Dropped publication" in destroyed
    assert f"{name}.public.users" in destroyed and "Kept topics" in destroyed
    assert f"Connector {name} not found" in one_line_error(pgcdc("connectors", "info", name, url=url))
    with psycopg.connect(database, autocommit=True) as conn:
        assert conn.execute("SELECT count(*) FROM pg_replication_slots").fetchone() == (0,)
        assert conn.execute("SELECT count(*) FROM pg_publication").fetchone() == (0,)


def test_create_refuses_what_it_cannot_use(workers: list[WorkerProcess]) -> None:
    url = workers[0].url
    line = one_line_error(
        pgcdc("connectors", "create", "--source", "NO_SUCH_VARIABLE", "--table", "a.b", url=url)
    )
    assert "NO_SUCH_VARIABLE" in line
    line = one_line_error(
        pgcdc("connectors", "create", "--source", "postgresql://u@h/db", "--table", "users", url=url)
    )
    assert "schema.table" in line


def test_snapshot_progress_in_the_api_and_connectors_info(
    workers: list[WorkerProcess], database: str, kafka_bootstrap: str
) -> None:
    with psycopg.connect(database, autocommit=True) as conn:
        conn.execute("CREATE TABLE public.items (id int PRIMARY KEY, v text)")
        conn.execute("INSERT INTO public.items SELECT g, 'v' FROM generate_series(1, 3000) g")
    url = workers[0].url
    created = ok(
        pgcdc(
            "connectors", "create", "--source", database, "--table", "public.items",
            "--setting", "snapshot.fetch.size=500", url=url,
        )
    )  # fmt: skip
    match = re.search(r"^Name:\s+(\S+)$", created, re.MULTILINE)
    assert match, created
    name = match.group(1)
    ok(pgcdc("connectors", "wait", name, "--timeout", "90", url=url))
    with workers[0].client() as api:

        def finished() -> dict[str, object] | None:
            snapshot = api.get(f"/connectors/{name}/status").json()["pgcdc"].get("snapshot") or {}
            return snapshot if snapshot.get("tables_remaining") == 0 else None

        snapshot = wait_until(finished, timeout=60, what="the snapshot's final progress in the status")
    assert snapshot["rows_scanned"] == snapshot["rows_expected"] == 3000
    assert snapshot["threads"] == 2 and snapshot["tables"] == {
        "public.items": {"rows_expected": 3000, "rows_scanned": 3000, "done": True}
    }
    info = ok(pgcdc("connectors", "info", name, url=url))
    assert re.search(r"^Snapshot:\s+3,000 of 3,000 rows \(100%\), [\d,]+ rows/s, 2 processes$", info, re.M), (
        info
    )
    assert re.search(r"^\s+public\.items: 3,000 of 3,000 rows \(100%\), done$", info, re.M), info
    assert (
        len(read_topic(kafka_bootstrap, f"{name}.public.items", until=lambda got: len(got) >= 3000)) == 3000
    )
