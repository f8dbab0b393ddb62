"""End-to-end recomputation benchmark: PostgreSQL -> scoring -> published results.

Usage (a seeded city must exist: ``evalsvc seed --scale 1`` takes minutes, once)::

    EVALSVC_DATA_DIR=/tmp/evalsvc-bench1 python benchmarks/bench_recompute.py --runs 5

Prints median wall seconds of ``run_job`` (read, score, write, publish; a second
connection reads alongside, as the CLI and the API do), its stages, and peak memory (RSS
high-water mark of this process, which runs some thirty jobs: ``bench_recompute_memory.py``
gives one job's, and the tracemalloc peak of Python allocations) for:

* one month after a bulk import of its task totals (every cadre's May total changed in one
  statement; the import then packs May again, ``jobs/pack_refresh.py``, timed apart: it is
  the import's last step, not the run's), one read from its rows (no pack of it: data
  loaded behind evalsvc's back, or packs deleted), one after a correction of one of its
  task totals (its pack patched with the changed cadre's rows: ``store/input_changes.py``),
  and one whose inputs are unchanged since its last run (unpacked: ``jobs/packs.py``; here
  May's pack is patched with the row the correction put back, as a pack is not stored
  again for a few rows); all scored and written;
* a cold year (a profile no run used: every month scored and written; their inputs come
  from the months' packs once a run has read them);
* the usual year (the months' inputs unchanged since their month runs: every month taken
  from its carry);
* a year after a correction of one task total in March (March patched and written again).

Beside it, when the ingestion tables are installed, the monthly score in plain SQL over
the raw task records (what a typical HR system would do) and, for the year, that query for
each month plus the average (once: about a minute at scale 1), with the ratios and a check
that both give the same M and Y.
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
import numpy as np

from evalsvc.domain.recompute import RecomputeRequest
from evalsvc.jobs import pack_refresh
from evalsvc.jobs.demo import SYSTEM
from evalsvc.jobs.recompute import Reader, recompute
from evalsvc.settings import load_settings
from evalsvc.store import cadre_chunks
from evalsvc.store import results as result_store
from evalsvc.store.database import connect, lender, resolve_dsn
from evalsvc.store.migrations import migrate

# Staff monthly score M in plain SQL over the raw task records (what a typical HR system would
# do; DOMAIN part 3, profile nd335): task sums per record in millionths like the ingestion,
# remediation items due in the month as tasks, the supervisor's sub-criteria (full when none),
# deductions for distinct confirmed manifestations of closed rounds covering the month, whole
# calendar months of employment and absence, half-up rounding. Same float operations in the
# same order as the scoring core, so the scores must be identical.
SQL_MONTHLY = """
with bounds as (
    select make_date($1 / 100, $1 % 100, 1) as m0,
           (make_date($1 / 100, $1 % 100, 1) + interval '1 month - 1 day')::date as m1
),
t as (
    select cadre_id,
           sum(task_units(k * assigned)) as ka,
           sum(task_units(k * done)) as kd,
           sum(task_units(k * done * greatest(0, 1 - 0.25 * errors_counted))) as kq,
           sum(task_units(k * done * greatest(0, 1 - 0.25 * delays_counted))) as kt
    from task_records where month = $1 group by cadre_id
),
rem as (
    select r.cadre_id, count(*)::float8 as a,
           count(r.verified_on)::float8 as d,
           sum(case when r.verified_on is null then 0.0
                    when r.verified_on <= r.due_on then 1.0
                    else greatest(0.0, 1.0 - 0.25 * greatest(1,
                        (extract(year from r.verified_on) * 12 + extract(month from r.verified_on))
                        - (extract(year from r.due_on) * 12 + extract(month from r.due_on))))
               end)::float8 as tm
    from remediation_items r, bounds b
    where r.cadre_id is not null and r.status <> 'cancelled' and r.due_on between b.m0 and b.m1
    group by r.cadre_id
),
ded as (
    select target_id as cadre_id,
           sum(case group_no when 1 then 3.0 else 2.0 end)::float8 as points
    from (
        select distinct f.target_id, f.item_code, f.group_no
        from ballot_flags f join ballot_rounds r on r.id = f.round_id, bounds b
        where r.status = 'closed' and f.flag = 'confirmed'
          and r.period_start <= b.m1 and r.period_end >= b.m0
    ) x
    group by target_id
),
x as (
    select c.id,
           coalesce(t.ka::float8 * 1e-6::float8, 0) + coalesce(rem.a, 0) as a_,
           coalesce(t.kd::float8 * 1e-6::float8, 0) + coalesce(rem.d, 0) as d_,
           coalesce(t.kq::float8 * 1e-6::float8, 0) + coalesce(rem.d, 0) as q_,
           coalesce(t.kt::float8 * 1e-6::float8, 0) + coalesce(rem.tm, 0) as t_,
           least(30::float8, greatest(0::float8,
                 coalesce((s.politics + s.capacity) + s.innovation, 30::float8))) as sub,
           coalesce(ded.points, 0::float8) as ded
    from cadres c cross join bounds b
    left join t on t.cadre_id = c.id
    left join rem on rem.cadre_id = c.id
    left join ded on ded.cadre_id = c.id
    left join supervisor_assessments s on s.cadre_id = c.id and s.month = $1
    where c.position = 'staff'
      and exists (select 1 from employment_spells e where e.cadre_id = c.id
                  and e.start_date <= b.m0 and coalesce(e.end_date, 'infinity') >= b.m1)
      and not exists (select 1 from absences a where a.cadre_id = c.id
                      and a.start_date <= b.m0 and a.end_date >= b.m1)
),
r as (
    select id, sub, ded,
           ((least(1::float8, greatest(0::float8, d_ / a_))
             + least(1::float8, greatest(0::float8, q_ / a_)))
             + least(1::float8, greatest(0::float8, t_ / a_))) / 3::float8 as kq
    from x where a_ > 0
)
select id,
       floor(((least(30::float8, greatest(0::float8, 30::float8 * sub / 30::float8 - ded))
               + 70::float8 * least(kq, 1::float8)) + 0::float8) * 100::float8
             + 0.5::float8 + 1e-9::float8) / 100::float8 as m
from r
order by id
"""


def rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _report(label: str, walls: list[float], jobs: list[Any]) -> None:
    med = statistics.median(walls)
    keys = [k for k in jobs[0].timings if k != "total"]
    per = ", ".join(
        f"{k} {statistics.median(j.timings.get(k, 0.0) for j in jobs):.3f}" for k in keys
    )
    print(
        f"{label}: {med:.3f} s wall median (min {min(walls):.3f}, max {max(walls):.3f}); "
        f"stages: {per}; RSS high-water so far {rss_mib():.0f} MiB; "
        f"load average {os.getloadavg()[0]:.2f}; counts {jobs[-1].counts}"
    )


async def _runs(
    conn: asyncpg.Connection, runs: int, make: Any, reader: Reader, before: Any = None
) -> tuple[list[float], list[Any]]:
    walls: list[float] = []
    jobs: list[Any] = []
    for i in range(runs):
        if before is not None:
            await before(i)
        t = time.perf_counter()
        job = await recompute(conn, make(i), SYSTEM, reader=reader)
        walls.append(time.perf_counter() - t)
        assert job.state == "succeeded", job.error
        jobs.append(job)
    return walls, jobs


async def _corrector(conn: asyncpg.Connection, month: int) -> tuple[Any, Any]:
    """Before run i, one cadre's task total of ``month`` takes a value no earlier run saw
    (else an earlier month run of that content would be referenced); then put it back."""
    cadre = await conn.fetchval(
        "select min(cadre_id) from task_month_totals where month = $1", month
    )
    original = await conn.fetchval(
        "select k_done from task_month_totals where cadre_id = $1 and month = $2", cadre, month
    )
    unique = int(time.time()) % 10**6 * 10
    update = "update task_month_totals set k_done = $3 where cadre_id = $1 and month = $2"

    async def correct(i: int) -> None:
        await conn.execute(update, cadre, month, original + unique + i + 1)

    async def restore() -> None:
        await conn.execute(update, cadre, month, original)

    return correct, restore


def _bulk_importer(conn: asyncpg.Connection, month: int, refreshes: list[float]) -> Any:
    """Before run i, every task total of ``month`` changes in one statement (as a bulk import
    does: the month noted as a whole) to values no earlier run saw; then the import's last
    step packs the month again (timed into ``refreshes``). Returns (import, restore)."""
    unique = int(time.time()) % 10**6 * 10
    moved = 0
    shift = "update task_month_totals set k_done = k_done + $2 where month = $1"

    async def bulk(i: int) -> None:
        nonlocal moved
        await conn.execute(shift, month, unique + i + 1 - moved)
        moved = unique + i + 1
        await conn.execute("vacuum task_month_totals")  # else autovacuum may run mid-run
        t = time.perf_counter()
        packed = await pack_refresh.refresh(conn)
        refreshes.append(time.perf_counter() - t)
        assert len(packed) == 1, packed

    async def restore() -> None:
        await conn.execute(shift, month, -moved)
        await pack_refresh.refresh(conn)
        await conn.execute("vacuum analyze task_month_totals")

    return bulk, restore


def _forget_pack(conn: asyncpg.Connection, then: Any) -> Any:
    """Before a run: no pack of May's rows (as before its first run), then ``then``."""

    async def before(i: int) -> None:
        await conn.execute("delete from input_packs where kind like 'month:%' and year = 202605")
        await then(i)

    return before


async def bench(runs: int, trace: bool) -> None:
    settings = load_settings()
    dsn = await resolve_dsn(settings.database_url, settings.pgdata)
    conn = await connect(dsn)
    await migrate(conn)
    n = await conn.fetchval("select count(*) from cadres")
    u = await conn.fetchval("select count(*) from units")
    tasks = await conn.fetchval("select to_regclass('task_records') is not null")
    print(f"city: {n:,} cadres, {u:,} units; task tables installed: {tasks}")
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()}; runs: {runs}")
    if trace:
        tracemalloc.start()
    reader = lender(dsn)
    may = RecomputeRequest(period="2026-05")
    if tasks:
        # A month after a bulk import of its task totals: the import packed it again.
        refreshes: list[float] = []
        bulk, undo = _bulk_importer(conn, 202605, refreshes)
        walls, jobs = await _runs(conn, runs, lambda i: may, reader, bulk)
        _report("month 2026-05 after a bulk import of its task totals", walls, jobs)
        print(
            f"  (the import's last step, packing May again: {statistics.median(refreshes):.3f} s "
            f"median, min {min(refreshes):.3f}, max {max(refreshes):.3f})"
        )
        bulk_wall = statistics.median(walls)
        await undo()
        # A month without a pack of its rows (its data loaded behind evalsvc's back): May's
        # rows are read (the registry and the year-wide inputs are unpacked), scored, written.
        correct, restore = await _corrector(conn, 202605)
        walls, jobs = await _runs(conn, runs, lambda i: may, reader, _forget_pack(conn, correct))
        _report("month 2026-05 read from its rows (no pack of May)", walls, jobs)
        rows_wall = statistics.median(walls)
        # A month after a correction of one of its task totals: May's pack is patched with
        # that cadre's rows.
        walls, jobs = await _runs(conn, runs, lambda i: may, reader, correct)
        _report("month 2026-05 after a correction of its task totals (patched)", walls, jobs)
        fixed_wall = statistics.median(walls)
        await restore()
    # A month whose inputs are unchanged since its last run (a re-run, a new profile, a
    # change in another month): its inputs are unpacked (May's pack patched with the row put
    # back above), then scored and written as always.
    await recompute(conn, may, SYSTEM, reader=reader)
    walls, jobs = await _runs(conn, runs, lambda i: may, reader)
    _report("month 2026-05, inputs unchanged since the last run", walls, jobs)
    month_run, month_wall = jobs[-1].run_id, statistics.median(walls)
    month_read_score = statistics.median(j.timings["read"] + j.timings["score"] for j in jobs)
    cold = int(time.time()) % 10**6 * 10  # a profile no earlier run used (same cost)
    # A year whose months were never computed with these inputs and this profile: every
    # month is read, scored and written (a negligible change of the rank-interval
    # percentile, unique per run, makes each run "new" without changing its cost).
    walls, jobs = await _runs(
        conn,
        runs,
        lambda i: RecomputeRequest(
            period="2026", changes={"rank_interval": [5.0, 95.0 - (cold + i) * 1e-9]}
        ),
        reader,
    )
    _report("year 2026, cold (12 months read, scored, written)", walls, jobs)
    # The usual year run: every month's inputs are unchanged since its month run.
    await recompute(conn, RecomputeRequest(period="2026"), SYSTEM, reader=reader)
    walls, jobs = await _runs(conn, runs, lambda i: RecomputeRequest(period="2026"), reader)
    _report("year 2026, months unchanged (taken from their carries)", walls, jobs)
    year_run, year_wall = jobs[-1].run_id, statistics.median(walls)
    if tasks:
        # A correction in March before every run: March is read again.
        correct, restore = await _corrector(conn, 202603)
        walls, jobs = await _runs(
            conn, runs, lambda i: RecomputeRequest(period="2026"), reader, correct
        )
        _report("year 2026 after a March correction (March patched)", walls, jobs)
        await restore()
    if trace:
        print(f"tracemalloc peak {tracemalloc.get_traced_memory()[1] / 2**20:.0f} MiB")
        tracemalloc.stop()
    if tasks:
        await compare_sql(
            conn, month_run, month_wall, month_read_score, (bulk_wall, fixed_wall, rows_wall), runs
        )
        await compare_sql_year(conn, year_run, year_wall)
    await conn.close()


async def _staff_scores(
    conn: asyncpg.Connection, layout: cadre_chunks.Layout, run_id: int
) -> dict[int, float]:
    """Our scored staff in a run: cadre id -> M or Y (decoded from the run's chunks)."""
    found = await cadre_chunks.read_run(conn, layout, run_id, [layout.score])
    staff = await conn.fetch("select id from cadres where position = 'staff'")
    ids = np.fromiter((r[0] for r in staff), dtype=np.int64, count=len(staff))
    keep = np.isin(found["cadre_id"], ids) & ~np.isnan(found[layout.score])
    return dict(
        zip(found["cadre_id"][keep].tolist(), found[layout.score][keep].tolist(), strict=True)
    )


async def compare_sql(
    conn: asyncpg.Connection,
    run_id: int,
    ours: float,
    ours_read_score: float,
    changed: tuple[float, float, float],
    runs: int,
) -> None:
    """The plain-SQL month, its ratio to our month runs (unchanged inputs; ``changed``: after
    a bulk import, after a correction, read from its rows) and whether M agrees."""
    bulk, fixed, rows_read = changed
    await conn.execute("set jit = off")
    walls = []
    rows: list[Any] = []
    for _ in range(runs):
        t = time.perf_counter()
        rows = await conn.fetch(SQL_MONTHLY, 202605)
        walls.append(time.perf_counter() - t)
    sql = statistics.median(walls)
    ours_rows = await _staff_scores(conn, result_store.MONTH, run_id)
    same = len([r for r in rows if float(r["m"]) == ours_rows.get(r["id"])])
    only_ours = len(ours_rows.keys() - {r["id"] for r in rows})
    print(
        f"plain SQL monthly score (staff, raw task records): {sql:.3f} s median; "
        f"ratio to our whole month run {sql / ours:.1f}x (after a bulk import {sql / bulk:.1f}x, "
        f"after a correction {sql / fixed:.1f}x, read from its rows {sql / rows_read:.1f}x), "
        "to our read + score "
        f"{sql / ours_read_score:.1f}x; identical M for {same:,} of {len(rows):,} SQL rows "
        f"({len(ours_rows):,} staff scored by us, {only_ours} of them missing in SQL)"
    )


async def compare_sql_year(conn: asyncpg.Connection, run_id: int, ours: float) -> None:
    """The year in plain SQL: the monthly query for every month, then Y per staff member."""
    await conn.execute("set jit = off")
    await conn.execute(
        "create temp table sql_year_m (month int, id bigint, m float8) on commit preserve rows"
    )
    t = time.perf_counter()
    for month in range(202601, 202613):
        await conn.execute(
            f"insert into sql_year_m select {month}, s.id, s.m from ({SQL_MONTHLY}) s", month
        )
    rows = await conn.fetch(
        "select id, floor((sum(m order by month) / count(*)) * 100::float8 + 0.5::float8 "
        "+ 1e-9::float8) / 100::float8 as y from sql_year_m group by id"
    )
    sql = time.perf_counter() - t
    await conn.execute("drop table sql_year_m")
    ours_rows = await _staff_scores(conn, result_store.YEAR, run_id)
    same = len([r for r in rows if float(r["y"]) == ours_rows.get(r["id"])])
    print(
        f"plain SQL year (12 monthly queries + average, staff, one run): {sql:.3f} s; "
        f"ratio to our usual year run {sql / ours:.1f}x; identical Y for {same:,} of "
        f"{len(rows):,} SQL rows ({len(ours_rows):,} staff with Y by us)"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--trace", action="store_true", help="tracemalloc peak (slower)")
    args = parser.parse_args()
    asyncio.run(bench(args.runs, args.trace))
