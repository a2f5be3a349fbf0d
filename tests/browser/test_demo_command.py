"""``pgcdc demo`` as a command: with DATABASE_URL / KAFKA_URL it uses them and leaves no replication slot
behind; a taken port is one clear line, before anything starts."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import uuid
from pathlib import Path

import psycopg

from tests.fix_services import PgServer, create_database, drop_database

REPO_ROOT = Path(__file__).resolve().parents[2]


def _demo(*args: str, env: dict[str, str], timeout: float = 240) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pgcdc.cli", "demo", *args],
        env=env,
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def test_once_with_external_services_uses_them_and_drops_its_connector(
    pg_server: PgServer, kafka_bootstrap: str
) -> None:
    dbname = create_database(pg_server, "demo_once")
    try:
        name = f"demo_{uuid.uuid4().hex[:8]}"
        env = {**os.environ, "DATABASE_URL": pg_server.dsn(dbname), "KAFKA_URL": kafka_bootstrap}
        ports = ("--users-port", "0", "--messages-port", "0", "--api-port", "0")
        done = _demo("--once", "--name", name, *ports, env=env)
        output = done.stdout + done.stderr
        assert done.returncode == 0, output
        assert "embedded" not in output, "it started embedded services although both URLs were set"
        assert f"Topic         {name}.public.users  (heartbeats: heartbeat.{name})" in output
        assert f"Deleted connector {name}" in output
        assert output.rstrip().endswith("Stopped.")
        with psycopg.connect(pg_server.dsn(dbname)) as conn:
            slots = conn.execute(
                "SELECT slot_name FROM pg_replication_slots WHERE database = %s", [dbname]
            ).fetchall()
            emails = [row[0] for row in conn.execute("SELECT email FROM public.users ORDER BY id")]
            hashes = [row[0] for row in conn.execute("SELECT password FROM public.users")]
        assert slots == [], "the demo left a replication slot in someone else's database"
        assert emails == ["ada@example.com", "alan@example.com", "grace@example.com"]
        assert all(value.startswith("$argon2id$") for value in hashes)
    finally:
        drop_database(pg_server.admin_dsn, dbname)


def test_a_taken_port_is_one_clear_line_before_anything_starts() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = _demo("--users-port", str(port), env=dict(os.environ), timeout=60)
    assert done.returncode == 1
    assert done.stderr.strip() == (
        f"pgcdc: error: port {port} on 127.0.0.1 is taken (another pgcdc demo?); "
        "pass --users-port with a free port, or 0 for any"
    )
    assert done.stdout == ""
