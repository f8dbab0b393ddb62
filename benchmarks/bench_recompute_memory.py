"""Peak memory of one recomputation in a fresh process (month, usual year, cold year): the
worker's situation, since a worker process runs one job at a time.

Usage (a seeded city must exist, as for ``bench_recompute.py``)::

    EVALSVC_DATA_DIR=/tmp/evalsvc-bench1 python benchmarks/bench_recompute_memory.py

``bench_recompute.py`` prints the high-water mark of its own process, which runs some thirty
recomputations one after the other and keeps what the allocator does not give back. This
prints what one job needs: each case runs in a new process (the CLI's situation: one job,
then exit) and reports its peak RSS (``ru_maxrss``, which counts the numpy arrays as well
as Python objects) and its wall seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import subprocess
import sys
import time

from evalsvc.domain.access import SYSTEM
from evalsvc.domain.recompute import RecomputeRequest
from evalsvc.jobs.recompute import recompute
from evalsvc.settings import load_settings
from evalsvc.store.database import connect, lender, resolve_dsn

CASES = {
    "month": ("2026-05", False),
    "year": ("2026", False),
    "cold-year": ("2026", True),
}


async def one(case: str) -> None:
    period, cold = CASES[case]
    settings = load_settings()
    dsn = await resolve_dsn(settings.database_url, settings.pgdata)
    conn = await connect(dsn)
    # a profile no earlier run used (as in bench_recompute.py): every month scored again
    changes = {"rank_interval": [5.0, 95.0 - (time.time_ns() % 10**9) * 1e-12]} if cold else None
    t = time.perf_counter()
    job = await recompute(
        conn, RecomputeRequest(period=period, changes=changes), SYSTEM, reader=lender(dsn)
    )
    wall = time.perf_counter() - t
    assert job.state == "succeeded", job.error
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"{case} ({period}): {wall:.3f} s, peak RSS {peak:.0f} MiB, "
        f"months reused {job.counts.get('months_reused', 0)}"
    )
    await conn.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--case", choices=sorted(CASES), help="run one case in this process")
    args = parser.parse_args()
    if args.case:
        asyncio.run(one(args.case))
        return
    for case in CASES:  # each in a fresh process
        subprocess.run([sys.executable, __file__, "--case", case], check=True)


if __name__ == "__main__":
    main()
