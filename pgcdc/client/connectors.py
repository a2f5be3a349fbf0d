"""``pgcdc connectors``: Heroku's data:connectors commands against a worker's REST API."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from functools import wraps
from typing import Annotated, Any, ParamSpec, TypeVar

import orjson
import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeRemainingColumn

from pgcdc.client.api import ApiClient, ApiError
from pgcdc.client.connector_spec import Update, create_config, generated_name, parse_settings, updated_config
from pgcdc.client.render import connectors_table, info_lines, settings_table, state_of
from pgcdc.client.stores import kafka_cluster_id, resolve_url
from pgcdc.config import mask_secrets
from pgcdc.errors import PgcdcError

app = typer.Typer(
    help="Manage connectors (Heroku's data:connectors). Without a command: list them.\n\n"
    "Example: pgcdc connectors --table",
    invoke_without_command=True,
    no_args_is_help=False,
    add_completion=False,
    pretty_exceptions_enable=False,
)

Url = Annotated[
    str | None, typer.Option("--url", envvar="PGCDC_URL", help="The worker's API.", show_default=False)
]
Name = Annotated[str, typer.Argument(help="The connector's name.")]
P = ParamSpec("P")
R = TypeVar("R")

# Seconds between status polls of ``wait``.
WAIT_POLL_S = 1.0


def one_line_errors(command: Callable[P, R]) -> Callable[P, R]:
    """Any pgcdc error becomes ``pgcdc: error: <message>`` and exit status 1."""

    @wraps(command)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except PgcdcError as err:
            typer.echo(f"pgcdc: error: {err}", err=True)
            raise typer.Exit(1) from None

    return run


def _echo_json(value: Any) -> None:
    typer.echo(orjson.dumps(value, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS).decode())


def _path(name: str) -> str:
    from urllib.parse import quote

    return f"/connectors/{quote(name, safe='')}"


@app.callback()
@one_line_errors
def list_connectors(
    ctx: typer.Context,
    json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    table: Annotated[bool, typer.Option("--table", help="Print one table row per connector.")] = False,
    url: Url = None,
) -> None:
    """List connectors with their status.

    Example: pgcdc connectors --table
    """
    if ctx.invoked_subcommand is not None:
        return
    with ApiClient(url=url) as api:
        expanded = api.get("/connectors", params=[("expand", "status"), ("expand", "info")])
    if json:
        _echo_json(expanded)
        return
    console = Console()
    if table:
        console.print(connectors_table(expanded))
        return
    if not expanded:
        console.print(f"No connectors on {api.url}. Create one with: pgcdc connectors create --help")
    for name in sorted(expanded):
        entry = expanded[name]
        console.print(f"[bold]=== {name}[/bold]")
        for label, value in info_lines(name, entry["info"]["config"], entry["status"])[1:]:
            console.print(f"{label + ':':<18}{value}", highlight=False)
        console.print()


@app.command()
@one_line_errors
def create(
    source: Annotated[
        str, typer.Option(help="PostgreSQL: a postgres:// URL, or the name of a variable that holds one.")
    ],
    table: Annotated[list[str], typer.Option(help="schema.table to capture; repeat for more.")],
    store: Annotated[
        str | None,
        typer.Option(help="Kafka the worker writes to (URL or variable name); checked against the worker's."),
    ] = None,
    exclude_column: Annotated[
        list[str] | None, typer.Option(help="schema.table.column to leave out; repeat for more.")
    ] = None,
    name: Annotated[str | None, typer.Option(help="Connector name; generated when not given.")] = None,
    setting: Annotated[list[str] | None, typer.Option(help="Any connector setting as key=value.")] = None,
    url: Url = None,
) -> None:
    """Create a connector from a PostgreSQL database's tables to topics <name>.<schema>.<table>.

    Example: pgcdc connectors create --source DATABASE_URL --table public.users
    --exclude-column public.users.password --name users_connector
    """
    name = name or generated_name()
    config = create_config(
        name=name,
        source_url=resolve_url(source, what="--source", schemes=("postgres", "postgresql"), env=os.environ),
        tables=table,
        excluded_columns=exclude_column or [],
        settings=parse_settings(setting or []),
    )
    with ApiClient(url=url) as api:
        if store is not None:
            _check_store(api, store)
        api.post("/connectors", json={"name": name, "config": config})
        status = api.get(f"{_path(name)}/status")
    typer.echo(f"Name:   {name}")
    typer.echo(f"Status: {state_of(status)}")
    typer.echo("")
    typer.echo(f"Run pgcdc connectors wait {name} to wait until it is available.")


def _check_store(api: ApiClient, store: str) -> None:
    theirs = api.get("/").get("kafka_cluster_id")
    ours = kafka_cluster_id(resolve_url(store, what="--store", schemes=None, env=os.environ))
    if ours is not None and theirs is not None and ours != theirs:
        raise ApiError(
            f"the worker at {api.url} keeps its connectors in Kafka cluster {theirs}, but --store names "
            f"cluster {ours}: connectors write to their worker's Kafka; "
            "point PGCDC_URL at a worker of that cluster"
        )


@app.command()
@one_line_errors
def info(
    name: Name, json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False, url: Url = None
) -> None:
    """Show a connector: status, lag, tables and their topics, excluded columns, settings (secrets masked).

    Example: pgcdc connectors info users_connector
    """
    with ApiClient(url=url) as api:
        config = api.get(f"{_path(name)}/config")
        status = api.get(f"{_path(name)}/status")
    if json:
        _echo_json({"name": name, "config": config, "status": status})
        return
    console = Console()
    console.print(f"[bold]=== {name}[/bold]")
    for label, value in info_lines(name, config, status)[1:]:
        first, *rest = value.split("\n")
        console.print(f"{label + ':':<18}{first}", highlight=False)
        for line in rest:
            console.print(f"{'':<18}{line}", highlight=False)
    console.print()
    console.print("[bold]Settings[/bold]")
    console.print(settings_table(config))


def _snapshot_progress(pgcdc: dict[str, Any]) -> tuple[int, int | None] | None:
    """(rows scanned, rows expected) when the connector reports a running snapshot; None otherwise."""
    nested = pgcdc.get("snapshot")
    fields = dict(nested) if isinstance(nested, dict) else {}
    fields.update({k.removeprefix("snapshot_"): v for k, v in pgcdc.items() if k.startswith("snapshot_")})
    scanned = fields.get("rows_scanned")
    if not isinstance(scanned, int) or fields.get("completed") is True or fields.get("running") is False:
        return None
    total = next(
        (fields[k] for k in ("rows_total", "total_rows", "rows_expected") if isinstance(fields.get(k), int)),
        None,
    )
    return scanned, total


@app.command()
@one_line_errors
def wait(
    name: Name,
    timeout: Annotated[float, typer.Option(help="Give up after this many seconds; 0 waits for ever.")] = 0,
    url: Url = None,
) -> None:
    """Wait until the connector is available, showing snapshot progress (rows, ETA) while it runs.

    Example: pgcdc connectors wait users_connector
    """
    console = Console(stderr=True)
    deadline = time.monotonic() + timeout if timeout > 0 else None
    columns = (
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed:,.0f}/{task.fields[total_text]} rows"),
        TimeRemainingColumn(),
    )
    shown = ""
    with ApiClient(url=url) as api, Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task(f"{name}: waiting", total=None, total_text="?")
        while True:
            status = api.get(f"{_path(name)}/status")
            pgcdc = status.get("pgcdc") or {}
            state = state_of(status)
            if state == "available":
                break
            if state == "paused" and pgcdc.get("target_state", "PAUSED") == "PAUSED":
                raise ApiError(f"connector {name} is paused: resume it with pgcdc connectors resume {name}")
            if state == "failed" and pgcdc.get("retriable") is False:
                raise ApiError(
                    f"connector {name} failed: {pgcdc.get('reason') or status['connector'].get('trace')}"
                )
            line = state + (f": {pgcdc.get('reason')}" if pgcdc.get("reason") else "")
            if line != shown:
                shown = line
                if not sys.stderr.isatty():
                    console.print(f"{name}: {line}", highlight=False)
            snapshot = _snapshot_progress(pgcdc)
            if snapshot is not None:
                scanned, total = snapshot
                progress.update(
                    task, description=f"{name}: snapshot", completed=scanned, total=total,
                    total_text=f"{total:,}" if total is not None else "?",
                )  # fmt: skip
            else:
                progress.update(task, description=f"{name}: {state}")
            if deadline is not None and time.monotonic() > deadline:
                raise ApiError(f"connector {name} is still {state} after {timeout:.0f} s")
            time.sleep(WAIT_POLL_S)
    typer.echo(f"Connector {name} is available.")


@app.command()
@one_line_errors
def update(
    name: Name,
    setting: Annotated[list[str] | None, typer.Option(help="Set key=value; repeat for more.")] = None,
    add_table: Annotated[list[str] | None, typer.Option(help="Capture schema.table too.")] = None,
    remove_table: Annotated[list[str] | None, typer.Option(help="Stop capturing schema.table.")] = None,
    exclude_column: Annotated[list[str] | None, typer.Option(help="Leave out schema.table.column.")] = None,
    remove_excluded_column: Annotated[
        list[str] | None, typer.Option(help="Capture schema.table.column again.")
    ] = None,
    url: Url = None,
) -> None:
    """Change a connector's tables, excluded columns or settings; it picks up where it was, losing nothing.

    Example: pgcdc connectors update users_connector --add-table public.orders --setting max.queue.size=4096
    """
    change = Update(
        settings=parse_settings(setting or []),
        add_tables=tuple(add_table or ()),
        remove_tables=tuple(remove_table or ()),
        exclude_columns=tuple(exclude_column or ()),
        include_columns=tuple(remove_excluded_column or ()),
    )
    with ApiClient(url=url) as api:
        # The config comes back masked; the worker keeps the stored secret for every masked value sent back.
        config = api.get(f"{_path(name)}/config")
        new = updated_config(config, change)
        if new == config:
            typer.echo(f"Nothing to change on {name}.")
            return
        api.put(f"{_path(name)}/config", json=new)
    typer.echo(f"Updated {name}:")
    for key in sorted(set(config) | set(new)):
        if config.get(key) != new.get(key):
            before, after = (
                mask_secrets({key: config.get(key, "(unset)")}),
                mask_secrets({key: new.get(key, "(unset)")}),
            )
            typer.echo(f"  {key}: {before[key]} -> {after[key]}")


@app.command()
@one_line_errors
def pause(name: Name, url: Url = None) -> None:
    """Pause a connector: its slot keeps every change until it is resumed.

    Example: pgcdc connectors pause users_connector
    """
    with ApiClient(url=url) as api:
        api.put(f"{_path(name)}/pause")
    typer.echo(
        f"Paused {name}. Its replication slot keeps changes (and WAL) until pgcdc connectors resume {name}."
    )


@app.command()
@one_line_errors
def resume(name: Name, url: Url = None) -> None:
    """Resume a paused connector; it delivers every change made meanwhile.

    Example: pgcdc connectors resume users_connector
    """
    with ApiClient(url=url) as api:
        api.put(f"{_path(name)}/resume")
    typer.echo(f"Resumed {name}.")


@app.command()
@one_line_errors
def destroy(
    name: Name,
    confirm: Annotated[
        str | None, typer.Option(help="The connector's name again, to skip the question.")
    ] = None,
    url: Url = None,
) -> None:
    """Destroy a connector: drop its replication slot and publication; its topics are kept.

    Example: pgcdc connectors destroy users_connector --confirm users_connector
    """
    if confirm is None:
        if not sys.stdin.isatty():
            raise ApiError(f"destroying drops the replication slot: pass --confirm {name}")
        confirm = typer.prompt(
            f"This drops {name}'s replication slot and publication. Type its name to confirm"
        )
    if confirm != name:
        raise ApiError(f"--confirm {confirm} does not match {name}: nothing destroyed")
    with ApiClient(url=url) as api:
        result = api.delete(_path(name), params={"details": "true"})
    typer.echo(f"Destroyed {name}.")
    if result is not None:
        if result.get("slot_dropped"):
            typer.echo(f"Dropped replication slot {result['slot']}.")
        if result.get("publication_dropped"):
            typer.echo(f"Dropped publication {result['publication']}.")
        elif result.get("publication"):
            typer.echo(f"Kept publication {result['publication']}: {result.get('publication_kept_because')}.")
        topics = result.get("topics_kept") or []
        if topics:
            typer.echo(
                f"Kept topics (delete them with your Kafka tools when no longer needed): {', '.join(topics)}"
            )
        else:
            typer.echo("It had written no topics.")
        if result.get("problem"):
            raise ApiError(str(result["problem"]))
