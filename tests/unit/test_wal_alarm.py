"""The retained-WAL warning logs each crossing of slot.retained.wal.warn.bytes once, not each reading."""

from __future__ import annotations

import logging

import pytest

from pgcdc.config import parse_config
from pgcdc.errors import ConfigError
from pgcdc.worker.wal_alarm import RetainedWalAlarm, format_bytes

MB = 1024 * 1024


def test_each_crossing_is_logged_once(caplog: pytest.LogCaptureFixture) -> None:
    alarm = RetainedWalAlarm(connector="c1")
    caplog.set_level(logging.INFO, logger="pgcdc.worker.wal_alarm")
    for retained in (5 * MB, 11 * MB, 12 * MB, None, 13 * MB, 2 * MB, 1 * MB, 20 * MB):
        alarm.update(retained=retained, threshold=10 * MB)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    infos = [r.getMessage() for r in caplog.records if r.levelno == logging.INFO]
    assert len(warnings) == 2, warnings
    assert warnings[0].startswith("connector c1: its replication slot holds 11.0 MiB of WAL, over ")
    assert "slot.retained.wal.warn.bytes=10.0 MiB" in warnings[0]
    assert infos == [
        "connector c1: its replication slot holds 2.0 MiB of WAL, back under "
        "slot.retained.wal.warn.bytes=10.0 MiB"
    ]
    assert alarm.over and alarm.warning(20 * MB) is not None


def test_an_unreadable_slot_keeps_the_verdict_and_zero_turns_it_off() -> None:
    alarm = RetainedWalAlarm(connector="c1")
    alarm.update(retained=11 * MB, threshold=10 * MB)
    alarm.update(retained=None, threshold=10 * MB)
    assert alarm.over
    alarm.update(retained=None, threshold=0)
    assert not alarm.over and alarm.warning(11 * MB) is None


def test_format_bytes() -> None:
    assert [format_bytes(n) for n in (512, 1536, 25 * MB, 3 * 1024 * MB)] == [
        "512 B",
        "1.5 KiB",
        "25.0 MiB",
        "3.0 GiB",
    ]


def test_the_setting_defaults_to_one_gib_and_refuses_negatives() -> None:
    base = {"topic.prefix": "p", "database.user": "u", "database.dbname": "d"}
    assert parse_config(base, env={}).retained_wal_warn_bytes == 1024 * MB
    assert parse_config({**base, "slot.retained.wal.warn.bytes": "0"}, env={}).retained_wal_warn_bytes == 0
    with pytest.raises(ConfigError, match=r"slot\.retained\.wal\.warn\.bytes=-1 is below its minimum of 0"):
        parse_config({**base, "slot.retained.wal.warn.bytes": "-1"}, env={})
