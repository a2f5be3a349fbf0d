"""The parent's side of a parallel snapshot: start the worker processes, hand out chunks, gather their results.

Workers produce their chunks' rows themselves; what comes back is progress and each chunk's last row, which the
parent writes after every worker's records were acknowledged (see ``SnapshotReader``). Buffers stay bounded: the
task queue holds at most the snapshot's chunks (a number the settings bound), results are small and come at most
once per ``snapshot.fetch.size`` rows, and each producer's queue is bounded in bytes.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import queue
import signal
import threading
from collections.abc import Callable, Sequence
from multiprocessing.process import BaseProcess
from typing import Any

from pgcdc.errors import SinkError, SourceError
from pgcdc.snapshot.copy import RawRow
from pgcdc.snapshot.pages import Chunk
from pgcdc.snapshot.worker import WorkerJob, run_worker

log = logging.getLogger(__name__)

# How often the parent wakes while waiting for workers: to notice a stop, a dead worker, and serve its own
# producer's delivery reports.
WAKE_S = 0.1
# Seconds a worker gets to exit after being told to stop before it is killed.
STOP_GRACE_S = 5.0


class ParallelCopy:
    """Copies ``chunks`` with ``workers`` processes; ``run`` returns each chunk's last row, or None if stopped."""

    def __init__(
        self,
        *,
        job: WorkerJob,
        workers: int,
        stop: threading.Event,
        on_rows: Callable[[int, int], None],
        on_chunk: Callable[[int], None],
        idle: Callable[[], None],
    ) -> None:
        self._job = job
        self._workers = workers
        self._stop = stop
        self._on_rows = on_rows
        self._on_chunk = on_chunk
        self._idle = idle

    def run(self, chunks: Sequence[Chunk]) -> dict[tuple[int, int], RawRow | None] | None:
        """Every chunk's last row by (table, chunk number), once every worker's records are in Kafka."""
        # spawn, not fork: the parent has threads (librdkafka's, the API's) whose locks a fork would copy held.
        context = multiprocessing.get_context("spawn")
        tasks: multiprocessing.Queue[Chunk | None] = context.Queue()
        results: multiprocessing.Queue[tuple[Any, ...]] = context.Queue()
        count = min(self._workers, len(chunks))
        for chunk in chunks:
            tasks.put(chunk)
        for _ in range(count):
            tasks.put(None)
        processes = [
            context.Process(
                target=run_worker,
                args=(i, self._job, tasks, results),
                name=f"pgcdc-snapshot-{i}",
                daemon=True,
            )
            for i in range(count)
        ]
        for process in processes:
            process.start()
        log.info("snapshot: %d chunk(s) over %d worker process(es)", len(chunks), count)
        try:
            return self._gather(processes, results, len(chunks))
        finally:
            _end(processes)
            for channel in (tasks, results):
                channel.close()
                channel.cancel_join_thread()

    def _gather(
        self,
        processes: Sequence[BaseProcess],
        results: multiprocessing.Queue[tuple[Any, ...]],
        chunk_total: int,
    ) -> dict[tuple[int, int], RawRow | None] | None:
        last_rows: dict[tuple[int, int], RawRow | None] = {}
        done: set[int] = set()
        while len(done) < len(processes):
            if self._stop.is_set():
                return None
            try:
                message = results.get(timeout=WAKE_S)
            except queue.Empty:
                self._idle()
                _check_alive(processes, done)
                continue
            kind, worker = message[0], message[1]
            if kind == "progress":
                self._on_rows(message[2], message[3])
            elif kind == "chunk":
                _, _, table, number, unreported, last_row = message
                self._on_rows(table, unreported)
                last_rows[(table, number)] = last_row
                self._on_chunk(table)
            elif kind == "done":
                done.add(worker)
            elif kind == "failed":
                _, _, source, text, retriable = message
                error: SinkError | SourceError = SinkError(text) if source == "sink" else SourceError(text)
                error.retriable = retriable
                raise error
        if len(last_rows) != chunk_total:
            raise SourceError(
                f"the snapshot's workers finished {len(last_rows)} of {chunk_total} chunks; it will run again"
            )
        return last_rows


def _check_alive(processes: Sequence[BaseProcess], done: set[int]) -> None:
    """A worker that died without reporting (killed, out of memory, a bug) fails the snapshot, to run again."""
    for i, process in enumerate(processes):
        if i not in done and process.exitcode is not None:
            raise SourceError(
                f"snapshot worker process {process.pid} exited with code {process.exitcode} before finishing; "
                "the snapshot will run again (see the log for its error)"
            )


def _end(processes: Sequence[BaseProcess]) -> None:
    """Stop every worker still running: on success they are exiting anyway; on a stop or failure they must."""
    for process in processes:
        if process.is_alive():
            process.terminate()
    for process in processes:
        process.join(STOP_GRACE_S)
        if process.is_alive() and process.pid is not None:
            os.kill(process.pid, signal.SIGKILL)
            process.join()
