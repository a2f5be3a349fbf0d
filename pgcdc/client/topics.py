"""``pgcdc topics``: every topic with its messages and traffic, like ``heroku kafka:topics``."""

from __future__ import annotations

from typing import Annotated

import orjson
import typer
from rich.console import Console

from pgcdc.client.api import ApiClient
from pgcdc.client.connectors import Url, one_line_errors
from pgcdc.client.render import topics_table


@one_line_errors
def topics_command(
    json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    url: Url = None,
) -> None:
    """List the Kafka topics with messages, messages/s and bytes/s (sampled over a second or more).

    Example: pgcdc topics
    """
    with ApiClient(url=url) as api:
        body = api.get("/pgcdc/topics")
    if json:
        typer.echo(orjson.dumps(body, option=orjson.OPT_INDENT_2).decode())
        return
    console = Console()
    console.print(f"[bold]=== Kafka topics[/bold] (rates over {body.get('window_s', 0):.1f} s)")
    console.print(topics_table(body))
