"""Where the connector under test runs: one ``pgcdc run`` process, or a group of two ``pgcdc worker`` processes.

Each host knows the faults that are its own (killing and restarting what runs the connector) and restarts
what it killed, as a process supervisor would.
"""

from __future__ import annotations

import contextlib
import signal
import subprocess
from collections.abc import Callable, Mapping
from pathlib import Path

import httpx

from tests.connector_run import pgcdc_process, wait_until
from tests.worker_run import WorkerProcess, start_worker, unique_group


class RunHost:
    """``pgcdc run`` as a real process, restarted after each kill."""

    def __init__(self, *, settings: Mapping[str, str], bootstrap: str, workdir: Path) -> None:
        self._settings = dict(settings)
        self._bootstrap = bootstrap
        self._workdir = workdir
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def pids(self) -> list[int]:
        return [self._process.pid] if self._process is not None and self._process.poll() is None else []

    def start(self) -> None:
        self._process = pgcdc_process(self._settings, self._bootstrap, self._workdir, name="connector")

    def stop(self) -> int | None:
        process, self._process = self._process, None
        if process is None:
            return None
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        try:
            return process.wait(90)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
            return None

    def faults(self) -> dict[str, Callable[[], None]]:
        return {"kill9-connector": self._kill9, "restart-connector": self._restart}

    def after_recovery(self) -> None:
        """Nothing to bring back: a killed connector was restarted at once."""

    def log_tail(self) -> str:
        path = self._workdir / "connector.log"
        return path.read_text(errors="replace")[-4000:] if path.exists() else ""

    def _kill9(self) -> None:
        assert self._process is not None
        self._process.send_signal(signal.SIGKILL)
        self._process.wait(30)
        self.start()

    def _restart(self) -> None:
        code = self.stop()
        if code != 0:
            raise AssertionError(f"pgcdc run exited with {code} on SIGTERM:\n{self.log_tail()}")
        self.start()


class WorkerHost:
    """Two workers of one group; the connector is created through the REST API and fails over between them."""

    def __init__(
        self, *, name: str, settings: Mapping[str, str], bootstrap: str, workdir: Path, count: int = 2
    ) -> None:
        self._name = name
        self._settings = dict(settings)
        self._bootstrap = bootstrap
        self._workdir = workdir
        self._count = count
        self._group = unique_group()
        self._workers: list[WorkerProcess] = []
        self._down: list[str] = []
        self._started = 0

    @property
    def pids(self) -> list[int]:
        return [w.process.pid for w in self._workers if w.process.poll() is None]

    def start(self) -> None:
        for _ in range(self._count):
            self._start_one()
        with self._workers[0].client() as api:
            response = api.post("/connectors", json={"name": self._name, "config": self._settings})
            if response.status_code != 201:
                raise AssertionError(f"creating the connector failed: {response.status_code} {response.text}")

    def stop(self) -> int | None:
        codes = []
        for worker in self._workers:
            with contextlib.suppress(subprocess.TimeoutExpired):
                codes.append(worker.stop())
        self._workers = []
        return max(codes, default=None)

    def faults(self) -> dict[str, Callable[[], None]]:
        return {"kill9-worker": self._kill9_holder, "restart-worker": self._restart_holder}

    def after_recovery(self) -> None:
        """Start a worker in place of each one killed, so the next failover has somewhere to go."""
        while self._down:
            self._down.pop()
            self._start_one()

    def log_tail(self) -> str:
        return "\n".join(f"--- {w.name}\n{w.log()[-2000:]}" for w in self._workers)

    def _start_one(self) -> WorkerProcess:
        self._started += 1
        worker = start_worker(self._bootstrap, self._group, self._workdir, name=f"w{self._started}")
        self._workers.append(worker)
        return worker

    def holder(self, timeout: float = 60) -> WorkerProcess:
        """The worker whose metrics say it runs the connector now."""
        series = f'pgcdc_connector_running_here{{connector="{self._name}"}} 1.0'

        def find() -> WorkerProcess | None:
            for worker in self._workers:
                if worker.process.poll() is not None:
                    continue
                with contextlib.suppress(httpx.HTTPError), worker.client() as api:
                    if series in api.get("/metrics").text:
                        return worker
            return None

        found: WorkerProcess = wait_until(find, timeout=timeout, what="the worker running the connector")
        return found

    def _kill9_holder(self) -> None:
        """kill -9 of the holder: the other worker takes the slot over (failover)."""
        holder = self.holder()
        holder.kill()
        self._workers.remove(holder)
        self._down.append(holder.name)

    def _restart_holder(self) -> None:
        """SIGTERM of the holder (it drains and hands over), then a new worker in its place."""
        holder = self.holder()
        code = holder.stop()
        self._workers.remove(holder)
        if code != 0:
            raise AssertionError(
                f"worker {holder.name} exited with {code} on SIGTERM:\n{holder.log()[-3000:]}"
            )
        self._start_one()
