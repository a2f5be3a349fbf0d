"""Kafka over mutual TLS with Heroku's variables (KAFKA_URL=kafka+ssl://, KAFKA_TRUSTED_CERT, KAFKA_CLIENT_CERT,
KAFKA_CLIENT_CERT_KEY), with certificates the test makes.

Tansu 0.6.0 cannot serve TLS itself (its ``--cert`` and ``--key`` options are declared as conflicting, so no
TLS listener can be configured), so the TLS listener here is the test's proxy, which terminates TLS and
requires a client certificate signed by the test CA; the broker advertises only that listener. A successful SASL
login is not tested: this Tansu build keeps users on no storage at all (memory and S3 storage write none,
PostgreSQL and SQLite storage are not built in), so with ``--authentication`` it refuses every login;
``test_kafka_sasl.py`` tests how such a refusal is reported (docs/security.md, "Kafka over TLS and SASL").
"""

from __future__ import annotations

import os
import signal
import ssl
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import orjson
import psycopg
import pytest
from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition
from confluent_kafka.admin import AdminClient

from pgcdc.produce.client import kafka_settings
from tests.chaos.broker import ProxiedBroker
from tests.connector_run import connector_settings, unique_prefix, wait_until
from tests.security.certs import Certificates, make_certificates


@pytest.fixture(scope="module")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> Certificates:
    return make_certificates(tmp_path_factory.mktemp("certs"))


@pytest.fixture(scope="module")
def tls_broker(
    certificates: Certificates, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ProxiedBroker]:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=str(certificates.ca.cert))
    context.load_cert_chain(str(certificates.server.cert), str(certificates.server.key))
    context.verify_mode = ssl.CERT_REQUIRED
    with ProxiedBroker(log_path=tmp_path_factory.mktemp("tls") / "tansu.log", server_ssl=context) as broker:
        yield broker


def heroku_env(
    broker: ProxiedBroker, certificates: Certificates, *, client_cert: bool = True
) -> dict[str, str]:
    env = {
        "KAFKA_URL": f"kafka+ssl://{broker.bootstrap}",
        "KAFKA_TRUSTED_CERT": certificates.ca.cert_pem,
    }
    if client_cert:
        env["KAFKA_CLIENT_CERT"] = certificates.client.cert_pem
        env["KAFKA_CLIENT_CERT_KEY"] = certificates.client.key_pem
    return env


def reachable(env: dict[str, str], *, timeout: float = 2) -> bool:
    """Whether a metadata request succeeds within ``timeout`` seconds (a refused client waits it out)."""
    settings = kafka_settings(env=env)
    admin = AdminClient(settings.config(**{"log.connection.close": False}))
    try:
        admin.list_topics(timeout=timeout)
        return True
    except Exception:
        return False


def test_only_a_client_with_a_certificate_of_the_trusted_ca_gets_in(
    tls_broker: ProxiedBroker, certificates: Certificates
) -> None:
    assert reachable(heroku_env(tls_broker, certificates), timeout=10)
    assert not reachable(heroku_env(tls_broker, certificates, client_cert=False))
    wrong_ca = {**heroku_env(tls_broker, certificates), "KAFKA_TRUSTED_CERT": certificates.other_ca.cert_pem}
    assert not reachable(wrong_ca), "a broker certificate from an untrusted CA was accepted"
    plaintext = {"KAFKA_URL": tls_broker.bootstrap}
    assert not reachable(plaintext)


def test_pgcdc_run_streams_over_mutual_tls_with_heroku_variables(
    tls_broker: ProxiedBroker, certificates: Certificates, database: str, tmp_path: Path
) -> None:
    with psycopg.connect(database, autocommit=True) as conn:
        conn.execute("CREATE TABLE public.users (id int PRIMARY KEY, name text)")
    prefix = unique_prefix()
    config = tmp_path / "c.json"
    config.write_bytes(
        orjson.dumps(
            {
                "name": prefix,
                "config": connector_settings(database, prefix, **{"table.include.list": "public.users"}),
            }
        )
    )
    log = tmp_path / "c.log"
    env = {**os.environ, **heroku_env(tls_broker, certificates)}
    with log.open("ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "pgcdc.cli", "run", "--config", str(config)],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
        )
    try:
        wait_until(lambda: b"streaming" in log.read_bytes(), timeout=60, what="streaming over TLS")
        with psycopg.connect(database, autocommit=True) as conn:
            conn.execute("INSERT INTO public.users VALUES (1, 'over tls')")
        values = read_over_tls(tls_broker, certificates, f"{prefix}.public.users", count=1)
    finally:
        process.send_signal(signal.SIGTERM)
        code = process.wait(60)
    assert code == 0, log.read_text()[-3000:]
    assert values[0]["payload"]["after"] == {"id": 1, "name": "over tls"}
    # The log names the cluster by its address, never by the key.
    assert certificates.client.key_pem.splitlines()[1] not in log.read_text()


def read_over_tls(broker: ProxiedBroker, certificates: Certificates, topic: str, *, count: int) -> list[dict]:  # type: ignore[type-arg]
    settings = kafka_settings(env=heroku_env(broker, certificates))
    consumer = Consumer(
        settings.config(**{"group.id": f"tls-{uuid.uuid4().hex}", "enable.auto.commit": False})
    )
    values: list[dict] = []  # type: ignore[type-arg]
    deadline = time.monotonic() + 60
    try:
        consumer.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])
        while len(values) < count:
            assert time.monotonic() < deadline, f"only {len(values)} of {count} records in {topic}"
            for msg in consumer.consume(100, timeout=0.5):
                if msg.error() is None and msg.value():
                    values.append(orjson.loads(msg.value()))  # type: ignore[arg-type]
    finally:
        consumer.close()
    return values
