"""Giving memory back to the operating system after a large recomputation.

A year run allocates and frees a few hundred arrays of several megabytes. glibc's malloc
raises its mmap threshold as such blocks are freed, so later ones come from its heaps and,
once freed, stay in the process: a service that ran five cold year runs held 1.7 GB
between jobs (its peak per job is 1.1 GB). Trimming after every job costs the next month
run ~0.1 s of page faults, so the heaps are trimmed only when the process holds more
than :data:`KEEP_BYTES` after a job: month runs (0.3 GB) keep their pages, year runs give
theirs back. A no-op where ``malloc_trim`` or ``/proc`` does not exist.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
from collections.abc import Callable

KEEP_BYTES = 512 << 20
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
