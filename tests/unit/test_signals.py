"""Parsing rows of Debezium's signal table into signals; bad ones raise SignalError naming the signal."""

from __future__ import annotations

import json
from typing import Any

import pytest

from pgcdc.config import parse_config
from pgcdc.errors import ConfigError, SignalError
from pgcdc.snapshot.chunks import ChunkSnapshot
from pgcdc.snapshot.progress import PROGRESS_KEY, SnapshotProgress, TableProgress, decode, encode
from pgcdc.snapshot.signals import ExecuteSnapshot, LogSignal, Pause, StopSnapshot, WindowMarker, parse_signal


def row(signal_id: str, kind: str, data: Any) -> dict[str, Any]:
    return {
        "id": signal_id,
        "type": kind,
        "data": data if data is None or isinstance(data, str) else json.dumps(data),
    }


def test_execute_snapshot_with_regexes_and_additional_conditions() -> None:
    parsed = parse_signal(
        row(
            "s1",
            "execute-snapshot",
            {
                "data-collections": ["public.orders", "sales\\..*"],
                "type": "INCREMENTAL",
                "additional-conditions": [{"data-collection": "public.orders", "filter": "id > 10"}],
            },
        )
    )
    assert isinstance(parsed, ExecuteSnapshot)
    assert [p.pattern for p in parsed.collections] == ["public.orders", "sales\\..*"]
    assert parsed.collections[1].fullmatch("sales.items")
    assert [(p.pattern, text) for p, text in parsed.conditions] == [("public.orders", "id > 10")]


def test_other_signals() -> None:
    assert parse_signal(row("c-open", "snapshot-window-open", None)) == WindowMarker("c-open", opens=True)
    assert parse_signal(row("c-close", "snapshot-window-close", "{}")) == WindowMarker("c-close", False, "{}")
    stop = parse_signal(row("s", "stop-snapshot", {"type": "incremental"}))
    assert isinstance(stop, StopSnapshot) and stop.collections == ()
    assert parse_signal(row("p", "pause-snapshot", None)) == Pause("p", resume=False)
    assert parse_signal(row("r", "resume-snapshot", None)) == Pause("r", resume=True)
    assert parse_signal(row("l", "log", {"message": "hello"})) == LogSignal("l", "hello")
    # Debezium reads the columns by position when they are named otherwise
    positional = parse_signal({"signal_id": "x", "kind": "stop-snapshot", "payload": None})
    assert isinstance(positional, StopSnapshot)


@pytest.mark.parametrize(
    ("kind", "data", "message"),
    [
        ("execute-snapshot", "{not json", r"signal 'bad' \(execute-snapshot\) has data that is not JSON"),
        ("execute-snapshot", None, "has no data"),
        ("execute-snapshot", "[1]", "must be a JSON object"),
        ("execute-snapshot", {"type": "incremental"}, "data-collections is missing or empty"),
        ("execute-snapshot", {"data-collections": "public.t"}, "must be a list"),
        ("execute-snapshot", {"data-collections": ["("]}, "not a valid regex"),
        (
            "execute-snapshot",
            {"data-collections": ["public.t"], "type": "blocking"},
            "'blocking' is not provided",
        ),
        ("execute-snapshot", {"data-collections": ["public.t"], "surrogate-key": "k"}, "surrogate-key"),
        (
            "execute-snapshot",
            {"data-collections": ["public.t"], "additional-conditions": [{"filter": "x"}]},
            "needs a data-collection and a filter",
        ),
        ("no-such", "{}", "has type 'no-such', which pgcdc does not know"),
    ],
)
def test_bad_signals_name_themselves(kind: str, data: Any, message: str) -> None:
    with pytest.raises(SignalError, match=message):
        parse_signal(row("bad", kind, data))


SETTINGS = {"database.url": "postgres://u@h/db", "topic.prefix": "p"}


def test_signal_settings() -> None:
    config = parse_config({**SETTINGS, "signal.data.collection": "public.debezium_signal"}, env={})
    assert config.signal_table == ("public", "debezium_signal")
    assert config.incremental_chunk_size == 1024
    assert config.is_signal_table("public", "debezium_signal")
    assert parse_config(SETTINGS, env={}).signal_table is None


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"signal.data.collection": "debezium_signal"}, "is not schema.table"),
        ({"signal.enabled.channels": "source,kafka"}, "kafka is not provided by pgcdc yet"),
        ({"signal.enabled.channels": "carrier-pigeon"}, "unknown carrier-pigeon"),
        ({"incremental.snapshot.chunk.size": "0"}, "below its minimum of 1"),
    ],
)
def test_bad_signal_settings(change: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_config({**SETTINGS, **change}, env={})


def test_progress_round_trips_through_an_open_watermark() -> None:
    progress = SnapshotProgress(
        slot="s",
        signal="sig",
        tables=(
            TableProgress("public", "a", "(id > 1)", ("5", None), ("90", "x")),
            TableProgress("public", "b", None, None, None),
        ),
        rows=12,
        chunks=3,
    )
    data = json.dumps({"openWindowTimestamp": "t", PROGRESS_KEY: encode(progress)})
    assert decode(data) == progress
    assert decode('{"openWindowTimestamp": "2026-01-01T00:00:00Z"}') is None  # Debezium's own watermark
    assert decode("{broken") is None
    assert decode(json.dumps({PROGRESS_KEY: {"slot": "s"}})) is None


def test_chunk_snapshot_sees_what_committed_before_it() -> None:
    snapshot = ChunkSnapshot.parse("100:110:103,107")
    assert snapshot.sees(99) and snapshot.sees(100) and snapshot.sees(105)
    assert not snapshot.sees(103) and not snapshot.sees(107)
    assert not snapshot.sees(110) and not snapshot.sees(5000)
    # 64-bit ids past a wraparound compare as the 32-bit ids pgoutput sends
    wrapped = ChunkSnapshot.parse(f"{(1 << 32) - 5}:{(1 << 32) + 3}:{(1 << 32) + 1}")
    assert wrapped.sees((1 << 32) - 10 & 0xFFFFFFFF) and wrapped.sees(0) and wrapped.sees(2)
    assert not wrapped.sees(1) and not wrapped.sees(3) and not wrapped.sees(10)
