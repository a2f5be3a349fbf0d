"""The short chaos run of the default suite: every kind of fault once, under load, then the full verification.

The long run (``python -m bench.chaos``) draws the same faults at random many more times and writes
docs/reliability.md.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from pgcdc.embedded.postgres import EmbeddedPostgres
from tests.chaos.harness import ChaosOptions, ChaosRun

# Every fault a worker group can meet, once each; the broker stall is short so the run stays under 2 minutes.
SHORT = ChaosOptions(
    transactions=4000,
    faults=7,
    host="workers",
    rate=200,
    stall_s=5,
    refuse_s=2,
    gap_s=(0.5, 2.0),
    large_rows=3000,
    seed=11,
    recover_timeout_s=90,
)


def test_no_committed_change_is_lost_under_every_fault(
    own_postgres: EmbeddedPostgres, tmp_path: Path
) -> None:
    report = ChaosRun(SHORT, pg=own_postgres, workdir=tmp_path).run()
    verdict = report.verdict
    kinds = {fault.kind for fault in report.faults}
    print(f"\n{verdict}")
    for kind, (count, median, worst, duplicates) in report.by_kind().items():
        print(
            f"{kind:22s} x{count} recovery median {median:.2f} s, max {worst:.2f} s, {duplicates} duplicates"
        )
    assert kinds == {
        "kill9-worker",
        "restart-worker",
        "pg-fast-restart",
        "pg-immediate-restart",
        "broker-stall",
        "cut-postgres",
        "cut-kafka",
    }
    assert report.transactions >= SHORT.transactions * 0.9
    assert report.rolled_back > 0 and report.large_rows == SHORT.large_rows
    assert verdict.missing == 0, verdict.examples
    assert verdict.rolled_back == 0, verdict.examples
    assert verdict.unexpected == 0, verdict.examples
    assert verdict.order_violations == 0, verdict.examples
    assert verdict.stale_final == 0, verdict.examples
    assert report.unattributed_duplicates == 0, "duplicates before any fault"


@pytest.mark.slow
def test_exactly_once_writes_each_change_once_under_every_fault(
    own_postgres: EmbeddedPostgres, tmp_path: Path
) -> None:
    """The same faults with exactly.once.support=required: nothing lost from the log, and nothing twice for a
    read_committed consumer of Kafka (the verifier leaves out aborted transactions, which Tansu shows). A change
    whose only copy is in an aborted transaction is printed, not failed: Tansu shows pgcdc that transaction's
    offset record too, where Kafka would hide it and pgcdc would write the change again (docs/reliability.md)."""
    report = ChaosRun(dataclasses.replace(SHORT, exactly_once=True), pg=own_postgres, workdir=tmp_path).run()
    verdict = report.verdict
    print(f"\n{verdict}")
    for kind, (count, median, worst, duplicates) in report.by_kind().items():
        print(
            f"{kind:22s} x{count} recovery median {median:.2f} s, max {worst:.2f} s, {duplicates} duplicates"
        )
    print(
        f"{verdict.aborted} aborted record(s); {verdict.aborted_only} change(s) only in aborted transactions"
    )
    assert len(report.faults) == SHORT.faults
    assert report.transactions >= SHORT.transactions * 0.9
    assert verdict.missing == 0, verdict.examples
    assert verdict.rolled_back == 0, verdict.examples
    assert verdict.unexpected == 0, verdict.examples
    assert verdict.order_violations == 0, verdict.examples
    assert verdict.stale_final == 0, verdict.examples
    assert verdict.duplicates == 0, verdict.examples
