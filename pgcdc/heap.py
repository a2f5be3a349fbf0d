"""The C allocator's settings for a process that turns rows into Kafka records at 100,000 or more a second.

Every record of a narrow row is about 3 kB (JsonConverter repeats the table's schema in each), allocated three times
over (the joined value, librdkafka's copy, the delivery report's) and freed as fast: too big for Python's own
allocator, so glibc's malloc serves them. By default glibc returns free memory at the top of its heap to the kernel
once 128 kB lie there, and maps blocks of 128 kB or more (librdkafka's batches and compression buffers) on their own,
so the same pages are faulted in again and again. In workload (a) the page faults took 9% of the stream thread's
time; with the settings below, (a) went from 131,000 to 144,000 events/s and from 7.9 to 6.7 us of CPU per event,
its peak RSS unchanged (docs/benchmarks.md). What glibc keeps is bounded: what grows is the producer's buffer, which
has a bound of its own.
"""

from __future__ import annotations

import ctypes
import logging
import os

log = logging.getLogger(__name__)

# glibc's mallopt parameters (malloc.h).
_M_TRIM_THRESHOLD = -1
_M_TOP_PAD = -2
_M_MMAP_THRESHOLD = -3

SETTINGS = {
    # Free memory kept at the heap's top before any goes back to the kernel.
    _M_TRIM_THRESHOLD: 64 << 20,
    # Grow the heap this much more than asked, so a burst grows it once, not per record.
    _M_TOP_PAD: 16 << 20,
    # Blocks up to this size come from the heap and are reused (32 MiB: glibc's largest on 64-bit).
    _M_MMAP_THRESHOLD: 32 << 20,
}

# A user who sets any of glibc's own variables has chosen: pgcdc leaves the allocator alone.
USER_VARIABLES = ("MALLOC_TRIM_THRESHOLD_", "MALLOC_TOP_PAD_", "MALLOC_MMAP_THRESHOLD_")


def keep_freed_memory() -> bool:
    """Apply SETTINGS to this process's allocator; False where it is not glibc's, or the user set its variables."""
    if any(name in os.environ for name in USER_VARIABLES):
        return False
    # The process's own symbols, libc's among them: ctypes.util.find_library would run ldconfig at every start.
    libc = ctypes.CDLL(None)
    if not hasattr(libc, "gnu_get_libc_version") or not hasattr(libc, "mallopt"):
        return False  # musl and others: their allocators take no such settings
    applied = all(libc.mallopt(parameter, value) == 1 for parameter, value in SETTINGS.items())
    if not applied:
        log.debug("glibc refused a malloc setting; the allocator keeps its defaults for those")
    return applied
