"""Connector config files: Kafka Connect's JSON (as posted to its REST API) or a .properties file."""

from __future__ import annotations

import re
from collections.abc import Callable

import orjson

from pgcdc.errors import ConfigError


def load_config_file(path: str) -> tuple[str | None, dict[str, str]]:
    """Read Kafka Connect's JSON (``{"name", "config"}`` or a flat object) or a ``.properties`` file."""
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as err:
        raise ConfigError(f"cannot read config file {path}: {err.strerror}") from None
    text = data.decode("utf-8", errors="replace")
    if text.lstrip().startswith("{"):
        try:
            document = orjson.loads(data)
        except orjson.JSONDecodeError as err:
            raise ConfigError(f"{path} is not valid JSON: {err}") from None
        if not isinstance(document, dict):
            raise ConfigError(f"{path}: expected a JSON object")
        config = document.get("config", document)
        if not isinstance(config, dict):
            raise ConfigError(f'{path}: "config" must be an object of settings')
        name = document.get("name") if "config" in document else config.get("name")
        return (str(name) if name else None), {str(k): v for k, v in config.items()}
    return None, _parse_properties(text)


_PROPERTY_LINE: Callable[[str], re.Match[str] | None] = re.compile(r"\s*([^=:\s]+)\s*[=:]\s*(.*)").match


def _parse_properties(text: str) -> dict[str, str]:
    settings: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith(("#", "!")):
            continue
        match = _PROPERTY_LINE(line)
        if match is None:
            raise ConfigError(f"line {number} is not key=value: {stripped[:60]!r}")
        settings[match.group(1)] = match.group(2).strip()
    return settings
