"""exactly.once.support: its settings, the stored offset's format, and when a Kafka transaction commits."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from pgcdc.ack.committer import IDLE_OFFSET_STEP_BYTES, POLL_BATCH_FRAMES, OffsetCommitter
from pgcdc.ack.offsets import SourceOffset, offset_key
from pgcdc.config import parse_config
from pgcdc.errors import ConfigError, ProducerFencedError, SinkError
from pgcdc.lsn import Lsn
from pgcdc.produce.client import kafka_settings
from pgcdc.produce.producer import producer_config

BASE = {
    "database.url": "postgresql://cdc@db/app",
    "topic.prefix": "demo",
}


def test_exactly_once_is_off_by_default_and_on_with_required() -> None:
    assert parse_config(BASE, env={}).exactly_once is False
    config = parse_config({**BASE, "exactly.once.support": "REQUIRED"}, env={})
    assert (config.exactly_once, config.transaction_boundary) == (True, "poll")
    assert parse_config({**BASE, "exactly.once.support": "requested"}, env={}).exactly_once is False


def test_interval_boundary_takes_its_interval() -> None:
    config = parse_config(
        {
            **BASE,
            "exactly.once.support": "required",
            "transaction.boundary": "interval",
            "transaction.boundary.interval.ms": "250",
        },
        env={},
    )
    assert (config.transaction_boundary, config.transaction_interval_ms) == ("interval", 250)


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("exactly.once.support", "enabled", r"exactly\.once\.support.*requested, required"),
        ("transaction.boundary", "connector", "does not define transaction boundaries; use poll or interval"),
        ("transaction.boundary", "per-record", r"transaction\.boundary"),
        ("transaction.boundary.interval.ms", "0", r"transaction\.boundary\.interval\.ms"),
        ("transaction.boundary.interval.ms", "soon", r"transaction\.boundary\.interval\.ms"),
    ],
)
def test_bad_exactly_once_settings_name_the_key(key: str, value: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_config({**BASE, "exactly.once.support": "required", key: value}, env={})


def test_incremental_snapshots_are_refused_with_exactly_once() -> None:
    settings = {
        **BASE,
        "exactly.once.support": "required",
        "signal.data.collection": "public.debezium_signal",
    }
    with pytest.raises(ConfigError, match="does not support incremental snapshots"):
        parse_config(settings, env={})


def test_transactional_producer_keeps_the_guarantees_and_bounds_delivery_by_the_transaction() -> None:
    kafka = kafka_settings("localhost:9092", env={"PGCDC_KAFKA_ENABLE_IDEMPOTENCE": "false"})
    plain = producer_config(kafka, max_queue_bytes=1 << 20)
    assert "transactional.id" not in plain and plain["message.timeout.ms"] == 0
    config = producer_config(kafka, max_queue_bytes=1 << 20, transactional_id="g-c-0")
    assert config["transactional.id"] == "g-c-0"
    assert config["enable.idempotence"] is True and config["acks"] == "all"
    # librdkafka refuses an infinite delivery timeout in a transactional producer.
    assert config["message.timeout.ms"] == config["transaction.timeout.ms"] == 900_000


def test_offset_is_debeziums_partition_and_value() -> None:
    assert orjson.loads(offset_key("inventory", "demo")) == ["inventory", {"server": "demo"}]
    offset = SourceOffset(lsn=Lsn(0x1A29EF8), tx_id=771, ts_usec=1_700_000_000_000_000)
    assert orjson.loads(offset.value()) == {
        "lsn": 0x1A29EF8,
        "lsn_commit": 0x1A29EF8,
        "txId": 771,
        "ts_usec": 1_700_000_000_000_000,
    }
    assert SourceOffset.parse(offset.value()) == offset


@pytest.mark.parametrize("value", [None, b"", b"not json", b"[]", b'{"lsn": "0/1"}', b'{"lsn": 0}'])
def test_an_offset_without_a_position_is_none(value: bytes | None) -> None:
    assert SourceOffset.parse(value) is None


class FakeTransactions:
    """KafkaTransactions' surface, recording commits."""

    def __init__(self, *, fail_with: Exception | None = None) -> None:
        self.open = False
        self.commits: list[Any] = []
        self.aborts = 0
        self._fail_with = fail_with

    def begin(self) -> None:
        self.open = True

    def commit(self, record: Any, *, delivered: Any) -> None:
        delivered()
        if self._fail_with is not None:
            self.abort()
            raise self._fail_with
        self.commits.append(record)
        self.open = False

    def abort(self) -> None:
        self.open = False
        self.aborts += 1


def committer(transactions: FakeTransactions, **kwargs: Any) -> OffsetCommitter:
    options: dict[str, Any] = {"boundary": "poll", "interval_s": 60.0, "stored": None, **kwargs}
    return OffsetCommitter(
        transactions=transactions,  # type: ignore[arg-type]
        offsets_topic="connect-offsets-g",
        key=b"k",
        **options,
    )


def test_poll_boundary_commits_when_the_stream_pauses_or_after_a_batch() -> None:
    transactions = FakeTransactions()
    commits = committer(transactions)
    assert not commits.due(stream_idle=True)  # nothing open, nothing to commit
    transactions.begin()
    commits.frame()
    assert not commits.due(stream_idle=False)
    assert commits.due(stream_idle=True)
    for _ in range(POLL_BATCH_FRAMES):
        commits.frame()
    assert commits.due(stream_idle=False)
    commits.commit(SourceOffset(lsn=Lsn(500), tx_id=3))
    assert transactions.commits == [("connect-offsets-g", b"k", SourceOffset(Lsn(500), 3).value())]
    assert commits.confirmable == 500
    assert not commits.due(stream_idle=True)


def test_interval_boundary_waits_for_the_interval() -> None:
    transactions = FakeTransactions()
    commits = committer(transactions, boundary="interval", interval_s=3600.0)
    transactions.begin()
    commits.frame()
    assert not commits.due(stream_idle=True)
    assert committer(FakeTransactions(), boundary="interval", interval_s=0.0).due(stream_idle=True) is False
    quick_transactions = FakeTransactions()
    quick = committer(quick_transactions, boundary="interval", interval_s=0.0)
    quick_transactions.begin()
    assert quick.due(stream_idle=False)


def test_the_offset_never_moves_back_and_heartbeats_alone_keep_it() -> None:
    transactions = FakeTransactions()
    commits = committer(transactions, stored=SourceOffset(lsn=Lsn(900)))
    assert commits.confirmable == 900
    transactions.begin()
    commits.commit(SourceOffset(lsn=Lsn(800)))
    transactions.begin()
    commits.commit(None)
    assert [SourceOffset.parse(r[2]) for r in transactions.commits] == [SourceOffset(lsn=Lsn(900))] * 2
    fresh = FakeTransactions()
    nothing_yet = committer(fresh)
    fresh.begin()
    nothing_yet.commit(None)
    assert fresh.commits == [None] and nothing_yet.confirmable == 0


@pytest.mark.parametrize("error", [SinkError("aborted by the broker"), ProducerFencedError("fenced")])
def test_a_failed_commit_keeps_the_committed_offset(error: SinkError) -> None:
    transactions = FakeTransactions(fail_with=error)
    commits = committer(transactions, stored=SourceOffset(lsn=Lsn(100)))
    transactions.begin()
    with pytest.raises(SinkError):
        commits.commit(SourceOffset(lsn=Lsn(200)))
    assert commits.confirmable == 100 and transactions.aborts == 1 and not commits.open


def test_idle_the_offset_moves_alone_once_the_position_is_a_step_past_it() -> None:
    transactions = FakeTransactions()
    stored = SourceOffset(lsn=Lsn(1000), tx_id=7, ts_usec=42)
    commits = committer(transactions, stored=stored)
    commits.caught_up(Lsn(1000 + IDLE_OFFSET_STEP_BYTES - 1))
    assert transactions.commits == []  # not a transaction per keepalive
    transactions.begin()
    commits.caught_up(Lsn(1000 + IDLE_OFFSET_STEP_BYTES))
    assert transactions.commits == [], (
        "an open transaction commits at its boundary, with the builder's offset"
    )
    transactions.abort()
    commits.caught_up(Lsn(1000 + IDLE_OFFSET_STEP_BYTES))
    moved = SourceOffset(lsn=Lsn(1000 + IDLE_OFFSET_STEP_BYTES), tx_id=7, ts_usec=42)
    assert transactions.commits == [("connect-offsets-g", b"k", moved.value())]
    assert orjson.loads(moved.value())["lsn_commit"] == moved.lsn
    assert commits.confirmable == moved.lsn and not commits.open


def test_a_stream_busy_with_changes_not_captured_moves_the_offset_without_falling_idle() -> None:
    """Transactions of tables not captured end one after another with nothing open: the offset moves once a
    step past the committed one, as when idle (CI saw a slot keep 171 MB while the stream never paused)."""
    transactions = FakeTransactions()
    commits = committer(transactions, stored=SourceOffset(lsn=Lsn(1000), tx_id=7, ts_usec=42))
    ends = [Lsn(1000 + step * IDLE_OFFSET_STEP_BYTES // 4) for step in range(1, 6)]
    for end in ends:
        commits.transaction_ended(SourceOffset(lsn=end, tx_id=8, ts_usec=43))
    assert [SourceOffset.parse(r[2]).lsn for r in transactions.commits] == [ends[3]]
    assert commits.confirmable == ends[3]


def test_a_transaction_ending_inside_an_open_one_commits_only_when_due() -> None:
    transactions = FakeTransactions()
    commits = committer(transactions, stored=SourceOffset(lsn=Lsn(1000)))
    transactions.begin()
    commits.frame()
    far = SourceOffset(lsn=Lsn(1000 + 2 * IDLE_OFFSET_STEP_BYTES), tx_id=9)
    commits.transaction_ended(far)
    assert transactions.commits == [] and commits.open, "a poll boundary commits after a batch or a pause"
    for _ in range(POLL_BATCH_FRAMES):
        commits.frame()
    commits.transaction_ended(far)
    assert transactions.commits == [("connect-offsets-g", b"k", far.value())]
