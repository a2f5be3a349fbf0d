"""The docs name every command and option of `pgcdc connectors`, `pgcdc topics` and `pgcdc worker`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer.main

from pgcdc.cli import app

DOCS = Path(__file__).resolve().parents[2] / "docs"


def _options(command: Any) -> list[str]:
    return [
        opt
        for param in command.params
        if param.param_type_name == "option"
        for opt in param.opts
        if opt.startswith("--") and opt not in ("--help", "--url")
    ]


def _commands() -> Any:
    return typer.main.get_command(app).commands  # type: ignore[attr-defined]


def test_every_connectors_command_and_option_is_in_docs_cli() -> None:
    text = (DOCS / "cli.md").read_text()
    connectors = _commands()["connectors"]
    for option in _options(connectors):
        assert option in text, f"pgcdc connectors {option} is not in docs/cli.md"
    assert connectors.commands
    for name, command in connectors.commands.items():
        assert f"pgcdc connectors {name}" in text, f"pgcdc connectors {name} is not in docs/cli.md"
        for option in _options(command):
            assert option in text, f"pgcdc connectors {name} {option} is not in docs/cli.md"
    assert "pgcdc topics" in text
    for option in _options(_commands()["topics"]):
        assert option in text


def test_every_worker_option_is_in_docs_rest_api() -> None:
    text = (DOCS / "rest-api.md").read_text()
    options = _options(_commands()["worker"])
    assert "--group-id" in options
    for option in options:
        assert f"`{option}`" in text, f"pgcdc worker {option} is not in docs/rest-api.md"
