"""``pgcdc run`` watches its slot's retained WAL as a worker does: a warning when it crosses
slot.retained.wal.warn.bytes (none while under it), a line when it is back under."""

from __future__ import annotations

import re
import signal
from pathlib import Path

import psycopg

from pgcdc.embedded.broker import EmbeddedBroker
from tests.connector_run import connector_settings, pgcdc_process, unique_prefix, wait_until
from tests.kafka_read import read_topic

THRESHOLD = 300 * 1024
# SlotWatch's debug line for each reading, and the alarm's lines (pgcdc.worker.wal_alarm).
READING = re.compile(r"replication slot \S+: holds (\d+) bytes of WAL")
WARNING = "of WAL, over slot.retained.wal.warn.bytes=300.0 KiB"
BACK_UNDER = "back under slot.retained.wal.warn.bytes=300.0 KiB"


def test_pgcdc_run_warns_once_when_retained_wal_crosses_the_threshold_and_not_below_it(
    database: str, own_broker: EmbeddedBroker, tmp_path: Path
) -> None:
    """With the broker stalled, a captured change stays unacknowledged, so the slot cannot be confirmed past it
    while an uncaptured table churns: the WAL it retains grows, in steps, until it crosses the threshold."""
    with psycopg.connect(database, autocommit=True) as conn:
        conn.execute("CREATE TABLE public.items (id int PRIMARY KEY)")
        conn.execute("CREATE TABLE public.churn (id int PRIMARY KEY, pad text)")
    prefix = unique_prefix()
    settings = connector_settings(
        database,
        prefix,
        **{"table.include.list": "public.items", "slot.retained.wal.warn.bytes": str(THRESHOLD)},
    )
    log = tmp_path / "c.log"
    process = pgcdc_process(
        settings, own_broker.bootstrap_servers, tmp_path, options=["--log-level", "debug"]
    )

    def readings() -> list[int]:
        return [int(found.group(1)) for found in READING.finditer(log.read_text())]

    try:
        wait_until(lambda: "streaming" in log.read_text(), timeout=60, what="streaming")
        with psycopg.connect(database, autocommit=True) as conn:
            conn.execute("INSERT INTO public.items VALUES (1)")
            read_topic(
                own_broker.bootstrap_servers, f"{prefix}.public.items", until=lambda got: len(got) >= 1
            )
            own_broker.pause()
            conn.execute("INSERT INTO public.items VALUES (2)")  # in flight until the broker answers again
            step = 0
            while WARNING not in log.read_text():
                assert process.poll() is None, log.read_text()[-3000:]
                assert step < 100, "the retained WAL never crossed the threshold"
                # About 100 kB of WAL per step, then a reading of it, so some readings fall under the threshold.
                conn.execute(
                    "INSERT INTO public.churn SELECT g, repeat('x', 100) FROM generate_series(%s::int, %s::int) g",
                    (step * 500 + 1, (step + 1) * 500),
                )
                seen = len(readings())
                wait_until(lambda n=seen: len(readings()) > n, timeout=30, what="the next reading")
                step += 1
        own_broker.resume()
        wait_until(lambda: BACK_UNDER in log.read_text(), timeout=60, what="the back-under line")
    finally:
        own_broker.resume()
        process.send_signal(signal.SIGTERM)
        code = process.wait(90)
    text = log.read_text()
    assert code == 0, text[-3000:]
    assert text.count(WARNING) == 1, "the warning should be logged once per crossing"
    # The alarm judges each reading right after SlotWatch logs it: the warning follows the first reading over
    # the threshold, and no reading under it (several, while the WAL grew) was followed by one.
    events: list[int | str] = []
    for line in text.splitlines():
        if found := READING.search(line):
            events.append(int(found.group(1)))
        elif WARNING in line:
            events.append("warning")
        elif BACK_UNDER in line:
            events.append("back under")
    over = [i for i, e in enumerate(events) if isinstance(e, int) and e > THRESHOLD]
    assert over, events
    first_over = over[0]
    under_before = [e for e in events[:first_over] if isinstance(e, int) and e > 0]
    assert len(under_before) >= 2, f"expected several readings under the threshold first: {events}"
    assert "warning" not in events[:first_over], events
    assert events[first_over + 1] == "warning", events
    assert "back under" in events[first_over + 2 :], events
