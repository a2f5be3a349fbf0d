"""Run a worker and serve its API until SIGTERM or Ctrl-C, then drain its connectors and leave the group."""

from __future__ import annotations

import logging
import signal
import socket
from dataclasses import dataclass
from types import FrameType

import uvicorn

from pgcdc.api.app import create_app
from pgcdc.api.auth import check_bind
from pgcdc.produce.client import KafkaSettings
from pgcdc.worker.service import Worker
from pgcdc.worker.settings import WorkerSettings, check_group_id

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ServeOptions:
    host: str
    """Address the API binds; anything but loopback needs ``token``."""
    port: int
    token: str | None
    advertised_host: str | None = None
    """How other workers and statuses name this one; the machine's host name when None."""
    standby_poll_s: float = 1.0


def serve(*, kafka: KafkaSettings, group_id: str, options: ServeOptions) -> None:
    check_bind(options.host, options.token)
    host = options.advertised_host or (
        options.host if options.host not in ("0.0.0.0", "::") else socket.gethostname()
    )
    settings = WorkerSettings(
        group_id=check_group_id(group_id),
        kafka=kafka,
        worker_id=f"{host}:{options.port}",
        standby_poll_s=options.standby_poll_s,
    )
    worker = Worker(settings=settings)
    worker.start()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(worker=worker, token=options.token),
            host=options.host,
            port=options.port,
            log_config=None,
            access_log=False,
            lifespan="off",
        )
    )

    def on_signal(signum: int, frame: FrameType | None) -> None:
        # uvicorn handles the signal and hands it on here once it has stopped serving.
        log.info("received %s: draining connectors", signal.Signals(signum).name)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        log.info(
            "worker %s serving the REST API on http://%s:%d", settings.worker_id, options.host, options.port
        )
        server.run()
    finally:
        worker.stop()
