"""End-to-end recomputation benchmark: PostgreSQL -> scoring -> published results.

Usage (a seeded city must exist: ``evalsvc seed --scale 1`` takes minutes, once)::

    EVALSVC_DATA_DIR=/tmp/evalsvc-bench1 python benchmarks/bench_recompute.py --runs 5

Prints, for one month and one year: median wall seconds of ``run_job`` (read, score,
write, publish), its stages, and peak memory (RSS high-water mark of this process and the
tracemalloc peak of Python allocations). Beside it, the monthly score in plain SQL over the
raw task records (what a typical HR system would do) and the ratio, with a check that both
give the same scores, when the ingestion tables (task_records) are installed.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import statistics
import time
import tracemalloc
from typing import Any

import asyncpg

from evalsvc.domain.recompute import RecomputeRequest
from evalsvc.jobs.demo import SYSTEM
from evalsvc.jobs.recompute import recompute
from evalsvc.settings import load_settings
from evalsvc.store.database import connect, resolve_dsn
from evalsvc.store.migrations import migrate

# Staff monthly score M in plain SQL (DOMAIN part 3; full supervisor assessment when none).
SQL_MONTHLY = """
with t as (
    select cadre_id,
           sum(k * assigned) as a_,
           sum(k * done) as d_,
           sum(k * done * greatest(0, 1 - 0.25 * errors_counted)) as q_,
           sum(k * done * greatest(0, 1 - 0.25 * delays_counted)) as t_
    from task_records where month = $1 group by cadre_id
)
select c.id,
       floor((coalesce((s.politics + s.capacity + s.innovation), 30)
              + 70 * least(1, (least(1, greatest(0, t.d_ / t.a_))
                              + least(1, greatest(0, t.q_ / t.a_))
                              + least(1, greatest(0, t.t_ / t.a_))) / 3)) * 100 + 0.5 + 1e-9)
       / 100 as m
from cadres c
join t on t.cadre_id = c.id and t.a_ > 0
left join supervisor_assessments s on s.cadre_id = c.id and s.month = $1
where c.position = 'staff'
order by c.id
"""


def rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def bench(runs: int, trace: bool) -> None:
    settings = load_settings()
    dsn = await resolve_dsn(settings.database_url, settings.pgdata)
    conn = await connect(dsn)
    await migrate(conn)
    n = await conn.fetchval("select count(*) from cadres")
    u = await conn.fetchval("select count(*) from units")
    tasks = await conn.fetchval("select to_regclass('task_records') is not null")
    print(f"city: {n:,} cadres, {u:,} units; task tables installed: {tasks}")
    print(f"machine: {os.cpu_count()} cores; runs: {runs} (median)")
    for period in ("2026-05", "2026"):
        walls: list[float] = []
        stages: list[dict[str, float]] = []
        if trace:
            tracemalloc.start()
        for _ in range(runs):
            t = time.perf_counter()
            job = await recompute(conn, RecomputeRequest(period=period), SYSTEM)
            walls.append(time.perf_counter() - t)
            stages.append(job.timings)
        peak = tracemalloc.get_traced_memory()[1] if trace else 0
        tracemalloc.stop()
        med = statistics.median(walls)
        keys = [k for k in stages[0] if k != "total"]
        per = ", ".join(f"{k} {statistics.median(s[k] for s in stages):.3f}" for k in keys)
        print(
            f"{period:>8}: {med:.3f} s wall (min {min(walls):.3f}); stages: {per}; "
            f"peak Python {peak / 2**20:.0f} MiB, RSS high-water {rss_mib():.0f} MiB; "
            f"rows {job.counts}"
        )
        if period == "2026-05" and tasks:
            await compare_sql(conn, job.run_id, med, runs)  # type: ignore[arg-type]
    await conn.close()


async def compare_sql(conn: asyncpg.Connection, run_id: int, ours: float, runs: int) -> None:
    walls = []
    rows: list[Any] = []
    for _ in range(runs):
        t = time.perf_counter()
        rows = await conn.fetch(SQL_MONTHLY, 202605)
        walls.append(time.perf_counter() - t)
    sql = statistics.median(walls)
    ours_rows = dict(
        await conn.fetch(
            "select cadre_id, m from result_cadre_months r join cadres c on c.id = r.cadre_id "
            "where r.run_id = $1 and c.position = 'staff' and m = m",
            run_id,
        )
    )
    same = sum(1 for r in rows if abs(float(r["m"]) - ours_rows.get(r["id"], -1.0)) < 1e-9)
    print(
        f"plain SQL monthly score (staff): {sql:.3f} s, ratio {sql / ours:.1f}x; "
        f"identical scores {same:,}/{len(rows):,}"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--trace", action="store_true", help="tracemalloc peak (slower)")
    args = parser.parse_args()
    asyncio.run(bench(args.runs, args.trace))
