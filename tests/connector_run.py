"""Running connectors in tests: in a thread of the test process, or as a real ``pgcdc run`` process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson

from pgcdc.config import parse_config
from pgcdc.pipeline import RUN_GROUP, Connector
from pgcdc.produce.client import kafka_settings
from tests.kafka_read import read_topic


def wait_until(condition: Callable[[], Any], *, timeout: float, what: str, interval: float = 0.05) -> Any:
    """Poll ``condition`` until it returns something truthy; fail with ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


def unique_prefix() -> str:
    """A topic prefix of this test's own, so tests sharing a broker never read each other's records."""
    return "t" + uuid.uuid4().hex[:10]


def connector_settings(dsn: str, prefix: str, **overrides: str) -> dict[str, str]:
    settings = {
        "connector.class": "io.debezium.connector.postgresql.PostgresConnector",
        "database.url": dsn,
        "topic.prefix": prefix,
        "slot.name": f"slot_{prefix}",
        "publication.name": f"pub_{prefix}",
        "status.update.interval.ms": "200",
    }
    settings.update(overrides)
    return settings


@contextmanager
def running_connector(
    settings: Mapping[str, str], bootstrap: str, *, group: str = RUN_GROUP
) -> Iterator[Connector]:
    """A connector of worker group ``group`` streaming in a background thread; stopped (drained) on exit, its
    error re-raised."""
    connector = Connector(
        config=parse_config(settings, env={}), kafka=kafka_settings(bootstrap, env={}), group=group
    )
    errors: list[BaseException] = []

    def run() -> None:
        try:
            connector.run()
        except BaseException as err:  # re-raised in the test's thread
            errors.append(err)

    thread = threading.Thread(target=run, name="connector", daemon=True)
    thread.start()
    wait_until(
        lambda: connector.status.state == "available" or errors, timeout=60, what="the connector to stream"
    )
    if errors:
        raise errors[0]
    try:
        yield connector
    finally:
        connector.stop()
        thread.join(60)
        assert not thread.is_alive(), "the connector did not stop within 60 s"
    if errors:
        raise errors[0]


def pgcdc_process(
    config: Mapping[str, Any],
    bootstrap: str,
    workdir: Path,
    *,
    name: str = "c",
    options: Sequence[str] = (),
) -> subprocess.Popen[bytes]:
    """``pgcdc run`` as a real process (with ``options`` such as ``--log-level debug``), its stderr in
    ``workdir/<name>.log``."""
    config_file = workdir / f"{name}.json"
    config_file.write_bytes(orjson.dumps({"name": name, "config": dict(config)}))
    log = open(workdir / f"{name}.log", "ab")  # noqa: SIM115 - handed to the child, closed with it
    env = {**os.environ, "KAFKA_URL": bootstrap}
    return subprocess.Popen(
        [sys.executable, "-m", "pgcdc.cli", "run", "--config", str(config_file), *options],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
    )


def kill_9_while_writing(
    process: subprocess.Popen[bytes],
    config: Mapping[str, Any],
    bootstrap: str,
    workdir: Path,
    *,
    writer: threading.Thread,
    topic: str,
    counts: Sequence[int],
) -> subprocess.Popen[bytes]:
    """Once ``process`` (``pgcdc run``) streams, start ``writer``; kill -9 the process each time ``topic`` holds
    the next of ``counts`` records, restarting it at once as a supervisor would; wait for the writer to end.
    Returns the process running at the end."""
    wait_until(lambda: b"streaming" in (workdir / "c.log").read_bytes(), timeout=60, what="streaming")
    writer.start()
    for count in counts:
        read_topic(bootstrap, topic, until=lambda got, n=count: len(got) >= n, timeout=120)
        process.send_signal(signal.SIGKILL)
        process.wait(30)
        process = pgcdc_process(config, bootstrap, workdir)
    writer.join(300)
    return process
