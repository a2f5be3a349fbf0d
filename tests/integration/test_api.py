"""The REST API of real worker processes: every endpoint, Kafka Connect's shapes, masking, metrics, token."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest

from tests.connector_run import connector_settings, unique_prefix, wait_until
from tests.fix_services import PgServer
from tests.kafka_read import read_topic
from tests.worker_run import WorkerProcess, start_worker, unique_group, wait_for_state, worker_group

# Trust authentication ignores it, so it can be anything: the tests look for it in every answer.
PASSWORD = "pw-never-shown-7f3a9c"


@pytest.fixture(scope="module")
def workers(kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[WorkerProcess]]:
    """Two workers of one group, shared by this module's tests."""
    with worker_group(kafka_bootstrap, tmp_path_factory.mktemp("workers"), count=2) as group:
        yield group


def debezium_config(server: PgServer, dsn: str, prefix: str) -> dict[str, object]:
    """A config as Debezium's documentation writes it, numbers and all."""
    params = server.conninfo(dsn.rsplit("/", 1)[1].split("?")[0])
    return {
        "connector.class": "io.debezium.connector.postgresql.PostgresConnector",
        "tasks.max": "1",
        "database.hostname": params["host"],
        "database.port": int(params["port"]),
        "database.user": params["user"],
        "database.password": PASSWORD,
        "database.dbname": params["dbname"],
        "topic.prefix": prefix,
        "plugin.name": "pgoutput",
        "slot.name": f"slot_{prefix}",
        "publication.name": f"pub_{prefix}",
        "publication.autocreate.mode": "filtered",
        "table.include.list": "public.items",
        "key.converter": "org.apache.kafka.connect.json.JsonConverter",
        "value.converter": "org.apache.kafka.connect.json.JsonConverter",
        "key.converter.schemas.enable": True,
        "value.converter.schemas.enable": True,
        "tombstones.on.delete": "true",
    }


def test_server_info_plugins_and_openapi(workers: list[WorkerProcess]) -> None:
    with workers[0].client() as api:
        root = api.get("/").json()
        assert root["version"] and root["kafka_cluster_id"]
        assert api.get("/connector-plugins").json() == [
            {
                "class": "io.debezium.connector.postgresql.PostgresConnector",
                "type": "source",
                "version": root["version"],
            }
        ]
        paths = api.get("/openapi.json").json()["paths"]
    for path in (
        "/connectors",
        "/connectors/{name}",
        "/connectors/{name}/config",
        "/connectors/{name}/status",
        "/connectors/{name}/pause",
        "/connectors/{name}/resume",
        "/connectors/{name}/restart",
        "/connectors/{name}/topics",
        "/connector-plugins",
        "/connector-plugins/{plugin}/config/validate",
        "/metrics",
    ):
        assert path in paths


def test_validate_attaches_errors_to_their_setting(workers: list[WorkerProcess]) -> None:
    config = {"topic.prefix": "x", "database.url": "postgresql://u:pw@h/db", "database.password": PASSWORD}
    with workers[0].client() as api:
        path = "/connector-plugins/io.debezium.connector.postgresql.PostgresConnector/config/validate"
        good = api.put(path, json=config).json()
        assert good["error_count"] == 0
        bad = api.put(path, json={**config, "snapshot.mode": "sometimes"}).json()
        unknown = api.put("/connector-plugins/NoSuchConnector/config/validate", json=config)
    assert bad["error_count"] == 1
    errors = {c["value"]["name"]: c["value"]["errors"] for c in bad["configs"] if c["value"]["errors"]}
    assert list(errors) == ["snapshot.mode"]
    values = {c["value"]["name"]: c["value"]["value"] for c in good["configs"]}
    assert values["database.password"] == "********" and values["database.url"] == "********"
    assert unknown.status_code == 400 and set(unknown.json()) == {"error_code", "message"}
    assert PASSWORD not in str(good) + str(bad)


def test_every_connector_endpoint_with_a_debezium_config_posted_verbatim(
    workers: list[WorkerProcess], database: str, kafka_bootstrap: str, pg_server: PgServer
) -> None:
    with psycopg.connect(database, autocommit=True) as conn:
        conn.execute("CREATE TABLE public.items (id int PRIMARY KEY, note text)")
    name = unique_prefix()
    config = debezium_config(pg_server, database, name)
    answers: list[httpx.Response] = []
    with workers[0].client() as api, workers[1].client() as other:

        def call(client: httpx.Client, method: str, path: str, **kwargs: object) -> httpx.Response:
            response = client.request(method, path, **kwargs)  # type: ignore[arg-type]
            answers.append(response)
            return response

        created = call(api, "POST", "/connectors", json={"name": name, "config": config})
        assert created.status_code == 201, created.text
        assert created.headers["location"] == f"/connectors/{name}"
        assert created.json()["tasks"] == [{"connector": name, "task": 0}]
        duplicate = call(api, "POST", "/connectors", json={"name": name, "config": config})
        assert duplicate.status_code == 409
        assert duplicate.json() == {"error_code": 409, "message": f"Connector {name} already exists"}
        invalid = call(
            api, "POST", "/connectors", json={"name": "bad", "config": {"topic.prefix": "x", "oops": "1"}}
        )
        assert invalid.status_code == 400 and "oops" in invalid.json()["message"]

        status = wait_for_state(other, name, "available")
        assert status["connector"]["state"] == "RUNNING" and status["tasks"][0]["state"] == "RUNNING"
        with psycopg.connect(database, autocommit=True) as conn:
            conn.execute("INSERT INTO public.items VALUES (1, 'one')")
        records = read_topic(kafka_bootstrap, f"{name}.public.items", until=lambda got: len(got) >= 1)
        assert records[0].value_json["payload"]["after"] == {"id": 1, "note": "one"}

        assert (
            call(other, "GET", "/connectors").json() == [name]
            or name in call(other, "GET", "/connectors").json()
        )
        info = call(other, "GET", f"/connectors/{name}").json()
        assert info["config"]["database.password"] == "********" and info["type"] == "source"
        stored = call(other, "GET", f"/connectors/{name}/config").json()
        assert stored["database.port"] == str(config["database.port"])
        assert stored["key.converter.schemas.enable"] == "true"
        expanded = call(api, "GET", "/connectors", params=[("expand", "status"), ("expand", "info")]).json()
        assert expanded[name]["status"]["pgcdc"]["state"] == "available"
        assert expanded[name]["info"]["config"]["database.password"] == "********"
        tasks = call(api, "GET", f"/connectors/{name}/tasks").json()
        assert tasks[0]["id"] == {"connector": name, "task": 0}
        assert call(api, "GET", f"/connectors/{name}/tasks/0/status").json()["state"] == "RUNNING"
        assert call(api, "GET", f"/connectors/{name}/topics").json() == {
            name: {"topics": [f"{name}.public.items"]}
        }

        # The masked password sent back keeps the stored one: the connector still logs in after the update.
        changed = call(api, "PUT", f"/connectors/{name}/config", json={**stored, "max.queue.size": "1024"})
        assert changed.status_code == 200 and changed.json()["config"]["max.queue.size"] == "1024"
        wait_until(
            lambda: call(api, "GET", f"/connectors/{name}/config").json()["max.queue.size"] == "1024",
            timeout=10,
            what="the new config",
        )
        wait_for_state(api, name, "available")
        with psycopg.connect(database, autocommit=True) as conn:
            conn.execute("INSERT INTO public.items VALUES (2, 'two')")
        read_topic(kafka_bootstrap, f"{name}.public.items", until=lambda got: len(got) >= 2)

        assert call(api, "POST", f"/connectors/{name}/restart").status_code == 204
        restarted = call(api, "POST", f"/connectors/{name}/restart", params={"includeTasks": "true"})
        assert restarted.status_code == 202 and restarted.json()["name"] == name
        assert call(api, "POST", f"/connectors/{name}/tasks/0/restart").status_code == 204
        assert call(api, "PUT", f"/connectors/{name}/pause").status_code == 202
        wait_for_state(other, name, "paused")
        assert call(api, "PUT", f"/connectors/{name}/resume").status_code == 202
        wait_for_state(other, name, "available")

        for method, path in (
            ("GET", "/connectors/nope"),
            ("GET", "/connectors/nope/status"),
            ("PUT", "/connectors/nope/pause"),
            ("DELETE", "/connectors/nope"),
        ):
            missing = call(api, method, path)
            assert missing.status_code == 404
            assert missing.json() == {"error_code": 404, "message": "Connector nope not found"}
        assert call(api, "DELETE", f"/connectors/{name}").status_code == 204
        assert call(other, "GET", f"/connectors/{name}/status").status_code in (404, 200)
        wait_until(
            lambda: name not in other.get("/connectors").json(), timeout=10, what="deletion everywhere"
        )
    assert not [r.request.url for r in answers if PASSWORD in r.text], "the password was returned"


def test_metrics_report_streaming_and_lag(
    workers: list[WorkerProcess], database: str, kafka_bootstrap: str
) -> None:
    with psycopg.connect(database, autocommit=True) as conn:
        conn.execute("CREATE TABLE public.items (id int PRIMARY KEY)")
    name = unique_prefix()
    settings = connector_settings(database, name, **{"table.include.list": "public.items"})
    with workers[0].client() as api:
        api.post("/connectors", json={"name": name, "config": settings})
        holder = wait_for_state(api, name, "available")["connector"]["worker_id"]
        with psycopg.connect(database, autocommit=True) as conn:
            conn.execute("INSERT INTO public.items SELECT generate_series(1, 10)")
        read_topic(kafka_bootstrap, f"{name}.public.items", until=lambda got: len(got) >= 10)
        worker = next(w for w in workers if w.worker_id == holder)
        with worker.client() as client:

            def exported() -> str | None:
                text = client.get("/metrics").text
                seen = f'pgcdc_streaming_events_seen_total{{connector="{name}",op="c"}} 10.0'
                # Retained WAL is read by the worker's slot watcher on its own beat, not with the events: the
                # gauge exists from its first reading on.
                measured = f'pgcdc_connector_wal_retained_bytes{{connector="{name}"}}'
                return text if seen in text and measured in text else None

            text = wait_until(exported, timeout=30, what="the events and the retained WAL in /metrics")
        api.delete(f"/connectors/{name}")
    for series in (
        f'pgcdc_connector_state{{connector="{name}",state="available"}} 1.0',
        f'pgcdc_connector_wal_retained_bytes{{connector="{name}"}}',
        f'pgcdc_streaming_milliseconds_behind_source{{connector="{name}"}}',
        f'pgcdc_streaming_queue_total_capacity{{connector="{name}"}} 8192.0',
        f'pgcdc_streaming_connected{{connector="{name}"}} 1.0',
        f'pgcdc_kafka_delivery_errors_total{{connector="{name}"}} 0.0',
    ):
        assert series in text, series


def test_a_token_is_required_off_loopback(kafka_bootstrap: str, tmp_path: Path) -> None:
    group = unique_group()
    refused = subprocess.run(
        [
            sys.executable,
            "-m",
            "pgcdc.cli",
            "worker",
            "--group-id",
            group,
            "--host",
            "0.0.0.0",
            "--port",
            "0",
        ],
        env={"KAFKA_URL": kafka_bootstrap, "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert refused.returncode == 2
    assert refused.stderr.strip().splitlines() == [
        "pgcdc: error: binding the API to 0.0.0.0 needs a token: set PGCDC_API_TOKEN or --api-token-file, "
        "or bind to 127.0.0.1"
    ]
    token = "t0ken-" + "x" * 26
    worker = start_worker(kafka_bootstrap, group, tmp_path, host="0.0.0.0", token=token)
    try:
        for bearer in ("", "wrong-token-of-some-length"):
            with worker.client(token=bearer) as anonymous:
                for path in ("/", "/connectors", "/metrics", "/openapi.json"):
                    response = anonymous.get(path)
                    assert response.status_code == 401, path
                    assert response.headers["www-authenticate"] == "Bearer"
                    assert response.json()["error_code"] == 401
        with worker.client() as api:
            assert api.get("/connectors").status_code == 200
    finally:
        assert worker.stop() == 0, worker.log()[-3000:]


def test_every_endpoint_is_in_docs_rest_api(workers: list[WorkerProcess]) -> None:
    text = (Path(__file__).resolve().parents[2] / "docs" / "rest-api.md").read_text()
    with workers[0].client() as api:
        paths = api.get("/openapi.json").json()["paths"]
    for path, operations in paths.items():
        for method in operations:
            assert f"`{method.upper()} {path}" in text, f"{method.upper()} {path} is not in docs/rest-api.md"
