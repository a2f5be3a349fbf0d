"""The ``pgcdc`` command: parses arguments, builds the objects, runs them. No logic of its own."""

from __future__ import annotations

import gc
import logging
import signal
import threading
from pathlib import Path
from types import FrameType
from typing import Annotated

import typer

from pgcdc import __version__
from pgcdc.client.connectors import app as connectors_app
from pgcdc.client.topics import topics_command
from pgcdc.config import load_config_file, parse_config
from pgcdc.errors import ConfigError, PgcdcError
from pgcdc.heap import keep_freed_memory
from pgcdc.log_setup import setup_logging
from pgcdc.pipeline import Connector
from pgcdc.produce.client import kafka_settings
from pgcdc.worker.command import worker_command
from pgcdc.worker.wal_watch import RetainedWalWatch

app = typer.Typer(
    name="pgcdc",
    help="Stream PostgreSQL changes to Kafka as Debezium-compatible events.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

log = logging.getLogger("pgcdc")


def fail(message: str, *, code: int = 1) -> typer.Exit:
    """One clear line on stderr and a non-zero exit."""
    typer.echo(f"pgcdc: error: {message}", err=True)
    return typer.Exit(code)


def run_until_stopped(connector: Connector) -> None:
    """Run a connector, retrying retriable failures with backoff, until SIGTERM/SIGINT; then drain and return."""

    def on_signal(signum: int, frame: FrameType | None) -> None:
        log.info("received %s: draining", signal.Signals(signum).name)
        connector.stop()

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
    delay = 1.0
    waiter = threading.Event()
    while not connector.stopping:
        streamed_before = connector.status.streams_started
        try:
            connector.run()
            return
        except PgcdcError as err:
            if not err.retriable or connector.stopping:
                raise
            if connector.status.streams_started > streamed_before:
                # It recovered and streamed before failing again: a new blip, not the same outage going on.
                delay = 1.0
            log.warning("%s; retrying in %.0f s", err, delay)
            waiter.wait(delay)
            delay = min(delay * 2, 60.0)


@app.command()
def run(
    config: Annotated[
        Path, typer.Option("--config", "-c", help="Kafka Connect JSON or Debezium .properties file.")
    ],
    kafka: Annotated[
        str | None,
        typer.Option("--kafka", envvar="KAFKA_URL", help="Kafka bootstrap servers or kafka+ssl:// URLs."),
    ] = None,
    log_level: Annotated[str, typer.Option(help="debug, info, warning or error.")] = "info",
) -> None:
    """Run one connector in the foreground until Ctrl-C or SIGTERM, which drain, confirm and exit 0.

    Example: KAFKA_URL=localhost:9092 pgcdc run --config users-connector.json
    """
    setup_logging(log_level)
    try:
        name, raw = load_config_file(str(config))
        if name and "name" not in raw:
            raw["name"] = name
        settings = parse_config(raw)
        connector = Connector(config=settings, kafka=kafka_settings(kafka))
        wal_watch = RetainedWalWatch(
            connector=settings.name,
            conninfo=settings.database.conninfo(),
            slot=settings.slot_name,
            threshold=settings.retained_wal_warn_bytes,
        )
        with wal_watch:
            run_until_stopped(connector)
    except ConfigError as err:
        raise fail(f"invalid configuration: {err}", code=2) from None
    except PgcdcError as err:
        raise fail(str(err)) from None


@app.command()
def demo(
    once: Annotated[
        bool, typer.Option(help="Stop again as soon as everything has started (a smoke test).")
    ] = False,
    name: Annotated[
        str, typer.Option(help="Connector name: topics are <name>.public.users.")
    ] = "users_connector",
    users_port: Annotated[int, typer.Option(help="Port of the users app; 0 for any free one.")] = 8000,
    messages_port: Annotated[int, typer.Option(help="Port of the message list; 0 for any free one.")] = 8001,
    api_port: Annotated[int, typer.Option(help="Port of the worker's REST API; 0 for any free one.")] = 8083,
    log_level: Annotated[str, typer.Option(help="debug, info, warning or error.")] = "warning",
) -> None:
    """Run the whole story: PostgreSQL and a broker (embedded unless DATABASE_URL / KAFKA_URL are set), a
    worker, the users table, the users connector without the password column, the users app and the
    message list. Prints their URLs; Ctrl-C stops everything.

    Example: pgcdc demo
    """
    from pgcdc.sandbox import DemoOptions, run_demo

    setup_logging(log_level)
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    options = DemoOptions(
        name=name, users_port=users_port, messages_port=messages_port, api_port=api_port, once=once
    )
    try:
        run_demo(options=options, echo=typer.echo, stop=stop)
    except PgcdcError as err:
        raise fail(str(err)) from None
    typer.echo("Stopped.")


@app.command()
def version() -> None:
    """Print pgcdc's version."""
    typer.echo(__version__)


# The control plane: its commands live with the worker and the API client.
app.command(name="worker")(worker_command)
app.add_typer(connectors_app, name="connectors")
app.command(name="topics")(topics_command)


def main() -> None:
    keep_freed_memory()
    # What the imports made lives as long as the process: kept out of the collector's full passes, which took
    # about 35 ms each in a streaming `pgcdc run` (every record in flight then waits) and take 3-5 ms without it.
    gc.freeze()
    app()


if __name__ == "__main__":
    main()
