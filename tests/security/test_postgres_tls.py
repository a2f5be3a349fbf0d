"""A PostgreSQL that accepts only TLS (``ssl=on``, ``hostssl`` in pg_hba.conf, certificates the test makes):
``database.sslmode`` and ``database.sslrootcert`` are honoured on every connection pgcdc opens, the replication
one included; a role that must log in with a client certificate does so with ``database.sslcert``,
``database.sslkey`` (encrypted) and ``database.sslpassword``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from pgcdc.config import parse_config
from pgcdc.embedded.install import run_account
from pgcdc.embedded.postgres import EmbeddedPostgres
from pgcdc.errors import SourceError
from pgcdc.pipeline import Connector
from pgcdc.produce.client import kafka_settings
from tests.connector_run import connector_settings, running_connector, unique_prefix
from tests.kafka_read import read_topic
from tests.security.certs import Certificates, make_certificates

PG15_BIN = Path("/usr/lib/postgresql/15/bin")

# Its CN: PostgreSQL's cert authentication logs in the role the certificate names.
CERT_ROLE = "pgcdc-client"
KEY_PASSWORD = "key-pass-3c9a"

HBA = f"""\
local all all trust
hostssl all {CERT_ROLE} 127.0.0.1/32 cert
hostssl replication {CERT_ROLE} 127.0.0.1/32 cert
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
            "ssl_ca_file": str(certificates.ca.cert),
            "hba_file": str(config / "pg_hba.conf"),
        },
    )
    try:
        pg.start()
        with psycopg.connect(pg.dsn(), autocommit=True) as conn:
            conn.execute("CREATE TABLE public.users (id int PRIMARY KEY, name text)")
            conn.execute(f'CREATE ROLE "{CERT_ROLE}" LOGIN REPLICATION SUPERUSER')
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


@pytest.fixture
def no_default_ca(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Neither $PGSSLROOTCERT nor ~/.postgresql/root.crt: only database.sslrootcert can name the CA."""
    monkeypatch.delenv("PGSSLROOTCERT", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))


def tls_connections(conn: psycopg.Connection[tuple[object, ...]]) -> list[tuple[object, ...]]:
    """(backend type, ssl, client certificate's DN) of every connection pgcdc has open."""
    return conn.execute(
        "SELECT a.backend_type, s.ssl, s.client_dn FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid)"
        " WHERE a.application_name = 'pgcdc'"
    ).fetchall()


@pytest.mark.parametrize("sslmode", ["require", "verify-full"])
@pytest.mark.usefixtures("no_default_ca")
def test_every_connection_of_the_connector_uses_tls(
    tls_postgres: tuple[EmbeddedPostgres, Certificates], kafka_bootstrap: str, sslmode: str
) -> None:
    pg, certificates = tls_postgres
    prefix = unique_prefix()
    tls = {"database.sslmode": sslmode}
    if sslmode == "verify-full":
        tls["database.sslrootcert"] = str(certificates.ca.cert)
    settings = connector_settings(pg.dsn(), prefix, **{"table.include.list": "public.users", **tls})
    with running_connector(settings, kafka_bootstrap), psycopg.connect(pg.dsn(), autocommit=True) as conn:
        conn.execute("INSERT INTO public.users VALUES (%s, 'tls') ON CONFLICT DO NOTHING", (len(sslmode),))
        read_topic(kafka_bootstrap, f"{prefix}.public.users", until=lambda got: len(got) >= 1)
        rows = tls_connections(conn)
    assert ("walsender", True, None) in rows, rows
    assert all(ssl for _, ssl, _ in rows), f"a connection of pgcdc without TLS: {rows}"


@pytest.mark.usefixtures("no_default_ca")
def test_verify_full_refuses_a_server_certificate_from_an_untrusted_ca(
    tls_postgres: tuple[EmbeddedPostgres, Certificates], kafka_bootstrap: str
) -> None:
    pg, certificates = tls_postgres
    settings = connector_settings(
        pg.dsn(),
        unique_prefix(),
        **{
            "table.include.list": "public.users",
            "database.sslmode": "verify-full",
            "database.sslrootcert": str(certificates.other_ca.cert),
        },
    )
    connector = Connector(
        config=parse_config(settings, env={}), kafka=kafka_settings(kafka_bootstrap, env={})
    )
    with pytest.raises(SourceError, match=r"cannot connect to PostgreSQL.*certificate verify failed"):
        connector.run()


@pytest.fixture
def encrypted_client_key(tls_postgres: tuple[EmbeddedPostgres, Certificates], tmp_path: Path) -> Path:
    """The client certificate's key, encrypted with KEY_PASSWORD (libpq wants it private: 0600)."""
    _, certificates = tls_postgres
    key = tmp_path / "client-encrypted.key"
    subprocess.run(
        ["openssl", "pkey", "-in", str(certificates.client.key), "-aes256", "-passout",
         f"pass:{KEY_PASSWORD}", "-out", str(key)],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    key.chmod(0o600)
    return key


@pytest.mark.usefixtures("no_default_ca")
def test_a_client_certificate_logs_in_every_connection(
    tls_postgres: tuple[EmbeddedPostgres, Certificates], kafka_bootstrap: str, encrypted_client_key: Path
) -> None:
    """pg_hba.conf lets the role in only with a certificate the CA signed: verify-full both ways."""
    pg, certificates = tls_postgres
    with pytest.raises(psycopg.OperationalError, match="certificate"):
        psycopg.connect(pg.dsn().replace("postgres@", f"{CERT_ROLE}@") + "?sslmode=require").close()
    prefix = unique_prefix()
    settings = connector_settings(
        pg.dsn(),
        prefix,
        **{
            "table.include.list": "public.users",
            "database.user": CERT_ROLE,
            "database.sslmode": "verify-full",
            "database.sslrootcert": str(certificates.ca.cert),
            "database.sslcert": str(certificates.client.cert),
            "database.sslkey": str(encrypted_client_key),
            "database.sslpassword": KEY_PASSWORD,
        },
    )
    with running_connector(settings, kafka_bootstrap), psycopg.connect(pg.dsn(), autocommit=True) as conn:
        conn.execute("INSERT INTO public.users VALUES (100, 'cert') ON CONFLICT DO NOTHING")
        read_topic(kafka_bootstrap, f"{prefix}.public.users", until=lambda got: len(got) >= 1)
        rows = tls_connections(conn)
    assert ("walsender", True, f"/CN={CERT_ROLE}") in rows, rows
    assert all(dn == f"/CN={CERT_ROLE}" for _, _, dn in rows), rows
    wrong = parse_config({**settings, "database.sslpassword": "not-the-password"}, env={})
    connector = Connector(config=wrong, kafka=kafka_settings(kafka_bootstrap, env={}))
    with pytest.raises(SourceError, match=r"cannot connect to PostgreSQL.*(decrypt|key)"):
        connector.run()
