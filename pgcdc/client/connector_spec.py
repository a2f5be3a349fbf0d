"""Connector configs from the CLI's Heroku-style options (--table, --exclude-column, --setting); no I/O."""

from __future__ import annotations

import random
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from pgcdc.config import DEBEZIUM_CONNECTOR_CLASS
from pgcdc.errors import ConfigError

# Heroku's connectors write heartbeats to heartbeat.<name>; once a minute keeps the topic small and still
# shows within a minute that a connector is alive.
HEARTBEAT_INTERVAL_MS = "60000"
HEARTBEAT_PREFIX = "heartbeat"

_ADJECTIVES = (
    "witty", "brave", "calm", "eager", "fancy", "gentle", "happy", "jolly", "kind", "lively",
    "nimble", "proud", "quick", "silly", "sunny", "swift", "tidy", "vivid", "wise", "zesty",
)  # fmt: skip
_NOUNS = ("connector", "stream", "river", "relay", "beacon", "courier", "signal", "ledger", "tide", "pulse")
_TABLE = re.compile(r"[^.\s]+\.[^.\s]+")
_COLUMN = re.compile(r"[^.\s]+\.[^.\s]+\.[^.\s]+")


def generated_name(rng: random.Random | None = None) -> str:
    """A name like Heroku's: ``witty_connector_44833``."""
    rng = rng or random.Random()
    return f"{rng.choice(_ADJECTIVES)}_{rng.choice(_NOUNS)}_{rng.randint(10000, 99999)}"


def slot_name_for(name: str) -> str:
    """A replication slot name (lower-case letters, digits, underscores, at most 63) from a connector name."""
    slug = re.sub(r"[^a-z0-9_]", "_", name.lower())[:63]
    return slug or "pgcdc"


def table_pattern(table: str) -> str:
    """``schema.table`` as an include-list entry that matches exactly that table."""
    if not _TABLE.fullmatch(table):
        raise ConfigError(f"--table {table!r}: write it as schema.table (e.g. public.users)")
    return re.escape(table)


def column_pattern(column: str) -> str:
    if not _COLUMN.fullmatch(column):
        raise ConfigError(
            f"--exclude-column {column!r}: write it as schema.table.column (e.g. public.users.password)"
        )
    return re.escape(column)


def split_list(text: str | None) -> list[str]:
    """Debezium's comma list: commas escaped with a backslash belong to the entry."""
    if not text:
        return []
    return [p.strip().replace("\\,", ",") for p in re.split(r"(?<!\\),", text) if p.strip()]


def unescape(pattern: str) -> str:
    """An exact-match entry back to the name it matches (``public\\.users`` -> ``public.users``)."""
    return re.sub(r"\\(.)", r"\1", pattern)


def parse_settings(items: Iterable[str]) -> dict[str, str]:
    settings = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(
                f"--setting {item!r}: write it as key=value (e.g. --setting max.queue.size=4096)"
            )
        settings[key.strip()] = value
    return settings


def create_config(
    *,
    name: str,
    source_url: str,
    tables: Iterable[str],
    excluded_columns: Iterable[str],
    settings: Mapping[str, str],
) -> dict[str, str]:
    """The config ``connectors create`` posts; ``settings`` override everything else."""
    table_list = [table_pattern(t) for t in tables]
    if not table_list:
        raise ConfigError("give at least one --table schema.table")
    config = {
        "connector.class": DEBEZIUM_CONNECTOR_CLASS,
        "database.url": source_url,
        "topic.prefix": name,
        "slot.name": slot_name_for(name),
        "publication.name": slot_name_for(name),
        "table.include.list": ",".join(table_list),
        "heartbeat.interval.ms": HEARTBEAT_INTERVAL_MS,
        "topic.heartbeat.prefix": HEARTBEAT_PREFIX,
    }
    columns = [column_pattern(c) for c in excluded_columns]
    if columns:
        config["column.exclude.list"] = ",".join(columns)
    config.update(settings)
    return config


@dataclass(frozen=True, slots=True)
class Update:
    """What ``connectors update`` was asked to change."""

    settings: Mapping[str, str]
    add_tables: tuple[str, ...] = ()
    remove_tables: tuple[str, ...] = ()
    exclude_columns: tuple[str, ...] = ()
    include_columns: tuple[str, ...] = ()


def _edit_list(entries: list[str], add: Iterable[str], remove: Iterable[str]) -> list[str]:
    result = list(entries)
    for item in add:
        if item not in result:
            result.append(item)
    for item in remove:
        matches = [e for e in result if e == item or unescape(e) == unescape(item)]
        if not matches:
            raise ConfigError(f"{unescape(item)} is not in the list: nothing to remove")
        result = [e for e in result if e not in matches]
    return result


def updated_config(config: Mapping[str, str], update: Update) -> dict[str, str]:
    """``config`` with the update applied; removing the last table is refused."""
    result = dict(config)
    tables = _edit_list(
        split_list(result.get("table.include.list")),
        [table_pattern(t) for t in update.add_tables],
        [table_pattern(t) for t in update.remove_tables],
    )
    if not tables:
        raise ConfigError("that would leave the connector without tables: destroy it instead")
    result["table.include.list"] = ",".join(tables)
    columns = _edit_list(
        split_list(result.get("column.exclude.list")),
        [column_pattern(c) for c in update.exclude_columns],
        [column_pattern(c) for c in update.include_columns],
    )
    if columns:
        result["column.exclude.list"] = ",".join(columns)
    else:
        result.pop("column.exclude.list", None)
    result.update(update.settings)
    return result
