"""Giving memory back after large jobs (``jobs/memory.py``), on this Linux/glibc machine."""

from __future__ import annotations

import numpy as np

from evalsvc.jobs import memory


def test_trims_only_above_what_a_process_may_keep() -> None:
    resident = memory.resident_bytes()
    assert resident is not None
    assert resident > 10 << 20  # an interpreter with numpy loaded
    assert memory.release(keep=1 << 50) is False  # holds less than that: pages kept
    blocks = [np.ones(1 << 17) for _ in range(16)]  # 1 MiB blocks, then freed
    del blocks
    assert memory.release(keep=0) is True  # holds more: glibc's heaps trimmed
