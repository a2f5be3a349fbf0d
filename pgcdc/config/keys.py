"""Which keys a connector config may hold: known, accepted without effect, refused; and which are secrets."""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping

from pgcdc.config.columns import COLUMN_RULE, column_rule_form
from pgcdc.config.settings import SETTINGS, Setting
from pgcdc.config.values import parse_bool
from pgcdc.errors import ConfigError

JSON_CONVERTER = "org.apache.kafka.connect.json.JsonConverter"
HEADER_CONVERTER = "org.apache.kafka.connect.storage.SimpleHeaderConverter"

_KNOWN = {s.key for s in SETTINGS}

# Kafka Connect's own keys and Debezium keys that change nothing pgcdc writes: accepted so that an existing
# connector config works unchanged.
_ACCEPTED_WITHOUT_EFFECT = re.compile(
    r"tasks\.max|key\.converter|value\.converter|header\.converter"
    r"|(key|value)\.converter\.schemas\.enable|errors\..*|config\.action\.reload"
    r"|topic\.creation\.(groups|default\.(?!partitions$|replication\.factor$)[\w.]+)"
    r"|database\.server\.name|database\.tcpKeepAlive|poll\.interval\.ms|max\.batch\.size"
    r"|include\.schema\.changes|slot\.drop\.on\.stop"
)

# Keys that would change what is written and are not implemented: refusing beats silently differing.
_NOT_SUPPORTED = re.compile(r"transforms(\..*)?|predicates(\..*)?")


def setting_for(key: str) -> Setting | None:
    """The documented setting a key is, including the column rule a key like column.mask.with.8.chars is."""
    for setting in SETTINGS:
        if setting.key == key:
            return setting
    form = column_rule_form(key)
    return next((s for s in SETTINGS if s.key == form), None)


def check_keys(raw: Mapping[str, str]) -> None:
    """Refuses the first key pgcdc does not know or support, naming it (and the known key it is closest to)."""
    for key in raw:
        if key in _KNOWN or _ACCEPTED_WITHOUT_EFFECT.fullmatch(key) or COLUMN_RULE.fullmatch(key):
            continue
        if _NOT_SUPPORTED.fullmatch(key):
            raise ConfigError(f"{key} is not supported by pgcdc yet: remove it from the connector config")
        hint = difflib.get_close_matches(key, _KNOWN, n=1)
        suggestion = f" (did you mean {hint[0]}?)" if hint else ""
        raise ConfigError(f"unknown setting {key}{suggestion}: remove it or fix its name")
    for side in ("key", "value"):
        converter = raw.get(f"{side}.converter")
        if converter is not None and converter != JSON_CONVERTER:
            raise ConfigError(f"{side}.converter={converter}: pgcdc writes {JSON_CONVERTER} records only")
        schemas = raw.get(f"{side}.converter.schemas.enable")
        if schemas is not None and not parse_bool(f"{side}.converter.schemas.enable", schemas):
            raise ConfigError(f"{side}.converter.schemas.enable=false is not supported: pgcdc writes schemas")
    # Every row record has headers (extended.headers.enabled): another converter would write other bytes.
    header = raw.get("header.converter")
    if header is not None and header.strip() != HEADER_CONVERTER:
        raise ConfigError(
            f"header.converter={header}: pgcdc writes headers as {HEADER_CONVERTER} does (Kafka Connect's "
            "default); remove the setting or set it to that"
        )


SECRET_KEY = re.compile(r"(password|secret|token|credential|\.key$|sasl\.jaas\.config|database\.url$)", re.I)


def mask_secrets(raw: Mapping[str, str]) -> dict[str, str]:
    """The settings with every secret value replaced, for APIs, logs and CLI output."""
    masked = {}
    for key, value in raw.items():
        if SECRET_KEY.search(key):
            masked[key] = "********"
        else:
            masked[key] = value
    return masked
