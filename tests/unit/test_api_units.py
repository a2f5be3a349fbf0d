"""The control plane's pure parts: record formats, CLI config editing, lag wording, auth rules, API shapes."""

from __future__ import annotations

import random
import re
from pathlib import Path

import orjson
import pytest

from pgcdc.api.auth import check_bind, is_loopback, load_token, token_matches
from pgcdc.api.shapes import connector_status, validate_config
from pgcdc.client.connector_spec import Update, create_config, generated_name, slot_name_for, updated_config
from pgcdc.client.render import format_lag
from pgcdc.errors import ConfigError
from pgcdc.worker.group_state import GroupState
from pgcdc.worker.records import (
    ConnectState,
    TargetState,
    connector_config_record,
    status_key,
    status_value,
    target_state_record,
)
from pgcdc.worker.service import ConnectorSnapshot

NOW = 1_800_000_000_000


def test_group_state_follows_kafka_connect_records_and_tombstones() -> None:
    state = GroupState()
    state.apply_config(*connector_config_record("a", {"topic.prefix": "a"}))
    state.apply_config(*target_state_record("a", TargetState.PAUSED))
    assert state.names() == ["a"] and state.target("a") is TargetState.PAUSED
    assert orjson.loads(target_state_record("a", TargetState.PAUSED)[1] or b"") == {
        "state": "PAUSED",
        "state.v2": "PAUSED",
    }
    state.apply_config(b"connector-a", b"not json")  # unreadable is ignored, never a deletion
    state.apply_config(b"task-a-0", b'{"properties": {}}')  # Kafka Connect's task records are not connectors
    assert state.config("a") == {"topic.prefix": "a"}
    state.apply_config(*connector_config_record("a", None))
    state.apply_config(*target_state_record("a", None))
    assert state.names() == [] and state.target("a") is TargetState.STARTED


def test_status_records_have_kafka_connect_fields_and_a_pgcdc_object() -> None:
    state = GroupState()
    value = status_value(
        state=ConnectState.RUNNING, trace=None, worker_id="h:1", details={"state": "available"}
    )
    state.apply_status(status_key("a"), value)
    state.apply_status(b"status-task-a-0", value)
    assert state.status("a") == {
        "state": "RUNNING",
        "trace": None,
        "worker_id": "h:1",
        "generation": 0,
        "pgcdc": {"state": "available"},
    }


def snapshot(
    status: dict[str, object] | None, target: TargetState = TargetState.STARTED
) -> ConnectorSnapshot:
    return ConnectorSnapshot(name="a", config={}, target=target, status=status, runner=None)


def test_a_status_nobody_renews_becomes_unassigned() -> None:
    fresh = {
        "state": "RUNNING",
        "worker_id": "h:1",
        "pgcdc": {"state": "available", "updated_ms": NOW - 1000},
    }
    stale = {
        "state": "RUNNING",
        "worker_id": "h:1",
        "pgcdc": {"state": "available", "updated_ms": NOW - 60_000},
    }
    assert (
        connector_status(snapshot(fresh), now_ms=NOW, stale_after_ms=15_000)["pgcdc"]["state"] == "available"
    )
    body = connector_status(snapshot(stale), now_ms=NOW, stale_after_ms=15_000)
    assert body["connector"]["state"] == "UNASSIGNED" and body["pgcdc"]["state"] == "unassigned"
    assert "h:1 has not reported for 60 s" in body["pgcdc"]["reason"]
    new = connector_status(snapshot(None), now_ms=NOW, stale_after_ms=15_000)
    assert (new["connector"]["state"], new["pgcdc"]["state"]) == ("UNASSIGNED", "creating")
    paused = connector_status(snapshot(None, TargetState.PAUSED), now_ms=NOW, stale_after_ms=15_000)
    assert paused["connector"]["state"] == "PAUSED"
    assert paused["pgcdc"]["target_state"] == "PAUSED"


def test_a_resumed_connector_shows_its_target_before_its_runner_catches_up() -> None:
    still_paused = {"state": "PAUSED", "worker_id": "h:1", "pgcdc": {"state": "paused", "updated_ms": NOW}}
    body = connector_status(snapshot(still_paused), now_ms=NOW, stale_after_ms=15_000)
    # `pgcdc connectors wait` keeps waiting on this answer and fails only when the target is PAUSED too.
    assert (body["pgcdc"]["state"], body["pgcdc"]["target_state"]) == ("paused", "STARTED")


def test_validate_puts_the_error_on_the_setting_it_names_and_masks_secrets() -> None:
    infos = validate_config(
        "x", {"topic.prefix": "p", "database.url": "postgresql://u:pw@h/d", "max.queue.size": "0"}
    )
    assert infos["error_count"] == 1
    with_errors = [c["value"]["name"] for c in infos["configs"] if c["value"]["errors"]]
    assert with_errors == ["max.queue.size"]
    values = {c["value"]["name"]: c["value"]["value"] for c in infos["configs"]}
    assert values["database.url"] == "********"
    broken_url = validate_config("x", {"topic.prefix": "p", "database.url": "postgres://["})
    assert broken_url["error_count"] == 1  # parse_config's ValueError becomes a setting error, not a 500


def test_create_config_matches_tables_exactly_and_sets_heroku_heartbeats() -> None:
    config = create_config(
        name="Users-1",
        source_url="postgresql://u@h/d",
        tables=["public.users", "sales.order_items"],
        excluded_columns=["public.users.password"],
        settings={"max.queue.size": "10"},
    )
    assert config["table.include.list"] == r"public\.users,sales\.order_items"
    assert config["column.exclude.list"] == r"public\.users\.password"
    assert config["topic.prefix"] == "Users-1" and config["slot.name"] == "users_1"
    assert config["topic.heartbeat.prefix"] == "heartbeat" and config["heartbeat.interval.ms"] == "60000"
    assert config["max.queue.size"] == "10"
    with pytest.raises(ConfigError, match=r"schema\.table"):
        create_config(
            name="n", source_url="postgresql://u@h/d", tables=["users"], excluded_columns=[], settings={}
        )


def test_update_adds_and_removes_tables_and_columns() -> None:
    config = {"table.include.list": r"public\.users", "column.exclude.list": r"public\.users\.password"}
    change = Update(
        settings={"a": "b"},
        add_tables=("public.orders",),
        remove_tables=("public.users",),
        include_columns=("public.users.password",),
    )
    assert updated_config(config, change) == {"table.include.list": r"public\.orders", "a": "b"}
    with pytest.raises(ConfigError, match="without tables"):
        updated_config(config, Update(settings={}, remove_tables=("public.users",)))
    with pytest.raises(ConfigError, match="not in the list"):
        updated_config(config, Update(settings={}, remove_tables=("public.nope",)))


def test_generated_names_and_slot_names() -> None:
    assert re.fullmatch(r"[a-z]+_[a-z]+_\d{5}", generated_name(random.Random(1)))
    assert slot_name_for("Weird Name!") == "weird_name_"


@pytest.mark.parametrize(
    ("retained", "shown"),
    [
        (None, "unknown"),
        (0, "< 1 MB"),
        (1024 * 1024 - 1, "< 1 MB"),
        (12 * 1024 * 1024 + 5, "12 MB"),
        (3 << 29, "1.5 GB"),
    ],
)
def test_lag_is_worded_as_heroku_prints_it(retained: int | None, shown: str) -> None:
    assert format_lag(retained) == shown


def test_a_token_is_required_off_loopback_and_compared_exactly(tmp_path: Path) -> None:
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("example.org")
    check_bind("127.0.0.1", None)
    with pytest.raises(ConfigError, match="needs a token"):
        check_bind("0.0.0.0", None)
    token = "a" * 32
    assert token_matches(f"Bearer {token}", token) and token_matches(f"bearer {token}", token)
    assert not token_matches(None, token) and not token_matches(f"Basic {token}", token)
    assert not token_matches("Bearer " + "a" * 31, token)
    assert load_token(token_file=None, env={}) is None
    assert load_token(token_file=None, env={"PGCDC_API_TOKEN": token}) == token
    path = tmp_path / "token"
    path.write_text(f"{token}\n")
    assert load_token(token_file=path, env={}) == token
    with pytest.raises(ConfigError, match="shorter than 16"):
        load_token(token_file=None, env={"PGCDC_API_TOKEN": "short"})


def test_wait_reads_snapshot_progress_from_whichever_fields_the_connector_reports() -> None:
    from pgcdc.client.connectors import _snapshot_progress

    assert _snapshot_progress({"state": "creating"}) is None
    assert _snapshot_progress({"snapshot": {"rows_scanned": 10, "rows_total": 100}}) == (10, 100)
    assert _snapshot_progress({"snapshot_rows_scanned": 5}) == (5, None)
    assert _snapshot_progress({"snapshot": {"rows_scanned": 100, "completed": True}}) is None
