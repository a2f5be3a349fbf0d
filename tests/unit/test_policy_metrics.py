"""/metrics carries the retained-WAL threshold and verdict, and the records errors.tolerance=all let pass."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, generate_latest

from pgcdc.api.metrics import WorkerCollector
from pgcdc.client.render import info_lines, lag_cell
from pgcdc.worker.runner import RunnerView

MB = 1024 * 1024


def view(role: str, *, warning: str | None, status: dict[str, object] | None = None) -> RunnerView:
    return RunnerView(
        role=role,
        status=status,
        wal_retained_bytes=30 * MB,
        wal_warn_bytes=25 * MB,
        wal_warning=warning,
        ms_behind_source=None,
        failures=0,
        kafka_failures=0,
        max_queue_size=None,
        slot_holder=None,
    )


def scrape(views: dict[str, RunnerView]) -> str:
    registry = CollectorRegistry()
    registry.register(WorkerCollector(views=lambda: views, states=lambda: {}))
    return generate_latest(registry).decode()


def test_the_wal_threshold_and_its_verdict_are_series() -> None:
    text = scrape({"over": view("paused", warning="too much"), "fine": view("paused", warning=None)})
    assert 'pgcdc_connector_wal_retained_warn_bytes{connector="over"} 2.62144e+07' in text
    assert 'pgcdc_connector_wal_retained_over_threshold{connector="over"} 1.0' in text
    assert 'pgcdc_connector_wal_retained_over_threshold{connector="fine"} 0.0' in text


def test_skipped_records_are_counted() -> None:
    text = scrape({"c": view("running", warning=None, status={"state": "available", "records_skipped": 2})})
    assert 'pgcdc_connector_records_skipped_total{connector="c"} 2.0' in text


def test_the_cli_shows_the_warning() -> None:
    status = {"pgcdc": {"state": "paused", "wal_retained_bytes": 30 * MB, "wal_retained_warning": "too much"}}
    assert ("Warning", "too much") in info_lines("c", {}, status)
    assert lag_cell(status["pgcdc"]) == "30 MB (over warning)"
