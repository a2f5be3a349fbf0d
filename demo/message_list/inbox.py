"""The last N rendered records in arrival order, and a wake-up for the pages streaming them.

The reader thread adds; the web server's event loop reads. Memory is bounded by ``keep`` records and by
``max_chars`` of rendered HTML, whatever the topic holds and however slow a page is: a page that falls
behind what is kept skips to the newest instead of queueing.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections import deque
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Entry:
    seq: int
    """Position in arrival order, from 1; pages resume after the last one they showed."""
    html: str


class Inbox:
    def __init__(self, *, keep: int, max_chars: int) -> None:
        """Keeps the newest ``keep`` records while their HTML totals ``max_chars`` at most (the newest always)."""
        if keep < 1:
            raise ValueError("keep must be at least 1")
        self.keep = keep
        self._max_chars = max_chars
        self._chars = 0
        self._entries: deque[Entry] = deque()
        self._lock = threading.Lock()
        self._seq = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._changed: asyncio.Event | None = None

    def attach(self, loop: asyncio.AbstractEventLoop) -> None:
        """Wake waiters on ``loop`` (the web server's) from now on."""
        self._loop = loop
        self._changed = asyncio.Event()

    @property
    def last_seq(self) -> int:
        with self._lock:
            return self._seq

    def add(self, html: str) -> int:
        """Keep a rendered record, dropping the oldest beyond the bounds; safe from any thread."""
        with self._lock:
            self._seq += 1
            seq = self._seq
            self._entries.append(Entry(seq=seq, html=html))
            self._chars += len(html)
            while len(self._entries) > 1 and (
                len(self._entries) > self.keep or self._chars > self._max_chars
            ):
                self._chars -= len(self._entries.popleft().html)
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._wake)
        return seq

    def _wake(self) -> None:
        # A fresh event for the next round; whoever waits on the old one wakes up now.
        changed, self._changed = self._changed, asyncio.Event()
        if changed is not None:
            changed.set()

    def newest_first(self) -> list[Entry]:
        with self._lock:
            return list(reversed(self._entries))

    def after(self, seq: int) -> list[Entry]:
        """Entries newer than ``seq``, oldest first."""
        with self._lock:
            return [entry for entry in self._entries if entry.seq > seq]

    async def wait_after(self, seq: int, *, timeout: float) -> None:
        """Return once an entry newer than ``seq`` is kept, or after ``timeout`` seconds."""
        changed = self._changed
        if changed is None or self.last_seq > seq:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(changed.wait(), timeout)
