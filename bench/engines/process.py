"""A child process of the benchmark: started with its output in a log, stopped by its own pid, its usage read."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from contextlib import suppress
from pathlib import Path
from typing import Any

from bench.engines import Usage
from bench.measure import cpu_seconds, peak_rss_mb, tree_rss_mb
from bench.slots import EngineFailed

LOG_TAIL = 3000
TREE_SAMPLE_S = 0.05
"""How often the summed RSS of the engine and its child processes is sampled: VmHWM is per process, and the
children's peaks can coincide."""
ROOT = Path(__file__).resolve().parents[2]


class ChildProcess:
    def __init__(
        self,
        cmd: Sequence[str],
        *,
        log: Path,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
    ) -> None:
        self.log = log
        self.spawned_at = time.monotonic()
        with open(log, "wb") as out:
            self.popen = subprocess.Popen(
                list(cmd),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=_with_bench_importable(env if env is not None else os.environ),
                cwd=cwd,
            )
        self._tree_peak_mb = 0.0
        threading.Thread(target=self._sample_tree_rss, name="tree-rss", daemon=True).start()

    @property
    def pid(self) -> int:
        return self.popen.pid

    def stopped(self) -> str | None:
        """None while it runs, else its exit code and the end of its log."""
        code = self.popen.poll()
        if code is None:
            return None
        return f"exit code {code}; log {self.log}:\n{self.log.read_text(errors='replace')[-LOG_TAIL:]}"

    def usage(self) -> Usage:
        """CPU of the process and the children it waited for; peak RSS of the process and its children at once."""
        peak = max(peak_rss_mb(self.pid), self._tree_peak_mb)
        return Usage(cpu_seconds=cpu_seconds(self.pid), peak_rss_mb=peak)

    def _sample_tree_rss(self) -> None:
        while self.popen.poll() is None:
            self._tree_peak_mb = max(self._tree_peak_mb, tree_rss_mb(self.pid))
            time.sleep(TREE_SAMPLE_S)

    def stop(self, *, grace: float = 30) -> None:
        """SIGTERM, then SIGKILL after ``grace`` seconds."""
        if self.popen.poll() is None:
            with suppress(ProcessLookupError):
                self.popen.send_signal(signal.SIGTERM)
            with suppress(subprocess.TimeoutExpired):
                self.popen.wait(grace)
        if self.popen.poll() is None:
            self.popen.kill()
            self.popen.wait(10)

    def wait_result(self, path: Path, *, timeout: float, what: str) -> dict[str, Any]:
        """Wait for the JSON file a child writes (atomically) when it is done."""
        deadline = time.monotonic() + timeout
        while not path.exists():
            stopped = self.stopped()
            if stopped is not None:
                raise EngineFailed(f"{what}: the process stopped first\n{stopped}")
            if time.monotonic() > deadline:
                raise EngineFailed(f"{what}: not within {timeout:.0f} s; log {self.log}")
            time.sleep(0.01)
        result: dict[str, Any] = json.loads(path.read_text())
        return result


def _with_bench_importable(env: Mapping[str, str]) -> dict[str, str]:
    """The children run ``python -m bench.engines...`` from other directories; bench is not installed."""
    paths = [str(ROOT), *filter(None, env.get("PYTHONPATH", "").split(os.pathsep))]
    return {**env, "PYTHONPATH": os.pathsep.join(paths)}


def milestone_file(directory: Path, count: int) -> Path:
    """Where a child notes the moment it had seen ``count`` events."""
    return directory / f"seen-{count}.json"


def write_result(path: Path, result: Mapping[str, Any]) -> None:
    """What a child calls once: the file appears whole or not at all."""
    partial = path.with_suffix(".partial")
    partial.write_text(json.dumps(result))
    os.replace(partial, path)
