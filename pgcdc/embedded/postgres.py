"""A PostgreSQL server of our own in one directory, started as a child process with logical replication on."""

from __future__ import annotations

import contextlib
import logging
import os
import re
import shutil
import signal
import subprocess
import time
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType, TracebackType
from typing import Any, Literal, Self
from urllib.parse import quote

import psycopg

from pgcdc.embedded.install import EmbeddedPostgresError, default_bin_dir, reachable_copy, run_account
from pgcdc.embedded.ports import free_port

log = logging.getLogger(__name__)

StopMode = Literal["fast", "immediate"]

LOG_NAME = "server.log"

_STOP_SIGNALS = {"fast": signal.SIGINT, "immediate": signal.SIGQUIT}
_NO_SETTINGS: Mapping[str, str] = MappingProxyType({})
_PORT_TAKEN = "Address already in use"


class EmbeddedPostgres:
    """One PostgreSQL cluster in ``data_dir``: initdb on first start, trust auth, user ``postgres``.

    Leaving a ``with`` block stops the server and removes ``data_dir`` with the cluster (see ``cleanup``).
    """

    def __init__(
        self,
        *,
        data_dir: Path,
        port: int | None = None,
        bin_dir: Path | None = None,
        settings: Mapping[str, str] = _NO_SETTINGS,
        fsync: bool = False,
        timeout: float = 60.0,
    ) -> None:
        """``timeout`` is in seconds and bounds each of initdb, start-up and shutdown."""
        self.data_dir = data_dir.absolute()
        self._auto_port = port is None
        self._port = free_port() if port is None else port
        self._bin_dir = bin_dir
        self._settings = dict(settings)
        self._fsync = fsync
        self._timeout = timeout
        self._account = run_account()
        self._proc: subprocess.Popen[bytes] | None = None
        self._version: int | None = None
        self._holds_cluster = False
        """``data_dir`` holds a cluster this object ran or initialised: only then does ``cleanup`` remove it (a
        directory refused as not empty is someone else's)."""

    @property
    def port(self) -> int:
        return self._port

    @property
    def pid(self) -> int | None:
        """The postmaster's process id while it runs."""
        return self._proc.pid if self.running and self._proc else None

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    def log_path(self) -> Path:
        return self.data_dir / LOG_NAME

    @property
    def bin_dir(self) -> Path:
        """Where initdb and postgres come from; found (and made reachable to the run account) on first use."""
        if self._bin_dir is None:
            self._bin_dir = default_bin_dir()
        for tool in ("initdb", "postgres"):
            if not (self._bin_dir / tool).is_file():
                raise EmbeddedPostgresError(
                    f"{tool} not found in {self._bin_dir}; install the PostgreSQL server "
                    "(postgresql-15 via scripts/bootstrap) or pass another bin_dir"
                )
        if self._account and not self._account.can_traverse(self._bin_dir):
            self._bin_dir = reachable_copy(self._bin_dir, self._account)
        return self._bin_dir

    @property
    def version(self) -> int:
        """The server's major version, e.g. 15."""
        if self._version is None:
            out = self._run([str(self.bin_dir / "postgres"), "--version"], what="postgres --version")
            found = re.search(r"\(PostgreSQL\) (\d+)", out)
            if not found:
                raise EmbeddedPostgresError(f"cannot read a version from postgres --version: {out!r}")
            self._version = int(found.group(1))
        return self._version

    def dsn(self, dbname: str = "postgres") -> str:
        """A libpq URL for superuser ``postgres`` over TCP."""
        return f"postgresql://postgres@127.0.0.1:{self._port}/{quote(dbname, safe='')}"

    def start(self) -> None:
        """initdb if ``data_dir`` holds no cluster yet, then start and wait until a connection succeeds."""
        if self.running:
            return
        self._prepare_dir()
        if (self.data_dir / "PG_VERSION").exists():
            self._holds_cluster = True
        else:
            self._initdb()
        attempts = 3 if self._auto_port else 1
        for attempt in range(1, attempts + 1):
            try:
                self._spawn_and_wait()
                return
            except _PortTakenError:
                if attempt == attempts:
                    raise
                self._port = free_port()
            except BaseException:
                # Interrupted (e.g. Ctrl-C) while waiting: leave no server behind.
                self.kill()
                raise

    def stop(self, mode: StopMode = "fast") -> None:
        """Shut down ("fast": roll back, checkpoint; "immediate": no checkpoint, recovery on next start)."""
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(_STOP_SIGNALS[mode])
        try:
            proc.wait(timeout=self._timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            raise EmbeddedPostgresError(
                f"PostgreSQL did not stop ({mode}) in {self._timeout}s and was killed; see {self.log_path}"
            ) from None

    def kill(self) -> None:
        """SIGKILL the postmaster, as a crash would, and wait until its backends have noticed and exited.

        Waiting matters: a new postmaster refuses to start while old backends still hold shared memory.
        """
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        children = _child_pids(proc.pid)
        proc.kill()
        proc.wait()
        deadline = time.monotonic() + self._timeout
        while (alive := [pid for pid in children if _is_alive(pid)]) and time.monotonic() < deadline:
            time.sleep(0.02)
        for pid in alive:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)

    def restart(self, mode: StopMode = "fast") -> None:
        self.stop(mode)
        self.start()

    def cleanup(self) -> None:
        """Stop immediately (the data is going anyway) and remove ``data_dir`` if it holds this object's cluster."""
        try:
            self.stop("immediate")
        finally:
            if self._holds_cluster:
                shutil.rmtree(self.data_dir, ignore_errors=True)

    def log_tail(self, lines: int = 40, *, since: int = 0) -> str:
        """The last lines of the server log written after byte offset ``since``."""
        try:
            with self.log_path.open("rb") as f:
                f.seek(since)
                text = f.read().decode("utf-8", "replace")
        except FileNotFoundError:
            return "(no server log)"
        return "\n".join(text.splitlines()[-lines:])

    def __enter__(self) -> Self:
        try:
            self.start()
        except BaseException:
            # __exit__ does not run when __enter__ fails.
            self.cleanup()
            raise
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.cleanup()

    def _prepare_dir(self) -> None:
        if self._account and not self._account.can_traverse(self.data_dir.parent):
            raise EmbeddedPostgresError(
                f"PostgreSQL runs as {self._account.name} (we are root), which cannot reach {self.data_dir}; "
                "put data_dir under a directory everyone can traverse, e.g. a 0755 /tmp/pgcdc-pg-XXXX"
            )
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if self._account:
            os.chown(self.data_dir, self._account.uid, self._account.gid)
        # PostgreSQL refuses a data directory that group or others can write or read beyond 0750.
        self.data_dir.chmod(0o700)

    def _initdb(self) -> None:
        if any(self.data_dir.iterdir()):
            raise EmbeddedPostgresError(
                f"{self.data_dir} is not empty but holds no cluster (no PG_VERSION); empty it or pick another"
            )
        self._holds_cluster = True  # it was empty: whatever initdb leaves in it is ours
        cmd = [str(self.bin_dir / "initdb"), "-D", str(self.data_dir), "--auth=trust", "-U", "postgres"]
        cmd += ["-E", "UTF8", "--locale=C", "--no-instructions"]
        if not self._fsync:
            cmd.append("--no-sync")
        self._run(cmd, what="initdb")

    def _server_settings(self) -> dict[str, str]:
        settings = {
            "port": str(self._port),
            "listen_addresses": "127.0.0.1",
            "unix_socket_directories": str(self.data_dir),
            "wal_level": "logical",
            "max_replication_slots": "32",
            "max_wal_senders": "32",
            "logging_collector": "off",
            "fsync": "on" if self._fsync else "off",
        }
        settings.update(self._settings)
        return settings

    def _spawn_and_wait(self) -> None:
        cmd = [str(self.bin_dir / "postgres"), "-D", str(self.data_dir)]
        for name, value in self._server_settings().items():
            cmd += ["-c", f"{name}={value}"]
        with self.log_path.open("ab") as log_file:
            if self._account:
                os.chown(self.log_path, self._account.uid, self._account.gid)
            since = log_file.tell()
            proc = subprocess.Popen(
                cmd, stdin=subprocess.DEVNULL, stdout=log_file, stderr=log_file, **self._as_account()
            )
        self._proc = proc
        deadline = time.monotonic() + self._timeout
        last_error: Exception | None = None
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                self._proc = None
                tail = self.log_tail(since=since)
                if _PORT_TAKEN in tail:
                    raise _PortTakenError(f"PostgreSQL could not listen on port {self._port}; log:\n{tail}")
                raise EmbeddedPostgresError(
                    f"PostgreSQL exited with code {proc.returncode} while starting; server log:\n{tail}"
                )
            try:
                if self._answers():
                    return
                last_error = EmbeddedPostgresError(f"another server answers on port {self._port}")
            except psycopg.OperationalError as err:
                last_error = err
            # Pauses between connection attempts, ending early if the server exits.
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=0.05)
        self.stop("immediate")
        raise EmbeddedPostgresError(
            f"PostgreSQL did not accept connections within {self._timeout}s (last error: {last_error}); "
            f"server log:\n{self.log_tail(since=since)}"
        )

    def _answers(self) -> bool:
        """Whether our server (not some other one that took the port) accepts a connection."""
        with psycopg.connect(self.dsn(), connect_timeout=2, autocommit=True) as conn:
            row = conn.execute("SELECT current_setting('data_directory')").fetchone()
        return row is not None and Path(row[0]) == self.data_dir

    def _as_account(self) -> dict[str, Any]:
        # cwd "/" because the run account may not be able to enter our working directory.
        options: dict[str, Any] = {"cwd": "/", "env": _server_env()}
        if self._account:
            options.update(user=self._account.uid, group=self._account.gid, extra_groups=[])
        return options

    def _run(self, cmd: list[str], *, what: str) -> str:
        try:
            done = subprocess.run(
                cmd, capture_output=True, text=True, timeout=self._timeout, check=False, **self._as_account()
            )
        except (OSError, subprocess.TimeoutExpired) as err:
            raise EmbeddedPostgresError(f"{what} could not run ({err}); check {cmd[0]}") from err
        if done.returncode != 0:
            output = "\n".join((done.stdout + done.stderr).splitlines()[-30:])
            raise EmbeddedPostgresError(f"{what} failed with exit code {done.returncode}:\n{output}")
        stdout: str = done.stdout
        return stdout


class _PortTakenError(EmbeddedPostgresError):
    """Someone bound our chosen port between choosing it and the server binding it."""


def _server_env() -> dict[str, str]:
    # PG* variables of the caller (PGDATA, PGPORT, PGOPTIONS...) must not steer our server.
    return {name: value for name, value in os.environ.items() if not name.startswith("PG")}


def _child_pids(parent: int) -> list[int]:
    children = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            # The command name may hold spaces and parentheses, so split after the last ")".
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) == parent:
                children.append(int(entry.name))
    return children


def _is_alive(pid: int) -> bool:
    """True while ``pid`` runs; a zombie (exited, not yet reaped by init) counts as gone."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"
