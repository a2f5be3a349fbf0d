"""``GET /metrics``: Debezium's streaming and snapshot metrics per connector, WAL lag, Kafka errors.

Streaming and snapshot series come from the worker that runs the connector; WAL retained is measured by
every worker (take ``max by (connector)`` across workers); connector state is the group's, the same on all.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from pgcdc.worker.runner import RunnerView

STATES = ("creating", "available", "paused", "failed", "unassigned")


class WorkerCollector(Collector):
    """Builds every series at scrape time from the worker's runners; keeps no state of its own."""

    def __init__(
        self,
        *,
        views: Callable[[], Mapping[str, RunnerView]],
        states: Callable[[], Mapping[str, str]],
    ) -> None:
        self._views = views
        self._states = states

    def collect(self) -> Iterator[Metric]:
        views = self._views()
        state = GaugeMetricFamily(
            "pgcdc_connector_state",
            "1 for the connector's current state (group-wide).",
            labels=["connector", "state"],
        )
        for name, current in sorted(self._states().items()):
            for candidate in STATES:
                state.add_metric([name, candidate], 1.0 if candidate == current else 0.0)
        yield state
        wal = GaugeMetricFamily(
            "pgcdc_connector_wal_retained_bytes",
            "WAL the connector's slot keeps on the server (pg_current_wal_lsn() - confirmed_flush_lsn).",
            labels=["connector"],
        )
        wal_warn = GaugeMetricFamily(
            "pgcdc_connector_wal_retained_warn_bytes",
            "slot.retained.wal.warn.bytes: retained WAL past which pgcdc warns (0: never).",
            labels=["connector"],
        )
        wal_over = GaugeMetricFamily(
            "pgcdc_connector_wal_retained_over_threshold",
            "1 while the slot's retained WAL is over slot.retained.wal.warn.bytes (alert on it).",
            labels=["connector"],
        )
        failures = CounterMetricFamily(
            "pgcdc_connector_failures",
            "Failed attempts to run the connector on this worker.",
            labels=["connector"],
        )
        kafka_errors = CounterMetricFamily(
            "pgcdc_kafka_delivery_errors",
            "Kafka errors that stopped the connector on this worker (each one is retried).",
            labels=["connector"],
        )
        running = GaugeMetricFamily(
            "pgcdc_connector_running_here", "1 when this worker runs the connector.", labels=["connector"]
        )
        for name, view in sorted(views.items()):
            if view.wal_retained_bytes is not None:
                wal.add_metric([name], float(view.wal_retained_bytes))
                wal_warn.add_metric([name], float(view.wal_warn_bytes))
                wal_over.add_metric([name], 1.0 if view.wal_warning is not None else 0.0)
            failures.add_metric([name], float(view.failures))
            kafka_errors.add_metric([name], float(view.kafka_failures))
            running.add_metric([name], 1.0 if view.role == "running" else 0.0)
        yield wal
        yield wal_warn
        yield wal_over
        yield failures
        yield kafka_errors
        yield running
        yield from _streaming(views)


def _streaming(views: Mapping[str, RunnerView]) -> Iterator[Metric]:
    seen = CounterMetricFamily(
        "pgcdc_streaming_events_seen",
        "Debezium TotalNumberOfEventsSeen: records written since the connector started here, by op.",
        labels=["connector", "op"],
    )
    behind = GaugeMetricFamily(
        "pgcdc_streaming_milliseconds_behind_source",
        "Debezium MilliSecondsBehindSource: how long after its commit the newest event was written.",
        labels=["connector"],
    )
    capacity = GaugeMetricFamily(
        "pgcdc_streaming_queue_total_capacity",
        "Debezium QueueTotalCapacity (max.queue.size).",
        labels=["connector"],
    )
    connected = GaugeMetricFamily(
        "pgcdc_streaming_connected",
        "Debezium Connected: 1 while streaming from the slot.",
        labels=["connector"],
    )
    skipped = CounterMetricFamily(
        "pgcdc_connector_records_skipped",
        "Kafka Connect total-records-skipped: records Kafka refused as too large that errors.tolerance=all "
        "dropped or dead-lettered, since the connector started here.",
        labels=["connector"],
    )
    snapshot: dict[str, GaugeMetricFamily] = {}
    for name, view in sorted(views.items()):
        status = view.status
        if view.role != "running" or status is None:
            continue
        ops = status.get("events_by_op")
        if isinstance(ops, dict):
            for op, count in sorted(ops.items()):
                seen.add_metric([name, str(op)], float(count))
        if view.ms_behind_source is not None:
            behind.add_metric([name], float(view.ms_behind_source))
        if view.max_queue_size is not None:
            capacity.add_metric([name], float(view.max_queue_size))
        connected.add_metric([name], 1.0 if status.get("state") == "available" else 0.0)
        if _is_number(status.get("records_skipped")):
            skipped.add_metric([name], float(status["records_skipped"]))
        for key, value in _snapshot_fields(status):
            family = snapshot.setdefault(
                key,
                GaugeMetricFamily(
                    f"pgcdc_snapshot_{key}", f"Snapshot progress: {key}.", labels=["connector"]
                ),
            )
            family.add_metric([name], value)
    yield seen
    yield behind
    yield capacity
    yield connected
    yield skipped
    yield from snapshot.values()


def _snapshot_fields(status: Mapping[str, Any]) -> Iterator[tuple[str, float]]:
    """Numeric snapshot progress the connector reports, as ``snapshot_*`` fields or a ``snapshot`` dict."""
    for key, value in status.items():
        if key.startswith("snapshot_") and _is_number(value):
            yield _metric_name(key.removeprefix("snapshot_")), float(value)
    nested = status.get("snapshot")
    if isinstance(nested, dict):
        for key, value in nested.items():
            if _is_number(value):
                yield _metric_name(str(key)), float(value)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _metric_name(key: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in key.lower())
