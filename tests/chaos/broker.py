"""A Tansu broker that clients reach only through a ``TcpProxy``: it advertises the proxy's address.

EmbeddedBroker advertises its own port, so a proxy in front of it would be bypassed after the first metadata
answer. Here every connection goes through the proxy, which lets a test cut them or terminate TLS.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import ssl
import subprocess
import time
import uuid
from pathlib import Path

from pgcdc.embedded.broker import tansu_binary
from pgcdc.embedded.ports import free_port
from tests.chaos.proxy import TcpProxy

_START_TIMEOUT_S = 30.0
_STOP_GRACE_S = 2.0


class ProxiedBroker:
    """Tansu (memory storage) on a private port, a proxy on the advertised one; ``bootstrap`` is the proxy."""

    def __init__(self, *, log_path: Path, server_ssl: ssl.SSLContext | None = None) -> None:
        self._log_path = log_path
        self._broker_port = free_port()
        self.proxy = TcpProxy(self._broker_port, port=free_port(), server_ssl=server_ssl)
        self._proc: subprocess.Popen[bytes] | None = None
        self._paused = False

    @property
    def bootstrap(self) -> str:
        return self.proxy.address

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def start(self) -> ProxiedBroker:
        advertised = f"tcp://{self.proxy.address}"
        cmd = [tansu_binary(), "broker", "--listener-url", f"tcp://127.0.0.1:{self._broker_port}"]
        cmd += ["--advertised-listener-url", advertised, "--storage-engine", "memory://tansu/"]
        cmd += ["--cluster-id", f"chaos-{uuid.uuid4().hex[:8]}"]
        with self._log_path.open("ab") as log:
            self._proc = subprocess.Popen(
                cmd,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**os.environ, "NO_COLOR": "1"},
            )
        deadline = time.monotonic() + _START_TIMEOUT_S
        while True:
            if self._proc.poll() is not None:
                raise RuntimeError(f"Tansu exited with {self._proc.returncode}; see {self._log_path}")
            try:
                socket.create_connection(("127.0.0.1", self._broker_port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"Tansu did not listen within {_START_TIMEOUT_S} s") from None
                time.sleep(0.05)
        self.proxy.start()
        return self

    def pause(self) -> None:
        """SIGSTOP: connections stay open and nothing answers, like a stalled broker."""
        assert self._proc is not None
        os.kill(self._proc.pid, signal.SIGSTOP)
        self._paused = True

    def resume(self) -> None:
        if self._proc is not None and self._paused:
            os.kill(self._proc.pid, signal.SIGCONT)
        self._paused = False

    def stop(self) -> None:
        self.proxy.stop()
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        self._resume_proc(proc)
        proc.terminate()
        try:
            proc.wait(_STOP_GRACE_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def _resume_proc(self, proc: subprocess.Popen[bytes]) -> None:
        if self._paused:
            with contextlib.suppress(ProcessLookupError):
                os.kill(proc.pid, signal.SIGCONT)
            self._paused = False

    def __enter__(self) -> ProxiedBroker:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc: object) -> None:
        self.stop()
