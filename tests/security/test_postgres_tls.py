"""A PostgreSQL that accepts only TLS (``ssl=on``, ``hostssl`` in pg_hba.conf, certificates the test makes):
``database.sslmode`` is honoured on every connection pgcdc opens, the replication one included.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from pgcdc.config import parse_config
from pgcdc.embedded.postgres import EmbeddedPostgres, run_account
from pgcdc.errors import SourceError
from pgcdc.pipeline import Connector
from pgcdc.produce.client import kafka_settings
from tests.connector_run import connector_settings, running_connector, unique_prefix
from tests.kafka_read import read_topic
from tests.security.certs import Certificates, make_certificates

PG15_BIN = Path("/usr/lib/postgresql/15/bin")

HBA = """\
local all all trust
hostssl all all 127.0.0.1/32 trust
hostssl replication all 127.0.0.1/32 trust
hostnossl all all 127.0.0.1/32 reject
hostnossl replication all 127.0.0.1/32 reject
"""


@pytest.fixture(scope="module")
def tls_postgres() -> Iterator[tuple[EmbeddedPostgres, Certificates]]:
    base = Path(tempfile.mkdtemp(prefix="pgcdc-pg-"))
    base.chmod(0o755)
    config = base / "config"
    certificates = make_certificates(config)
    (config / "pg_hba.conf").write_text(HBA)
    account = run_account()
    for path in [config, *config.iterdir()]:
        if account is not None:
            os.chown(path, account.uid, account.gid)
        path.chmod(0o700 if path.is_dir() else 0o600)
    pg = EmbeddedPostgres(
        data_dir=base / "data",
        bin_dir=PG15_BIN,
        settings={
            "ssl": "on",
            "ssl_cert_file": str(certificates.server.cert),
            "ssl_key_file": str(certificates.server.key),
            "hba_file": str(config / "pg_hba.conf"),
        },
    )
    try:
        pg.start()
        with psycopg.connect(pg.dsn(), autocommit=True) as conn:
            conn.execute("CREATE TABLE public.users (id int PRIMARY KEY, name text)")
        yield pg, certificates
    finally:
        pg.cleanup()
        shutil.rmtree(base, ignore_errors=True)


def test_the_server_refuses_connections_without_tls(
    tls_postgres: tuple[EmbeddedPostgres, Certificates],
) -> None:
    pg, _ = tls_postgres
    with pytest.raises(psycopg.OperationalError, match="no encryption"):
        psycopg.connect(pg.dsn() + "?sslmode=disable").close()


def test_sslmode_disable_gets_the_servers_refusal(
    tls_postgres: tuple[EmbeddedPostgres, Certificates], kafka_bootstrap: str
) -> None:
    pg, _ = tls_postgres
    prefix = unique_prefix()
    settings = connector_settings(
        pg.dsn(), prefix, **{"table.include.list": "public.users", "database.sslmode": "disable"}
    )
    connector = Connector(
        config=parse_config(settings, env={}), kafka=kafka_settings(kafka_bootstrap, env={})
    )
    with pytest.raises(
        SourceError, match=r"cannot connect to PostgreSQL at postgresql://postgres@.*no encryption"
    ):
        connector.run()


@pytest.mark.parametrize("sslmode", ["require", "verify-full"])
def test_every_connection_of_the_connector_uses_tls(
    tls_postgres: tuple[EmbeddedPostgres, Certificates],
    kafka_bootstrap: str,
    sslmode: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pg, certificates = tls_postgres
    # libpq reads the CA for verify-full from PGSSLROOTCERT: pgcdc has no setting for it (Debezium's
    # database.sslrootcert is not implemented).
    monkeypatch.setenv("PGSSLROOTCERT", str(certificates.ca.cert))
    prefix = unique_prefix()
    settings = connector_settings(
        pg.dsn(), prefix, **{"table.include.list": "public.users", "database.sslmode": sslmode}
    )
    with running_connector(settings, kafka_bootstrap), psycopg.connect(pg.dsn(), autocommit=True) as conn:
        conn.execute("INSERT INTO public.users VALUES (%s, 'tls') ON CONFLICT DO NOTHING", (len(sslmode),))
        read_topic(kafka_bootstrap, f"{prefix}.public.users", until=lambda got: len(got) >= 1)
        rows = conn.execute(
            "SELECT a.backend_type, s.ssl FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid)"
            " WHERE a.application_name = 'pgcdc'"
        ).fetchall()
    assert ("walsender", True) in rows, rows
    assert all(ssl for _, ssl in rows), f"a connection of pgcdc without TLS: {rows}"


def test_verify_full_refuses_a_server_certificate_from_an_untrusted_ca(
    tls_postgres: tuple[EmbeddedPostgres, Certificates], kafka_bootstrap: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    pg, certificates = tls_postgres
    monkeypatch.setenv("PGSSLROOTCERT", str(certificates.other_ca.cert))
    settings = connector_settings(
        pg.dsn(), unique_prefix(), **{"table.include.list": "public.users", "database.sslmode": "verify-full"}
    )
    connector = Connector(
        config=parse_config(settings, env={}), kafka=kafka_settings(kafka_bootstrap, env={})
    )
    with pytest.raises(SourceError, match=r"cannot connect to PostgreSQL.*certificate verify failed"):
        connector.run()
