"""Recovery time does not creep up over a process's life: after the connector streams again, the next failure
is retried after the initial delay, not after a delay doubled by every failure since the process started.
"""

from __future__ import annotations

import re
import signal
from pathlib import Path

import psycopg

from tests.chaos.proxy import TcpProxy
from tests.connector_run import connector_settings, pgcdc_process, unique_prefix, wait_until
from tests.fix_services import PgServer

CUTS = 3


def test_each_recovered_failure_is_retried_after_the_initial_delay(
    database: str, pg_server: PgServer, kafka_bootstrap: str, tmp_path: Path
) -> None:
    with psycopg.connect(database, autocommit=True) as conn:
        conn.execute("CREATE TABLE public.items (id int PRIMARY KEY)")
    dbname = database.rsplit("/", 1)[1].split("?")[0]
    log = tmp_path / "c.log"
    with TcpProxy(int(pg_server.params["port"])) as proxy:
        settings = connector_settings(
            f"postgresql://postgres@{proxy.address}/{dbname}",
            unique_prefix(),
            **{"table.include.list": "public.items"},
        )
        process = pgcdc_process(settings, kafka_bootstrap, tmp_path)
        try:
            for cut in range(CUTS + 1):
                wait_until(
                    lambda n=cut: log.read_text().count("streaming public.items") > n,
                    timeout=90,
                    what=f"streaming after {cut} cut(s)",
                )
                if cut < CUTS:
                    proxy.cut()
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(60)
    delays = [int(d) for d in re.findall(r"retrying in (\d+) s", log.read_text())]
    assert len(delays) >= CUTS, log.read_text()[-3000:]
    assert delays == [1] * len(delays), f"retry delays after recovered failures: {delays}"
