"""pgcdc: stream PostgreSQL changes to Kafka as Debezium-compatible events."""

from __future__ import annotations

from pgcdc.hot_path import prefer_sources

__version__ = "0.1.0"

prefer_sources()
