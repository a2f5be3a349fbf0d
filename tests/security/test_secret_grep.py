"""A recognizable password goes in through every door (``pgcdc run``, the worker's REST API, the CLI), in
``database.password``, ``database.sslpassword`` and inside ``database.url``, on success and failure paths, with
debug logging; then every log line, API response and CLI output is searched for it. It must be nowhere.

PostgreSQL here trusts local connections, so the password is never checked and can be anything.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

import httpx
import orjson
import psycopg

from pgcdc.config import DEBEZIUM_CONNECTOR_CLASS
from tests.connector_run import connector_settings, pgcdc_process, unique_prefix, wait_until
from tests.kafka_read import read_topic
from tests.worker_run import start_worker, unique_group, wait_for_state

PASSWORD = "Grep-Me-6f0c1e-p@ss/word"
FORMS = (PASSWORD, quote(PASSWORD, safe=""), "6f0c1e")
"""The password as given, URL-encoded, and its unique core: none may appear anywhere."""


def with_password(dsn: str) -> str:
    """The DSN with PASSWORD in its user-info part."""
    return dsn.replace("postgresql://postgres@", f"postgresql://postgres:{quote(PASSWORD, safe='')}@", 1)


def unreachable_url() -> str:
    return f"postgresql://postgres:{quote(PASSWORD, safe='')}@127.0.0.1:1/nowhere"


def assert_clean(where: str, text: str) -> None:
    for form in FORMS:
        assert form not in text, f"the password ({form!r}) appears in {where}:\n{_around(text, form)}"


def _around(text: str, form: str) -> str:
    at = text.index(form)
    return text[max(0, at - 300) : at + 100]


def cli(*args: str, url: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "pgcdc.cli", *args],
        env={**os.environ, "PGCDC_URL": url, "COLUMNS": "200"},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
    )
    # The arguments themselves hold the password in some calls: only what pgcdc printed is returned.
    return f"exit {done.returncode}\n{done.stdout}{done.stderr}"


def run_once(config: dict[str, str], bootstrap: str, workdir: Path, name: str, *, wait_for: bytes) -> str:
    """``pgcdc run --log-level debug`` until ``wait_for`` is logged (or it exits), then SIGTERM."""
    config_file = workdir / f"{name}.json"
    config_file.write_bytes(orjson.dumps({"name": name, "config": config}))
    log = workdir / f"{name}.log"
    with log.open("ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "pgcdc.cli", "run", "--config", str(config_file), "--log-level", "debug"],
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, "KAFKA_URL": bootstrap},
        )
    try:
        wait_until(
            lambda: wait_for in log.read_bytes() or process.poll() is not None,
            timeout=60,
            what=wait_for.decode(),
        )
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        process.wait(60)
    return log.read_text(errors="replace")


def test_pgcdc_run_never_prints_the_password(database: str, kafka_bootstrap: str, tmp_path: Path) -> None:
    with psycopg.connect(database, autocommit=True) as conn:
        conn.execute("CREATE TABLE public.users (id int PRIMARY KEY, name text)")
    prefix = unique_prefix()
    streaming = connector_settings(with_password(database), prefix, **{"table.include.list": "public.users"})
    process = pgcdc_process(streaming, kafka_bootstrap, tmp_path, name="streaming")
    try:
        wait_until(
            lambda: b"streaming" in (tmp_path / "streaming.log").read_bytes(), timeout=60, what="streaming"
        )
        with psycopg.connect(database, autocommit=True) as conn:
            conn.execute("INSERT INTO public.users VALUES (1, 'x')")
        read_topic(kafka_bootstrap, f"{prefix}.public.users", until=lambda got: len(got) >= 1)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(60)
    assert_clean("pgcdc run's log while streaming", (tmp_path / "streaming.log").read_text())
    split = connector_settings(unreachable_url(), unique_prefix())
    split.pop("database.url")
    split.update(
        {
            "database.hostname": "127.0.0.1",
            "database.port": "1",
            "database.user": "postgres",
            "database.password": PASSWORD,
            "database.sslpassword": PASSWORD,
            "database.dbname": "nowhere",
            "table.include.list": "public.users",
        }
    )
    outputs = {
        "a connection failure (database.url)": run_once(
            connector_settings(unreachable_url(), unique_prefix()),
            kafka_bootstrap,
            tmp_path,
            "url",
            wait_for=b"retrying in",
        ),
        "a connection failure (database.password)": run_once(
            split, kafka_bootstrap, tmp_path, "split", wait_for=b"retrying in"
        ),
        "an invalid configuration": run_once(
            {**split, "no.such.setting": "1"},
            kafka_bootstrap,
            tmp_path,
            "invalid",
            wait_for=b"invalid configuration",
        ),
    }
    assert "cannot connect to PostgreSQL" in outputs["a connection failure (database.url)"]
    assert "invalid configuration" in outputs["an invalid configuration"]
    for where, text in outputs.items():
        assert_clean(f"pgcdc run's output on {where}", text)


def test_worker_api_and_cli_never_show_the_password(
    database: str, kafka_bootstrap: str, tmp_path: Path
) -> None:
    with psycopg.connect(database, autocommit=True) as conn:
        conn.execute("CREATE TABLE public.users (id int PRIMARY KEY, name text)")
    worker = start_worker(kafka_bootstrap, unique_group(), tmp_path, args=("--log-level", "debug"))
    seen: list[tuple[str, str]] = []
    try:
        good, split, failing = unique_prefix(), unique_prefix(), unique_prefix()
        configs = {
            good: connector_settings(with_password(database), good, **{"table.include.list": "public.users"}),
            split: {
                **connector_settings(database, split, **{"table.include.list": "public.users"}),
                "database.password": PASSWORD,
                "database.sslpassword": PASSWORD,
            },
            failing: connector_settings(unreachable_url(), failing, **{"table.include.list": "public.users"}),
        }
        with worker.client() as api:
            for name, config in configs.items():
                response = api.post("/connectors", json={"name": name, "config": config})
                seen.append((f"POST /connectors ({name}) -> {response.status_code}", response.text))
            wait_for_state(api, good, "available")
            wait_until(
                lambda: api.get(f"/connectors/{failing}/status").json()["connector"]["state"] == "FAILED",
                timeout=60,
                what="the unreachable connector to fail",
            )
            bad = {**configs[split], "no.such.setting": "1"}
            for method, path, body in (
                ("POST", "/connectors", {"name": "rejected", "config": bad}),
                ("PUT", f"/connectors/{split}/config", {**configs[split], "snapshot.mode": "initial"}),
                ("PUT", f"/connectors/{split}/config", bad),
                ("PUT", f"/connector-plugins/{DEBEZIUM_CONNECTOR_CLASS}/config/validate", bad),
                ("PUT", f"/connector-plugins/{DEBEZIUM_CONNECTOR_CLASS}/config/validate", configs[good]),
                ("POST", f"/connectors/{good}/restart?includeTasks=true", None),
            ):
                response = api.request(method, path, json=body)
                seen.append((f"{method} {path} -> {response.status_code}", response.text))
            seen += every_get(api, list(configs))
        for args in (
            ("connectors",),
            ("connectors", "info", good),
            ("connectors", "info", split, "--json"),
            ("connectors", "info", failing),
            ("topics",),
            ("connectors", "update", split, "--setting", "snapshot.fetch.size=5000"),
            (
                "connectors",
                "create",
                "--source",
                unreachable_url(),
                "--table",
                "public.users",
                "--name",
                "clicreated",
            ),
            ("connectors", "wait", failing, "--timeout", "2"),
        ):
            seen.append((f"the CLI: pgcdc {' '.join(args[:2])}", cli(*args, url=worker.url)))
    finally:
        worker.stop()
    seen.append(("the worker's log", worker.log()))
    assert any("cannot connect to PostgreSQL" in text for _, text in seen), (
        "the failure path was not exercised"
    )
    for where, text in seen:
        assert_clean(where, text)


def every_get(api: httpx.Client, names: list[str]) -> list[tuple[str, str]]:
    """GET every path of the worker's OpenAPI document, for every connector."""
    paths = api.get("/openapi.json").json()["paths"]
    answers = []
    for path, operations in sorted(paths.items()):
        if "get" not in operations:
            continue
        for name in names if "{name}" in path else [""]:
            concrete = path.replace("{name}", name).replace("{task}", "0")
            concrete = concrete.replace("{plugin}", DEBEZIUM_CONNECTOR_CLASS)
            for query in ("", "?expand=status&expand=info") if path == "/connectors" else ("",):
                response = api.get(concrete + query)
                answers.append((f"GET {concrete}{query} -> {response.status_code}", response.text))
    return answers


def test_cli_update_of_the_password_does_not_print_it(
    database: str, kafka_bootstrap: str, tmp_path: Path
) -> None:
    name = unique_prefix()
    config = {
        **connector_settings("postgresql://postgres@127.0.0.1:1/nowhere", name),
        "table.include.list": "public.t",
    }
    worker = start_worker(kafka_bootstrap, unique_group(), tmp_path)
    try:
        with worker.client() as api:
            assert api.post("/connectors", json={"name": name, "config": config}).status_code == 201
        output = cli(
            "connectors", "update", name, "--setting", f"database.password={PASSWORD}", url=worker.url
        )
    finally:
        worker.stop()
    assert output.startswith("exit 0"), output
    assert_clean("pgcdc connectors update's output", output)
