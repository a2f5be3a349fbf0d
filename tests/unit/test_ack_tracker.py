"""The safe position only moves past transactions Kafka fully acknowledged, in commit order."""

from __future__ import annotations

import pytest

from pgcdc.ack.tracker import AckTracker
from pgcdc.errors import SinkError
from pgcdc.lsn import Lsn


def test_out_of_order_deliveries_hold_the_position_at_the_oldest_gap() -> None:
    tracker = AckTracker()
    first, second = tracker.begin(), tracker.begin()
    first.sent()
    first.sent()
    second.sent()
    tracker.commit(first, Lsn(100))
    tracker.commit(second, Lsn(200))
    second.delivered(None, None)
    assert tracker.safe_lsn() == 0
    first.delivered(None, None)
    assert tracker.safe_lsn() == 0
    first.delivered(None, None)
    assert tracker.safe_lsn() == 200
    assert tracker.idle


def test_uncommitted_transaction_is_never_safe_even_when_delivered() -> None:
    tracker = AckTracker()
    open_tx = tracker.begin()
    open_tx.sent()
    open_tx.delivered(None, None)
    assert tracker.safe_lsn() == 0
    assert not tracker.idle
    tracker.commit(open_tx, Lsn(300))
    assert tracker.safe_lsn() == 300


def test_transaction_without_events_is_safe_at_commit() -> None:
    tracker = AckTracker()
    tracker.commit(tracker.begin(), Lsn(50))
    assert tracker.safe_lsn() == 50


def test_failed_delivery_stops_confirmation() -> None:
    class FakeMessage:
        def topic(self) -> str:
            return "demo.public.users"

    tracker = AckTracker()
    tx = tracker.begin()
    tx.sent()
    tracker.commit(tx, Lsn(10))
    tx.delivered("broker said no", FakeMessage())
    with pytest.raises(SinkError, match=r"demo\.public\.users.*broker said no"):
        tracker.safe_lsn()
