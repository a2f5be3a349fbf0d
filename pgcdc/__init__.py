"""pgcdc: stream PostgreSQL changes to Kafka as Debezium-compatible events."""

from __future__ import annotations

__version__ = "0.1.0"
