"""``pgcdc demo``: the seed's story in one command: PostgreSQL, a broker, a worker, the users connector and
the two demo apps, until Ctrl-C.

Every part runs as a process of its own, as it would in production, in a session of its own so that the
terminal's Ctrl-C reaches only this process, which then stops the parts in order: the apps, the worker
(which drains and confirms), then the broker and PostgreSQL. The embedded services run under a small helper
process (``python -m pgcdc.sandbox``) that stops them when its stdin closes, so they go with the demo even
when it is killed.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import select
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx
import orjson

from pgcdc.client.api import ApiClient, ApiError
from pgcdc.client.connector_spec import create_config
from pgcdc.errors import PgcdcError

REPO_ROOT = Path(__file__).resolve().parent.parent
"""Where ``demo/`` lives: the apps are not part of the installed package, so the demo runs from a checkout."""
CONNECTOR_NAME = "users_connector"
WORKER_GROUP = "pgcdc-demo"
TABLE = "public.users"
EXCLUDED_COLUMN = "public.users.password"

START_TIMEOUT_S = 120.0
"""Seconds each part may take to come up (PostgreSQL's initdb is the slow one on a busy machine)."""
APP_STOP_S = 10.0
WORKER_STOP_S = 60.0
"""Seconds a worker may take to drain and confirm before it is killed."""


class DemoError(PgcdcError):
    """A part of the demo did not start or died; the message names it and shows the end of its log."""


class _Stopped(Exception):
    """Ctrl-C while starting: leave quietly, stopping what has started."""


@dataclass(frozen=True, slots=True)
class DemoOptions:
    name: str = CONNECTOR_NAME
    users_port: int = 8000
    messages_port: int = 8001
    api_port: int = 8083
    """Ports on 127.0.0.1; 0 takes any free one."""
    once: bool = False
    """Stop as soon as everything has started (a smoke test) instead of waiting for Ctrl-C."""


@dataclass
class _Child:
    name: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def tail(self, lines: int = 25) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:]) or "(empty log)"

    def check(self) -> None:
        if self.process.poll() is not None:
            raise DemoError(
                f"the {self.name} exited with code {self.process.returncode}; "
                f"its log ({self.log_path}) ends:\n{self.tail()}"
            )

    def stop(self, timeout: float) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)


def _die_with_parent() -> None:
    """In the child before exec: get SIGTERM when the demo dies, however it dies (Linux only)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # 1 = PR_SET_PDEATHSIG


def _spawn(
    name: str, args: list[str], *, env: Mapping[str, str], workdir: Path, stdin: int | None = None
) -> _Child:
    log_path = workdir / f"{name.replace(' ', '-')}.log"
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            [sys.executable, *args],
            stdin=subprocess.DEVNULL if stdin is None else stdin,
            stdout=subprocess.PIPE if stdin is not None else log,
            stderr=log,
            env=dict(env),
            cwd=REPO_ROOT,
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )
    return _Child(name=name, process=process, log_path=log_path)


def _wait(condition: Callable[[], bool], *, what: str, stop: threading.Event, child: _Child) -> None:
    """Poll ``condition`` until true; DemoError when ``child`` dies or time runs out, _Stopped on Ctrl-C."""
    deadline = time.monotonic() + START_TIMEOUT_S
    while not condition():
        child.check()
        if stop.wait(0.2):
            raise _Stopped
        if time.monotonic() > deadline:
            raise DemoError(
                f"{what} did not happen within {START_TIMEOUT_S:.0f} s; {child.name} log:\n{child.tail()}"
            )


def _answers(url: str) -> bool:
    with contextlib.suppress(httpx.HTTPError):
        return httpx.get(url, timeout=2).status_code == 200
    return False


def _port(held: ExitStack, requested: int, flag: str) -> int:
    """``requested``, or a free port for 0, kept bound in ``held`` so that the ports picked differ."""
    sock = held.enter_context(socket.socket())
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(("127.0.0.1", requested))
    except OSError:
        raise DemoError(
            f"port {requested} on 127.0.0.1 is taken (another pgcdc demo?); "
            f"pass {flag} with a free port, or 0 for any"
        ) from None
    port: int = sock.getsockname()[1]
    return port


def safe_url(url: str) -> str:
    """The URL without its password, for printing."""
    parts = urlsplit(url)
    if parts.password:
        return urlunsplit(parts._replace(netloc=parts.netloc.replace(f":{parts.password}@", ":********@")))
    return url


@contextlib.contextmanager
def _services(
    env: dict[str, str], workdir: Path, stop: threading.Event, echo: Callable[[str], None]
) -> Iterator[None]:
    """Sets DATABASE_URL and KAFKA_URL in ``env``: the caller's, or embedded ones run by the helper."""
    services = (
        ("--postgres", "DATABASE_URL", "PostgreSQL"),
        ("--broker", "KAFKA_URL", "Kafka broker (Tansu)"),
    )
    wanted = [(flag, what) for flag, variable, what in services if not env.get(variable)]
    if not wanted:
        yield
        return
    echo(f"Starting an embedded {' and an embedded '.join(what for _, what in wanted)}...")
    helper = _spawn(
        "services",
        ["-m", "pgcdc.sandbox", "--workdir", str(workdir), *(flag for flag, _ in wanted)],
        env=env,
        workdir=workdir,
        stdin=subprocess.PIPE,
    )
    try:
        assert helper.process.stdout is not None
        deadline = time.monotonic() + START_TIMEOUT_S
        while not select.select([helper.process.stdout], [], [], 0.2)[0]:
            helper.check()
            if stop.is_set():
                raise _Stopped
            if time.monotonic() > deadline:
                raise DemoError(
                    f"the embedded services did not start within {START_TIMEOUT_S:.0f} s:\n{helper.tail()}"
                )
        line = helper.process.stdout.readline()
        if not line:
            helper.process.wait(10)
            helper.check()
        env.update(orjson.loads(line))
        yield
    finally:
        # Closing stdin is the helper's cue to stop PostgreSQL and the broker.
        if helper.process.stdin:
            helper.process.stdin.close()
        try:
            helper.process.wait(30)
        except subprocess.TimeoutExpired:
            helper.stop(5)


@dataclass
class _Ports:
    users: int
    messages: int
    api: int

    @classmethod
    def check(cls, options: DemoOptions) -> _Ports:
        with ExitStack() as held:
            return cls(
                users=_port(held, options.users_port, "--users-port"),
                messages=_port(held, options.messages_port, "--messages-port"),
                api=_port(held, options.api_port, "--api-port"),
            )


class _Demo:
    """The parts started so far, in order, so that they stop in the reverse order."""

    def __init__(self, *, options: DemoOptions, ports: _Ports, workdir: Path, echo: Callable[[str], None]):
        self.options = options
        self.ports = ports
        self.workdir = workdir
        self.echo = echo
        self.api = f"http://127.0.0.1:{ports.api}"
        self.topic = f"{options.name}.{TABLE}"
        self.env = {**os.environ, "PGCDC_URL": self.api}
        self.env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), self.env.get("PYTHONPATH")]))
        # A connector in someone's own database is dropped at the end: its slot would hold WAL for ever.
        self.external_database = bool(self.env.get("DATABASE_URL"))
        self.children: list[_Child] = []

    def spawn(self, name: str, args: list[str]) -> _Child:
        child = _spawn(name, args, env=self.env, workdir=self.workdir)
        self.children.append(child)
        return child

    def setup_db(self) -> None:
        done = subprocess.run(
            [sys.executable, "-m", "demo.users_app", "setup-db"],
            env=self.env,
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=START_TIMEOUT_S,
            check=False,
        )
        if done.returncode != 0:
            raise DemoError(f"the users app's setup-db failed:\n{(done.stderr or done.stdout).strip()}")
        self.echo(f"  {done.stdout.strip()}")

    def start(self, stop: threading.Event) -> None:
        self.echo(f"  PostgreSQL    {safe_url(self.env['DATABASE_URL'])}")
        self.echo(f"  Kafka         {self.env['KAFKA_URL']}")
        self.setup_db()
        worker_args = ["worker", "--group-id", WORKER_GROUP, "--advertised-host", "127.0.0.1"]
        worker = self.spawn("worker", ["-m", "pgcdc.cli", *worker_args, "--port", str(self.ports.api)])
        _wait(partial(_answers, self.api), what="the worker's API answering", stop=stop, child=worker)
        self.echo(f"  Worker        {self.api}  (group {WORKER_GROUP})")
        name = self.options.name
        _create_connector(self.api, name, self.env["DATABASE_URL"])
        self.echo(f"  Connector     {name}: {TABLE} without {EXCLUDED_COLUMN}; the same as")
        self.echo(f"                pgcdc connectors create --source DATABASE_URL --table {TABLE} \\")
        self.echo(f"                    --exclude-column {EXCLUDED_COLUMN} --name {name}")
        users = self.spawn("users app", ["-m", "demo.users_app", "serve", "--port", str(self.ports.users)])
        messages = self.spawn(
            "message list",
            ["-m", "demo.message_list", "--port", str(self.ports.messages), "--topic", self.topic],
        )
        _wait(
            partial(_connector_available, self.api, name), what=f"{name} streaming", stop=stop, child=worker
        )
        for app, port in ((users, self.ports.users), (messages, self.ports.messages)):
            health = partial(_answers, f"http://127.0.0.1:{port}/healthz")
            _wait(health, what=f"the {app.name} answering", stop=stop, child=app)

    def announce(self) -> None:
        name = self.options.name
        for line in (
            "",
            "Ready:",
            f"  Users app     http://127.0.0.1:{self.ports.users}/users",
            f"  Message list  http://127.0.0.1:{self.ports.messages}/",
            f"  Topic         {self.topic}  (heartbeats: heartbeat.{name})",
            "",
            "Add or delete a user in the users app and watch its change event arrive in the message list.",
            f"Look at the connector: PGCDC_URL={self.api} pgcdc connectors info {name}",
            f"Logs: {self.workdir} (removed on exit). Ctrl-C stops everything.",
        ):
            self.echo(line)

    def watch(self, stop: threading.Event) -> None:
        """Until ``stop``: DemoError as soon as a part dies."""
        while not stop.wait(0.5):
            for child in self.children:
                child.check()

    def stop_all(self) -> None:
        self.echo("Stopping the apps, the worker (it drains and confirms), the broker and PostgreSQL...")
        for child in reversed(self.children):
            if child.name == "worker" and self.external_database and child.process.poll() is None:
                _drop_connector(self.api, self.options.name, self.echo)
            child.stop(WORKER_STOP_S if child.name == "worker" else APP_STOP_S)


def run_demo(*, options: DemoOptions, echo: Callable[[str], None], stop: threading.Event) -> None:
    """Start everything and print where it is; then wait for ``stop`` (Ctrl-C), or return with ``once``."""
    if not (REPO_ROOT / "demo" / "users_app").is_dir():
        raise DemoError(
            f"the demo apps are not in {REPO_ROOT / 'demo'}: "
            "run pgcdc demo from a checkout of pgcdc (scripts/demo)"
        )
    ports = _Ports.check(options)
    with tempfile.TemporaryDirectory(prefix="pgcdc-demo-") as tmp, ExitStack() as stack:
        workdir = Path(tmp)
        workdir.chmod(0o755)  # PostgreSQL runs as an unprivileged user when we are root and must get in
        demo = _Demo(options=options, ports=ports, workdir=workdir, echo=echo)
        try:
            stack.enter_context(_services(demo.env, workdir, stop, echo))
            stack.callback(demo.stop_all)
            demo.start(stop)
            demo.announce()
            if not options.once:
                demo.watch(stop)
        except _Stopped:
            pass


def _create_connector(api: str, name: str, database_url: str) -> None:
    config = create_config(
        name=name, source_url=database_url, tables=[TABLE], excluded_columns=[EXCLUDED_COLUMN], settings={}
    )
    with ApiClient(url=api, env={}) as client:
        # PUT creates the connector, or updates it to this config when a previous demo left it in Kafka.
        client.put(f"/connectors/{name}/config", json=config)


def _connector_available(api: str, name: str) -> bool:
    try:
        with ApiClient(url=api, env={}) as client:
            status = client.get(f"/connectors/{name}/status")
    except ApiError as err:
        if err.status == 404:  # the worker has not read the new config back from Kafka yet
            return False
        raise
    state = status.get("pgcdc", {}).get("state")
    trace = status.get("connector", {}).get("trace") or status.get("pgcdc", {}).get("reason") or ""
    if state == "failed" and "retrying" not in trace:
        raise DemoError(f"connector {name} failed: {trace}")
    return bool(state == "available")


def _drop_connector(api: str, name: str, echo: Callable[[str], None]) -> None:
    """Delete the connector, so the external database keeps no replication slot holding WAL for ever."""
    try:
        with ApiClient(url=api, env={}) as client:
            client.request("DELETE", f"/connectors/{name}")
        echo(
            f"  Deleted connector {name}: its replication slot and publication are dropped, its topics kept."
        )
    except ApiError as err:
        echo(f"  Could not delete connector {name} ({err}); drop its replication slot by hand.")


def _serve_services(argv: list[str]) -> None:
    """The helper: start the embedded services asked for, print their URLs as one JSON line, stop at EOF."""
    import argparse

    from pgcdc.embedded.broker import EmbeddedBroker
    from pgcdc.embedded.postgres import EmbeddedPostgres

    parser = argparse.ArgumentParser(prog="python -m pgcdc.sandbox")
    parser.add_argument("--workdir", type=Path, required=True)
    parser.add_argument("--postgres", action="store_true")
    parser.add_argument("--broker", action="store_true")
    args = parser.parse_args(argv)

    def leave(signum: int, frame: object) -> None:
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, leave)
    try:
        with ExitStack() as stack:
            urls = {}
            if args.postgres:
                urls["DATABASE_URL"] = stack.enter_context(
                    EmbeddedPostgres(data_dir=args.workdir / "postgres")
                ).dsn()
            if args.broker:
                broker = stack.enter_context(EmbeddedBroker(log_path=args.workdir / "tansu.log"))
                urls["KAFKA_URL"] = broker.bootstrap_servers
            sys.stdout.write(orjson.dumps(urls).decode() + "\n")
            sys.stdout.flush()
            sys.stdin.buffer.read()
    except PgcdcError as err:
        # The demo shows the end of this process's log: there the line saying what failed, not a traceback.
        sys.stderr.write(f"pgcdc: error: {err}\n")
        raise SystemExit(1) from None


if __name__ == "__main__":
    _serve_services(sys.argv[1:])
