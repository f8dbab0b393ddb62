"""Giving memory back to the operating system after a large recomputation.

A year run allocates and frees a few hundred arrays of several megabytes. glibc's malloc
raises its mmap threshold as such blocks are freed, so later ones come from its heaps and,
once freed, stay in the process: a benchmark process that ran five cold year runs held
1.7 GB between jobs and peaked at 2.07 GB (one cold year in a fresh process: 1.13 GB).
Trimming after every job costs the next run its page faults again (a usual year run
0.82-0.84 s → 0.90-1.07 s, a month ~0.1 s), so the heaps are trimmed only when the process
holds more than :data:`KEEP_BYTES` after a job: month runs (0.2-0.3 GB) and usual year
runs (0.5-0.8 GB) keep their pages, cold year runs give theirs back. A no-op where
``malloc_trim`` or ``/proc`` does not exist.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
from collections.abc import Callable

KEEP_BYTES = 1 << 30
"""Resident memory a process may keep between jobs without trimming."""


def _malloc_trim() -> Callable[[int], int] | None:
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        trim: Callable[[int], int] = ctypes.CDLL(name).malloc_trim
    except (OSError, AttributeError):  # not glibc
        return None
    return trim


_TRIM = _malloc_trim()


def resident_bytes() -> int | None:
    """This process's resident memory now (Linux), or ``None``."""
    try:
        with open("/proc/self/statm", "rb") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


def release(keep: int = KEEP_BYTES) -> bool:
    """Return freed heap memory to the system if more than ``keep`` bytes are resident.

    Returns:
        Whether it trimmed.
    """
    resident = resident_bytes()
    if _TRIM is None or resident is None or resident <= keep:
        return False
    _TRIM(0)
    return True
