"""The parent's side of a parallel snapshot: start the worker processes, hand out chunks, copy chunks itself too,
gather the workers' results.

``readers`` processes copy: this one and ``readers - 1`` workers. This process would otherwise only wait, and a
worker costs a whole interpreter's memory (RSS counts every process's copy of the libraries). Every copier, this
process's included (``ChunkCopier``), produces its chunks' rows through a producer of its own; what comes back is
progress and each chunk's last row, which the caller writes after every copier's records were acknowledged (see
``SnapshotReader``). Buffers stay bounded: a worker holds one chunk at a time, results are small and come at
most once per ``snapshot.fetch.size`` rows, and each copier's producer holds at most its share of
``snapshot.max.queue.size.in.bytes``.
"""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
import threading
from collections import deque
from collections.abc import Callable, Sequence
from multiprocessing.connection import Connection, wait
from pathlib import Path

import psycopg

import pgcdc
from pgcdc.errors import SinkError, SourceError
from pgcdc.snapshot.copy import RawRow
from pgcdc.snapshot.pages import Chunk
from pgcdc.snapshot.worker import ChunkCopier, WorkerJob, WorkerMessage

log = logging.getLogger(__name__)

# How often the parent wakes while waiting for workers: to notice a stop, a dead worker, and serve its own
# producer's delivery reports.
WAKE_S = 0.1
# Seconds a worker gets to exit after being told to stop before it is killed.
STOP_GRACE_S = 5.0
# Rows this process copies between two turns at serving the workers: a worker that finished a chunk waits for
# its next one at most this long (about 30 ms).
SERVE_EVERY_ROWS = 2000
# A fresh interpreter that imports only the worker's modules (see pgcdc.snapshot.worker).
WORKER_MAIN = "from pgcdc.snapshot.worker import main; main()"

LastRows = dict[tuple[int, int], RawRow | None]


class _Stopped(Exception):
    """The connector is stopping while this process waits for room in its producer."""


class _Worker:
    """One worker process and the parent's end of its socket."""

    def __init__(self, popen: subprocess.Popen[bytes], channel: Connection) -> None:
        self.popen = popen
        self.channel = channel
        self.done = False
        self.closed = False
        """Its end of the socket is closed: it exited, or is exiting."""


class ParallelCopy:
    """Copies ``chunks`` with ``readers`` processes; ``run`` returns each chunk's last row, or None if stopped."""

    def __init__(
        self,
        *,
        job: WorkerJob,
        readers: int,
        stop: threading.Event,
        on_rows: Callable[[int, int], None],
        on_chunk: Callable[[int], None],
        on_counts: Callable[[dict[str, int], int, int], None],
        conn: psycopg.Connection[tuple[object, ...]],
        idle: Callable[[], None],
    ) -> None:
        """``on_counts(by_op, skipped, dead_lettered)`` adds what the copiers produced and refused to the
        connector's status. This process copies on ``conn`` (in the exported snapshot), through a producer of
        its own, as a worker would."""
        self._job = job
        self._conn = conn
        self._readers = readers
        self._stop = stop
        self._on_rows = on_rows
        self._on_chunk = on_chunk
        self._on_counts = on_counts
        self._idle = idle
        self._pending: deque[Chunk] = deque()
        self._last_rows: LastRows = {}

    def run(self, chunks: Sequence[Chunk]) -> LastRows | None:
        """Every chunk's last row by (table, chunk number), once every worker's records are in Kafka."""
        self._pending = deque(chunks)
        self._last_rows = {}
        workers: list[_Worker] = []
        try:
            for _ in range(min(self._readers, len(chunks)) - 1):
                workers.append(_start(self._job))
            for worker in workers:
                _send(worker, self._pending.popleft())
            log.info("snapshot: %d chunk(s) over %d process(es)", len(chunks), len(workers) + 1)
            if not self._copy(workers):
                return None
        finally:
            _end(workers)
        if len(self._last_rows) != len(chunks):
            raise SourceError(
                f"the snapshot's workers finished {len(self._last_rows)} of {len(chunks)} chunks; it will run again"
            )
        return self._last_rows

    def _copy(self, workers: list[_Worker]) -> bool:
        """This process copies chunks while any are left, then waits for the workers; False when stopped."""

        def serve() -> bool:
            self._serve(workers, timeout=0)
            return not self._stop.is_set()

        def wait_for_room() -> None:
            # The copier's producer is full: keep serving the workers meanwhile, and give way to a stop.
            self._idle()
            if not serve():
                raise _Stopped

        copier = ChunkCopier(
            self._job,
            self._conn,
            send=lambda message: self._handle(None, message),
            on_wait=wait_for_room,
        )
        try:
            while True:
                # Serve first: a worker that finished a chunk takes the next pending one, maybe the last.
                if not serve():
                    return False
                if not self._pending:
                    break
                if not copier.copy(self._pending.popleft(), check=serve, every=SERVE_EVERY_ROWS):
                    return False
            # Its records are acknowledged before the caller writes any chunk's last row, as a worker's are.
            if not copier.finish(check=serve):
                return False
        except _Stopped:
            return False
        finally:
            copier.close()
        while not all(w.done for w in workers):
            if self._stop.is_set():
                return False
            self._serve(workers, timeout=WAKE_S)
            self._idle()
        return not self._stop.is_set()

    def _serve(self, workers: Sequence[_Worker], *, timeout: float) -> None:
        """Handle every message the workers sent (waiting up to ``timeout`` for one); fail on a dead worker."""
        open_channels = [w.channel for w in workers if not w.closed]
        ready = wait(open_channels, timeout) if open_channels else []
        for worker in workers:
            if worker.channel in ready:
                self._receive(worker)
        for worker in workers:
            if not worker.done and (worker.closed or worker.popen.poll() is not None):
                self._receive(worker)  # what it sent before exiting comes first
                if not worker.done:
                    code = _exit_code(worker)
                    raise SourceError(
                        f"snapshot worker process {worker.popen.pid} exited with code {code} before finishing; "
                        "the snapshot will run again (see the log for its error)"
                    )

    def _receive(self, worker: _Worker) -> None:
        """Every message the worker has sent so far."""
        try:
            while worker.channel.poll(0):
                self._handle(worker, worker.channel.recv())
        except (EOFError, ConnectionResetError):
            worker.closed = True

    def _handle(self, worker: _Worker | None, message: WorkerMessage) -> None:
        """A message of a worker's, or (``worker`` None) of this process's own copier."""
        kind = message[0]
        if kind == "progress":
            self._on_rows(message[1], message[2])
        elif kind == "counts":
            self._on_counts(message[1], message[2], message[3])
        elif kind == "chunk":
            _, table, number, unreported, last_row = message
            self._on_rows(table, unreported)
            self._last_rows[(table, number)] = last_row
            self._on_chunk(table)
            if worker is not None:
                _send(worker, self._pending.popleft() if self._pending else None)
        elif kind == "done":
            if worker is not None:
                worker.done = True
        elif kind == "failed":
            _, source, text, retriable = message
            error: SinkError | SourceError = SinkError(text) if source == "sink" else SourceError(text)
            error.retriable = retriable
            raise error


def _start(job: WorkerJob) -> _Worker:
    """A worker process with its job; secrets go over the socket, never on its command line."""
    ours, theirs = socket.socketpair()
    with theirs:
        # The same pgcdc as this process's, wherever it was imported from.
        root = str(Path(pgcdc.__file__).resolve().parents[1])
        path = os.pathsep.join(filter(None, (root, os.environ.get("PYTHONPATH"))))
        popen = subprocess.Popen(
            [sys.executable, "-c", WORKER_MAIN, str(theirs.fileno())],
            pass_fds=(theirs.fileno(),),
            stdin=subprocess.DEVNULL,
            env={**os.environ, "PYTHONPATH": path},
        )
    worker = _Worker(popen, Connection(ours.detach()))
    _send(worker, job)
    return worker


def _send(worker: _Worker, item: WorkerJob | Chunk | None) -> None:
    try:
        worker.channel.send(item)
    except (BrokenPipeError, ConnectionResetError):
        worker.closed = True  # it died: the next check reports its exit code


def _exit_code(worker: _Worker) -> int | None:
    try:
        return worker.popen.wait(STOP_GRACE_S)
    except subprocess.TimeoutExpired:
        return None


def _end(workers: Sequence[_Worker]) -> None:
    """Stop every worker still running: on success they are exiting anyway; on a stop or failure they must."""
    for worker in workers:
        worker.channel.close()
        if worker.popen.poll() is None and not worker.done:
            worker.popen.terminate()
    for worker in workers:
        try:
            worker.popen.wait(STOP_GRACE_S)
        except subprocess.TimeoutExpired:
            worker.popen.kill()
            worker.popen.wait()
