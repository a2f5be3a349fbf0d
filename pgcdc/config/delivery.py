"""Delivery: errors.* for records Kafka refuses, exactly-once (Kafka transactions) and its commit points."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypedDict

from pgcdc.config.values import parse_bool, parse_choice, parse_int
from pgcdc.errors import ConfigError


@dataclass(frozen=True, slots=True)
class ErrorTolerance:
    """Kafka Connect's ``errors.*`` as pgcdc applies them: to records Kafka refuses as too large."""

    tolerate: bool
    """errors.tolerance=all: log and drop (or dead-letter) such a record instead of stopping."""
    dead_letter_topic: str | None
    context_headers: bool


class ExactlyOnceFields(TypedDict):
    """ConnectorConfig's exactly-once fields, as parse_exactly_once reads them."""

    exactly_once: bool
    transaction_boundary: str
    transaction_interval_ms: int


def parse_error_tolerance(get: Callable[[str], str]) -> ErrorTolerance:
    tolerance = parse_choice("errors.tolerance", get("errors.tolerance"), ("none", "all"))
    topic = get("errors.deadletterqueue.topic.name").strip() or None
    if topic is not None and not re.fullmatch(r"[A-Za-z0-9._-]{1,249}", topic):
        raise ConfigError(
            f"errors.deadletterqueue.topic.name={topic!r}: a topic name is 1-249 letters, digits, '.', '_', '-'"
        )
    return ErrorTolerance(
        tolerate=tolerance == "all",
        dead_letter_topic=topic,
        context_headers=parse_bool(
            "errors.deadletterqueue.context.headers.enable",
            get("errors.deadletterqueue.context.headers.enable"),
        ),
    )


def parse_exactly_once(get: Callable[[str], str], *, signals: bool) -> ExactlyOnceFields:
    """exactly.once.support and the transaction.boundary settings that only mean something with it."""
    support = parse_choice(
        "exactly.once.support", get("exactly.once.support").lower(), ("requested", "required")
    )
    if support == "required" and signals:
        # An incremental snapshot keeps its progress by holding the slot's position back and meeting its
        # signal again after a restart; resuming from Kafka's offset would skip that signal.
        raise ConfigError(
            "exactly.once.support=required does not support incremental snapshots (signal.data.collection) "
            "yet: remove one of them"
        )
    boundary = parse_choice(
        "transaction.boundary", get("transaction.boundary").lower(), ("poll", "interval", "connector")
    )
    if boundary == "connector":
        raise ConfigError(
            "transaction.boundary=connector: Debezium's PostgreSQL connector does not define transaction "
            "boundaries; use poll or interval"
        )
    interval = parse_int(
        "transaction.boundary.interval.ms", get("transaction.boundary.interval.ms"), minimum=1
    )
    return {
        "exactly_once": support == "required",
        "transaction_boundary": boundary,
        "transaction_interval_ms": interval,
    }
