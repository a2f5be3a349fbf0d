"""``pgcdc worker``: parses its options, builds the worker and its API, runs them. No logic of its own."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from pgcdc.errors import ConfigError, PgcdcError
from pgcdc.log_setup import setup_logging
from pgcdc.produce.client import kafka_settings


def worker_command(
    group_id: Annotated[
        str,
        typer.Option(
            "--group-id", envvar="PGCDC_GROUP_ID", help="Workers with one group id share connectors."
        ),
    ] = "pgcdc",
    kafka: Annotated[
        str | None,
        typer.Option("--kafka", envvar="KAFKA_URL", help="Kafka bootstrap servers or kafka+ssl:// URLs."),
    ] = None,
    host: Annotated[
        str,
        typer.Option(envvar="PGCDC_API_HOST", help="Address the REST API binds; not loopback needs a token."),
    ] = "127.0.0.1",
    port: Annotated[
        int,
        typer.Option(envvar=["PGCDC_API_PORT", "PORT"], help="Port of the REST API (Kafka Connect's 8083)."),
    ] = 8083,
    api_token_file: Annotated[
        Path | None,
        typer.Option(help="File whose first line is the API's bearer token (else $PGCDC_API_TOKEN)."),
    ] = None,
    advertised_host: Annotated[
        str | None, typer.Option(help="Host name this worker gives in statuses (worker_id host:port).")
    ] = None,
    standby_poll: Annotated[
        float, typer.Option(help="Seconds between a standby's looks at a connector's slot: bounds failover.")
    ] = 1.0,
    log_level: Annotated[str, typer.Option(help="debug, info, warning or error.")] = "info",
) -> None:
    """Run a worker: host the group's connectors and serve Kafka Connect's REST API until SIGTERM.

    All state lives in Kafka (connect-configs-<group>, connect-offsets-<group>, connect-status-<group>);
    start more workers with the same --group-id and KAFKA_URL for failover.

    Example: KAFKA_URL=localhost:9092 pgcdc worker --group-id prod
    """
    from pgcdc.api.auth import load_token
    from pgcdc.api.server import ServeOptions, serve

    setup_logging(log_level)
    try:
        token = load_token(token_file=api_token_file)
        serve(
            kafka=kafka_settings(kafka),
            group_id=group_id,
            options=ServeOptions(
                host=host,
                port=port,
                token=token,
                advertised_host=advertised_host,
                standby_poll_s=standby_poll,
            ),
        )
    except ConfigError as err:
        typer.echo(f"pgcdc: error: {err}", err=True)
        raise typer.Exit(2) from None
    except PgcdcError as err:
        typer.echo(f"pgcdc: error: {err}", err=True)
        raise typer.Exit(1) from None
