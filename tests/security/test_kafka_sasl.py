"""A SASL login the broker refuses: ``pgcdc run`` and ``pgcdc worker`` stop with one message that names the user,
the mechanism, the broker's reason and the settings to check, create nothing in PostgreSQL, and never show the
password.

The broker is Tansu with ``--authentication``, which keeps no users on memory storage and so refuses every login
(SCRAM: ``unknown-user``; PLAIN: no shared mechanism). No broker that can be installed here accepts one, so
a successful SASL login is not tested (docs/security.md, "Kafka over TLS and SASL").
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import orjson
import psycopg
import pytest

from pgcdc.embedded.broker import EmbeddedBroker
from pgcdc.produce.client import kafka_settings
from pgcdc.worker.records import ConnectState, TargetState
from pgcdc.worker.runner import ConnectorRunner
from pgcdc.worker.settings import WorkerSettings
from pgcdc.worker.status_report import StatusReport
from tests.connector_run import connector_settings, unique_prefix, wait_until
from tests.worker_run import start_worker, unique_group

USER = "pgcdc-sasl-user"
PASSWORD = "Sasl-Grep-9d4b2a-p@ss"
# A refused login must stop pgcdc long before this; before the fix it retried for ever.
EXIT_WITHIN_S = 60
# librdkafka's lines about the refused login: a few, not one per reconnect for as long as pgcdc runs. (The
# worker's own clients, made before its login check, still print theirs raw on stderr.)
MAX_LIBRDKAFKA_LINES = 10


@pytest.fixture(scope="module")
def refusing_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedBroker]:
    with EmbeddedBroker(
        log_path=tmp_path_factory.mktemp("sasl") / "tansu.log", authentication=True
    ) as broker:
        yield broker


def sasl_env(broker: EmbeddedBroker, mechanism: str) -> dict[str, str]:
    return {
        **os.environ,
        "KAFKA_URL": broker.bootstrap_servers,
        "PGCDC_KAFKA_SECURITY_PROTOCOL": "sasl_plaintext",
        "PGCDC_KAFKA_SASL_MECHANISM": mechanism,
        "PGCDC_KAFKA_SASL_USERNAME": USER,
        "PGCDC_KAFKA_SASL_PASSWORD": PASSWORD,
    }


def assert_names_the_refused_login(output: str, mechanism: str, reason: str) -> None:
    assert f"refused the SASL login of user '{USER}' with mechanism {mechanism}: {reason}" in output, output
    assert "Check PGCDC_KAFKA_SASL_USERNAME / PGCDC_KAFKA_SASL_PASSWORD" in output
    assert PASSWORD not in output and "9d4b2a" not in output, "the SASL password was printed"
    librdkafka_lines = [line for line in output.splitlines() if "SASL authentication error" in line]
    assert len(librdkafka_lines) <= MAX_LIBRDKAFKA_LINES, output[-3000:]


@pytest.mark.parametrize(
    ("mechanism", "reason"),
    [
        ("SCRAM-SHA-512", "SASL SCRAM authentication failed: broker responded with unknown-user"),
        ("PLAIN", "SASL PLAIN mechanism handshake failed"),
    ],
)
def test_pgcdc_run_stops_on_a_refused_login_and_names_it(
    refusing_broker: EmbeddedBroker, database: str, tmp_path: Path, mechanism: str, reason: str
) -> None:
    with psycopg.connect(database, autocommit=True) as conn:
        conn.execute("CREATE TABLE public.users (id int PRIMARY KEY, name text)")
    prefix = unique_prefix()
    config = tmp_path / "c.json"
    settings = connector_settings(database, prefix, **{"table.include.list": "public.users"})
    config.write_bytes(orjson.dumps({"name": prefix, "config": settings}))
    done = subprocess.run(
        [sys.executable, "-m", "pgcdc.cli", "run", "--config", str(config), "--log-level", "debug"],
        env=sasl_env(refusing_broker, mechanism),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=EXIT_WITHIN_S,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 1, output[-3000:]
    assert "pgcdc: error: Kafka at " in done.stderr
    assert_names_the_refused_login(output, mechanism, reason)
    # Nothing raw from librdkafka on stderr: the login check's client logs through logging, and the
    # connector's own clients are made only after it.
    assert "%3|" not in output and "%4|" not in output, output[-3000:]
    with psycopg.connect(database, autocommit=True) as conn:
        slots = conn.execute("SELECT slot_name FROM pg_replication_slots").fetchall()
        publications = conn.execute("SELECT pubname FROM pg_publication").fetchall()
    assert (slots, publications) == ([], []), "a refused login still set up the source"


def test_worker_stops_on_a_refused_login_and_names_it(
    refusing_broker: EmbeddedBroker, tmp_path: Path
) -> None:
    worker = start_worker(
        refusing_broker.bootstrap_servers,
        unique_group(),
        tmp_path,
        env=sasl_env(refusing_broker, "SCRAM-SHA-512"),
        args=("--log-level", "debug"),
        wait=False,
    )
    try:
        code = worker.process.wait(EXIT_WITHIN_S)
    finally:
        worker.stop()
    output = worker.log()
    assert code == 1, output[-3000:]
    reason = "SASL SCRAM authentication failed: broker responded with unknown-user"
    assert_names_the_refused_login(output, "SCRAM-SHA-512", reason)


def test_a_hosted_connector_meeting_a_refused_login_fails_and_is_not_retried(
    refusing_broker: EmbeddedBroker, database: str
) -> None:
    """A worker's connector whose login is refused (credentials revoked while the worker runs; the worker's own
    clients logged in before): FAILED, with the message in its trace, and no retry until someone acts."""
    with psycopg.connect(database, autocommit=True) as conn:
        conn.execute("CREATE TABLE public.users (id int PRIMARY KEY, name text)")
    prefix = unique_prefix()
    kafka = kafka_settings(env=sasl_env(refusing_broker, "SCRAM-SHA-512"))
    reports: list[StatusReport] = []
    runner = ConnectorRunner(
        name=prefix,
        config=connector_settings(database, prefix, **{"table.include.list": "public.users"}),
        target=TargetState.STARTED,
        kafka=kafka,
        settings=WorkerSettings(
            group_id="sasl",
            kafka=kafka,
            worker_id="127.0.0.1:8083",
        ),
        publish=reports.append,
        publish_offset=lambda config, lsn, txid: None,
        read_configs_to_end=lambda: True,  # no configs topic: this runner is the connector's only one
    )
    runner.start()
    try:
        failed: StatusReport = wait_until(
            lambda: next((r for r in reports if r.state is ConnectState.FAILED), None),
            timeout=EXIT_WITHIN_S,
            what="the connector to fail",
        )
    finally:
        runner.shutdown()
        assert runner.join(60), "the runner did not stop"
    assert failed.trace is not None
    assert failed.trace.startswith(f"LoginRefusedError: Kafka at {refusing_broker.bootstrap_servers} refused")
    assert f"refused the SASL login of user '{USER}' with mechanism SCRAM-SHA-512" in failed.trace
    assert failed.trace.endswith(
        "; not retried: fix the cause, then update the config or restart the connector"
    )
    assert failed.details["retriable"] is False
    assert "next_retry_ms" not in failed.details, "a retry of the refused login was scheduled"
    assert PASSWORD not in repr(reports)
