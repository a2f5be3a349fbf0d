"""A stored connector config parsed as the worker does: no environment, every failure a ConfigError."""

from __future__ import annotations

from collections.abc import Mapping

from pgcdc.config import ConnectorConfig, parse_config
from pgcdc.errors import ConfigError


def parse_stored(raw: Mapping[str, str]) -> ConnectorConfig:
    """Configs come from API callers: the worker's own $DATABASE_URL must never fill a gap in them."""
    try:
        return parse_config(raw, env={})
    except ConfigError:
        raise
    except (ValueError, TypeError, OverflowError) as err:
        # parse_config should raise ConfigError for every bad value; until it does, no API call answers 500.
        raise ConfigError(f"invalid configuration: {err}") from err
