"""Workers in tests: real ``pgcdc worker`` processes of one group, and an HTTP client for their API."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from pgcdc.embedded.ports import free_port
from tests.connector_run import wait_until

# Seconds a standby looks again at a slot in tests: half the default, so failover tests finish sooner.
STANDBY_POLL_S = 0.5


@dataclass
class WorkerProcess:
    """One worker: its process, API address and log."""

    name: str
    process: subprocess.Popen[bytes]
    url: str
    log_path: Path
    token: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def worker_id(self) -> str:
        return self.url.removeprefix("http://")

    def client(self, *, token: str | None = None) -> httpx.Client:
        bearer = token if token is not None else self.token
        headers = {"Authorization": f"Bearer {bearer}"} if bearer else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=60)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(30)

    def stop(self, timeout: float = 90) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)
            raise


def unique_group() -> str:
    return "g" + uuid.uuid4().hex[:10]


def start_worker(
    bootstrap: str,
    group: str,
    workdir: Path,
    *,
    name: str = "w1",
    host: str = "127.0.0.1",
    token: str | None = None,
    env: Mapping[str, str] | None = None,
    args: tuple[str, ...] = (),
    wait: bool = True,
) -> WorkerProcess:
    """Start ``pgcdc worker`` and (with ``wait``) poll its API until it answers."""
    port = free_port()
    log_path = workdir / f"{name}.log"
    log = open(log_path, "ab")  # noqa: SIM115 - handed to the child, closed with it
    child_env = {**os.environ, "KAFKA_URL": bootstrap, **(env or {})}
    child_env.pop("PGCDC_API_TOKEN", None)
    if token is not None:
        child_env["PGCDC_API_TOKEN"] = token
    command = [
        sys.executable,
        "-m",
        "pgcdc.cli",
        "worker",
        "--group-id",
        group,
        "--host",
        host,
        "--port",
        str(port),
        "--advertised-host",
        "127.0.0.1",
        "--standby-poll",
        str(STANDBY_POLL_S),
        *args,
    ]
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=child_env)
    log.close()
    worker = WorkerProcess(
        name=name, process=process, url=f"http://127.0.0.1:{port}", log_path=log_path, token=token
    )
    if wait:
        try:
            wait_for_api(worker)
        except BaseException:
            worker.process.kill()
            worker.process.wait(10)
            raise
    return worker


def wait_for_api(worker: WorkerProcess, timeout: float = 60) -> None:
    def answers() -> bool:
        if worker.process.poll() is not None:
            raise AssertionError(
                f"worker {worker.name} exited with {worker.process.returncode}:\n{worker.log()[-3000:]}"
            )
        with contextlib.suppress(httpx.HTTPError), worker.client() as client:
            return client.get("/").status_code in (200, 401)
        return False

    wait_until(answers, timeout=timeout, what=f"worker {worker.name}'s API", interval=0.1)


@contextlib.contextmanager
def worker_group(
    bootstrap: str, workdir: Path, *, count: int = 1, group: str | None = None, token: str | None = None
) -> Iterator[list[WorkerProcess]]:
    """``count`` workers of one new group; stopped (drained) afterwards, their logs shown on failure."""
    group = group or unique_group()
    workers: list[WorkerProcess] = []
    try:
        for number in range(1, count + 1):
            workers.append(start_worker(bootstrap, group, workdir, name=f"w{number}", token=token))
        yield workers
    finally:
        for worker in workers:
            with contextlib.suppress(Exception):
                worker.stop()


def connector_state(client: httpx.Client, name: str) -> tuple[str, str, str | None]:
    """(Kafka Connect state, pgcdc state, worker id) from GET .../status."""
    body = client.get(f"/connectors/{name}/status").json()
    return body["connector"]["state"], body["pgcdc"]["state"], body["connector"].get("worker_id")


def wait_for_state(client: httpx.Client, name: str, state: str, *, timeout: float = 60) -> dict[str, Any]:
    """Poll GET .../status until pgcdc's state is ``state``; returns the status body."""
    last: dict[str, Any] = {}

    def reached() -> bool:
        nonlocal last
        response = client.get(f"/connectors/{name}/status")
        last = response.json()
        return response.status_code == 200 and last["pgcdc"]["state"] == state

    try:
        wait_until(reached, timeout=timeout, what=f"connector {name} to be {state}", interval=0.1)
    except AssertionError as err:
        raise AssertionError(f"{err}; last status: {last}") from None
    return last
