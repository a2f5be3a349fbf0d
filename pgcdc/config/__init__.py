"""Typed connector settings under Debezium's property names, parsed and validated before anything starts.

The public names are imported from here (``from pgcdc.config import parse_config``); only the modules of this
package import each other directly:

- ``settings``: the table of every setting (key, default, unit, reason) that docs and ``--help-settings`` show;
- ``values``: text -> typed values, each parser naming the key it rejects;
- ``keys``: which keys are known, accepted without effect or refused, and which hold secrets;
- ``database``, ``columns``, ``signals``, ``delivery``: one domain's settings each;
- ``connector``: ConnectorConfig and parse_config, which builds it;
- ``files``: Kafka Connect JSON and .properties files.
"""

from __future__ import annotations

from pgcdc.config.columns import ColumnRule
from pgcdc.config.connector import OPERATIONS, ConnectorConfig, parse_config
from pgcdc.config.database import DatabaseSettings
from pgcdc.config.delivery import ErrorTolerance
from pgcdc.config.files import load_config_file
from pgcdc.config.keys import HEADER_CONVERTER, JSON_CONVERTER, SECRET_KEY, mask_secrets, setting_for
from pgcdc.config.settings import DEBEZIUM_CONNECTOR_CLASS, SETTINGS, Setting
from pgcdc.config.signals import SIGNAL_CHANNELS

__all__ = [
    "DEBEZIUM_CONNECTOR_CLASS",
    "HEADER_CONVERTER",
    "JSON_CONVERTER",
    "OPERATIONS",
    "SECRET_KEY",
    "SETTINGS",
    "SIGNAL_CHANNELS",
    "ColumnRule",
    "ConnectorConfig",
    "DatabaseSettings",
    "ErrorTolerance",
    "Setting",
    "load_config_file",
    "mask_secrets",
    "parse_config",
    "setting_for",
]
