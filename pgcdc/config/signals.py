"""Signals: the signal table that starts and stops incremental snapshots, and the channels signals come from."""

from __future__ import annotations

from pgcdc.config.values import split_list
from pgcdc.errors import ConfigError

SIGNAL_CHANNELS = ("source", "kafka", "file", "jmx")


def parse_signal_table(collection: str | None, channels_text: str) -> tuple[str, str] | None:
    """The signal table, when signals are read from it; refuses channels pgcdc does not provide."""
    channels = {c.lower() for c in split_list(channels_text)}
    unknown = channels - set(SIGNAL_CHANNELS)
    if unknown:
        raise ConfigError(
            f"signal.enabled.channels: unknown {', '.join(sorted(unknown))}; Debezium's channels are "
            f"{', '.join(SIGNAL_CHANNELS)}"
        )
    missing = sorted(channels - {"source"})
    if missing:
        raise ConfigError(
            f"signal.enabled.channels: {', '.join(missing)} is not provided by pgcdc yet: use source (the "
            "signal table named by signal.data.collection)"
        )
    if not collection or "source" not in channels:
        return None
    schema, dot, table = collection.strip().partition(".")
    if not dot or not schema or not table or "." in table:
        raise ConfigError(
            f"signal.data.collection={collection!r} is not schema.table (example: public.debezium_signal)"
        )
    return schema, table
