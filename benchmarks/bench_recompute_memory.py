"""Peak memory of a worker process doing one recomputation (month, usual year, cold year).

Usage (a seeded city must exist, as for ``bench_recompute.py``)::

    EVALSVC_DATA_DIR=/tmp/evalsvc-bench1 python benchmarks/bench_recompute_memory.py --runs 3

``bench_recompute.py`` prints the high-water mark of its own process, which runs some thirty
recomputations one after the other and keeps what the allocator does not give back. This
prints what a worker needs for one job: each run starts a fresh process that queues the job
(``jobs.queue.submit``, as ``POST /recomputations`` does) and takes it itself through the
worker's own loop (``jobs.queue.run_worker``: pgqueuer, the job's connection, the second
reading connection), then reports its peak RSS (``ru_maxrss``: the numpy arrays as well as
Python objects), the job's seconds and the load average. Medians and maxima over ``--runs``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import statistics
import subprocess
import sys
import time

from evalsvc.domain.access import SYSTEM
from evalsvc.domain.recompute import RecomputeRequest
from evalsvc.jobs import queue
from evalsvc.settings import load_settings
from evalsvc.store import jobs as job_store
from evalsvc.store.database import connect, resolve_dsn

CASES = {
    "month": ("2026-05", True),  # a month run always scores and writes its month
    "year": ("2026", False),  # months unchanged: referenced from earlier month runs
    "cold-year": ("2026", True),  # a profile no earlier run used: every month written
}


async def one(case: str) -> None:
    """Queue one job and run it in this process's worker loop; print one line."""
    period, cold = CASES[case]
    settings = load_settings()
    dsn = await resolve_dsn(settings.database_url, settings.pgdata)
    conn = await connect(dsn)
    # a profile no earlier run used (as in bench_recompute.py): every month scored again
    changes = {"rank_interval": [5.0, 95.0 - (time.time_ns() % 10**9) * 1e-12]} if cold else None
    job, created = await queue.submit(
        conn, RecomputeRequest(period=period, changes=changes), SYSTEM
    )
    assert created, f"job {job.id} of {period} is already {job.state}"
    stop = asyncio.Event()

    async def until_done() -> None:
        # the job row is the record (its state changes in the worker loop below)
        while (await job_store.get_job(conn, job.id)).state in ("queued", "running"):  # noqa: ASYNC110
            await asyncio.sleep(0.2)
        stop.set()

    watcher = asyncio.create_task(until_done())
    await queue.run_worker(dsn, stop)
    await watcher
    done = await job_store.get_job(conn, job.id)
    assert done.state == "succeeded", done.error
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"RESULT {case} {peak:.1f} {float(done.timings.get('total', 0.0)):.3f} "
        f"{done.counts.get('months_reused', 0)} {os.getloadavg()[0]:.2f}",
        flush=True,
    )
    await conn.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--case", choices=sorted(CASES), help="run one case in this process")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    if args.case:
        asyncio.run(one(args.case))
        return
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()}; runs: {args.runs}")
    for case in CASES:
        peaks, walls, loads, reused = [], [], [], "0"
        for _ in range(args.runs):  # each in a fresh process
            out = subprocess.run(
                [sys.executable, __file__, "--case", case],
                check=True,
                capture_output=True,
                text=True,
            ).stdout
            line = next(x for x in out.splitlines() if x.startswith("RESULT "))
            _, _, peak, wall, reused, load = line.split()
            peaks.append(float(peak))
            walls.append(float(wall))
            loads.append(float(load))
        print(
            f"worker doing one {case} job ({CASES[case][0]}), fresh process: peak RSS "
            f"{statistics.median(peaks):.0f} MiB median (max {max(peaks):.0f}); job "
            f"{statistics.median(walls):.3f} s median; months reused {reused}; "
            f"load {', '.join(f'{x:.1f}' for x in loads)}"
        )


if __name__ == "__main__":
    main()
