"""End-to-end recomputation benchmark: PostgreSQL -> scoring -> published, queryable rows.

Usage (a seeded city must exist: ``evalsvc seed --scale 1`` takes minutes, once)::

    EVALSVC_DATA_DIR=/tmp/evalsvc-bench1 python benchmarks/bench_recompute.py --runs 5

Seeding scale 1 took 15 minutes on the 2-core machine. Take figures from the second run on
a fresh city: the first run right after seeding (beside a test suite) measured one unit's
members at 516 ms and the city stream at 3.75 s, every later run 4-10 ms and 1.3-2.4 s (cause
not found). A copy of the data folder made just before a run measures the disk's write-back
of the copy as well (a month 1.2 s instead of 0.86 s).

Prints median wall seconds of ``run_job`` (read in one snapshot, score, write, publish; a
second connection reads alongside, as the workers do), its stages and this process's peak
RSS (``bench_recompute_memory.py`` gives one job's, in a fresh process) and the machine's
busy CPU seconds during the job (``/proc/stat``: this process, the server's backends and the
kernel's writeback; the machine should be otherwise idle): divided by the cores, the
shortest wall time the same work could take here, a figure that shared machines' noise
moves far less than the wall time does. For:

* a month with no earlier run of its profile to reuse (a month run always scores and
  writes its month);
* a cold year: a profile variant no run used, so every month is scored and written;
* a year whose months are unchanged: every month taken from the month runs of the same
  inputs, profile and scoring version, neither read, scored nor written again (their
  carries are read instead; docs/recompute.md "A year does not read the months it can
  take");

then, from the published rows, one unit's members for the year (``ratings_year``, one
unit) and the whole city's year ratings streamed (a cursor over ``ratings_year``).

Beside them, when the ingestion tables are installed, the same staff monthly rule in
plain SQL over the raw task records and over ``task_month_totals``, each writing its
result with ``INSERT ... SELECT`` (and, for the year, the twelve months plus the average),
with the ratios and a check that M and Y are identical.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import statistics
import time
from typing import Any

import asyncpg

from evalsvc.domain.access import SYSTEM
from evalsvc.domain.recompute import RecomputeRequest
from evalsvc.jobs.recompute import Reader, recompute
from evalsvc.settings import load_settings
from evalsvc.store import roles
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

# The same rule over the ingestion's per-(cadre, month) totals instead of the raw records.
SQL_MONTHLY_TOTALS = SQL_MONTHLY.replace(
    """    select cadre_id,
           sum(task_units(k * assigned)) as ka,
           sum(task_units(k * done)) as kd,
           sum(task_units(k * done * greatest(0, 1 - 0.25 * errors_counted))) as kq,
           sum(task_units(k * done * greatest(0, 1 - 0.25 * delays_counted))) as kt
    from task_records where month = $1 group by cadre_id""",
    """    select cadre_id, k_assigned as ka, k_done as kd, k_done_quality as kq,
           k_done_timely as kt
    from task_month_totals where month = $1""",
)
assert SQL_MONTHLY_TOTALS != SQL_MONTHLY


SOURCES = (("raw task records", SQL_MONTHLY), ("task_month_totals", SQL_MONTHLY_TOTALS))


def _load() -> str:
    """The 1-, 5- and 15-minute load averages (the machine is shared)."""
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


def busy_seconds() -> float | None:
    """CPU seconds the whole machine has spent busy so far (``/proc/stat``: user, nice,
    system, irq, softirq; the server's processes and the kernel's writeback count too);
    ``None`` where there is no ``/proc/stat``."""
    try:
        with open("/proc/stat") as f:
            fields = [int(x) for x in f.readline().split()[1:8]]
    except OSError:
        return None
    user, nice, system, _idle, _iowait, irq, softirq = fields
    return (user + nice + system + irq + softirq) / os.sysconf("SC_CLK_TCK")


def rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _report(label: str, walls: list[float], jobs: list[Any], busy: list[float | None]) -> float:
    med = statistics.median(walls)
    work = ""
    known = [b for b in busy if b is not None]
    if known:  # the work done, whatever the wall time: a lower bound of it on this machine
        cores = os.cpu_count() or 1
        core_s = statistics.median(known)
        work = f"; busy {core_s:.2f} core-s (at best {core_s / cores:.2f} s on {cores} cores)"
    names = ["read", "score", "write", "publish"]
    names += sorted({k for j in jobs for k in j.timings} - {*names, "total"})
    stages = {k: statistics.median(float(j.timings.get(k, 0.0)) for j in jobs) for k in names}
    print(
        f"{label}: {med:.3f} s median (min {min(walls):.3f}, max {max(walls):.3f}); "
        + ", ".join(f"{k} {v:.3f}" for k, v in stages.items())
        + f"; months reused {jobs[-1].counts.get('months_reused', 0)}, "
        f"task total rows read {jobs[-1].counts.get('task_month_totals', 0):,}; "
        f"peak RSS {rss_mib():.0f} MiB{work}; load {_load()}"
    )
    return med


async def _runs(
    conn: asyncpg.Connection, runs: int, req: Any, reader: Reader
) -> tuple[list[float], list[Any], list[float | None]]:
    walls, jobs, busy = [], [], []
    for i in range(runs):
        b0 = busy_seconds()
        t = time.perf_counter()
        job = await recompute(conn, req(i), SYSTEM, reader=reader)
        walls.append(time.perf_counter() - t)
        b1 = busy_seconds()
        busy.append(None if b0 is None or b1 is None else b1 - b0)
        assert job.state == "succeeded", job.error
        jobs.append(job)
    return walls, jobs, busy


def _variant(i: int) -> dict[str, Any]:
    """A profile variant no earlier run used (a negligible change of the rank-interval
    percentile, unique per run), so nothing can be reused; the cost is the profile's."""
    return {"rank_interval": [5.0, 95.0 - (time.time_ns() % 10**9 + i) * 1e-12]}


async def bench(runs: int, raw_year: bool = True) -> None:
    settings = load_settings()
    dsn = await resolve_dsn(settings.database_url, settings.pgdata)
    conn = await connect(dsn)
    if not settings.database_url:
        # As a start does: a data folder of an earlier release first hands its objects (e.g.
        # result partitions the serving role made) to the owner, then migrates as the owner.
        await roles.setup(conn)
        await roles.as_owner(conn)
    await migrate(conn)
    await conn.execute("reset role")
    n = await conn.fetchval("select count(*) from cadres")
    u = await conn.fetchval("select count(*) from units")
    tasks = await conn.fetchval("select to_regclass('task_records') is not null")
    print(f"city: {n:,} cadres, {u:,} units; task tables installed: {tasks}")
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()}; runs: {runs}")
    reader = lender(dsn)
    walls, jobs, busy = await _runs(
        conn, runs, lambda i: RecomputeRequest(period="2026-05", changes=_variant(i)), reader
    )
    month_wall = _report("month 2026-05, nothing to reuse", walls, jobs, busy)
    month_run = jobs[-1].run_id
    walls, jobs, busy = await _runs(
        conn, runs, lambda i: RecomputeRequest(period="2026", changes=_variant(i)), reader
    )
    cold_wall = _report("year 2026, cold (12 months scored and written)", walls, jobs, busy)
    await recompute(conn, RecomputeRequest(period="2026"), SYSTEM, reader=reader)
    walls, jobs, busy = await _runs(conn, runs, lambda i: RecomputeRequest(period="2026"), reader)
    year_wall = _report(
        "year 2026, months unchanged (taken from month runs, not read)", walls, jobs, busy
    )
    year_run = jobs[-1].run_id

    def read_again(i: int) -> RecomputeRequest:
        return RecomputeRequest(period="2026")

    walls, jobs, busy = [], [], []
    for _ in range(runs):  # a note that every month changed: each is read and scored again
        await conn.execute("insert into input_month_changes (tbl, month) values ('bench', null)")
        w, j, b = await _runs(conn, 1, read_again, reader)
        walls += w
        jobs += j
        busy += b
    _report("year 2026, months unchanged but read again (as before 0100)", walls, jobs, busy)
    await read_views(conn, runs)
    if tasks:
        await compare_sql(conn, month_run, month_wall, runs)
        await compare_sql_year(conn, year_run, cold_wall, year_wall, raw_year)
    await conn.close()


async def read_views(conn: asyncpg.Connection, runs: int) -> None:
    """One unit's members for the year, and the whole city's year ratings streamed."""
    unit = await conn.fetchval(
        "select unit_code from ratings_year where period = '2026'"
        " group by unit_code order by count(*) desc limit 1"
    )
    walls, rows = [], 0
    for _ in range(runs):
        t = time.perf_counter()
        rows = len(
            await conn.fetch(
                "select * from ratings_year where period = '2026' and unit_code = $1", unit
            )
        )
        walls.append(time.perf_counter() - t)
    print(f"one unit's members for the year ({unit}, {rows} rows): "
          f"{statistics.median(walls) * 1000:.1f} ms median (max {max(walls) * 1000:.1f}); "
          f"load {_load()}")  # fmt: skip
    walls = []
    for _ in range(runs):
        t = time.perf_counter()
        rows = 0
        async with conn.transaction():
            async for _row in conn.cursor(
                "select * from ratings_year where period = '2026'", prefetch=10_000
            ):
                rows += 1
        walls.append(time.perf_counter() - t)
    print(f"the whole city's year ratings streamed ({rows:,} rows): "
          f"{statistics.median(walls):.3f} s median (max {max(walls):.3f}); "
          f"load {_load()}")  # fmt: skip


async def _sql_month(conn: asyncpg.Connection, query: str, month: int, table: str) -> float:
    """One plain-SQL month written with INSERT ... SELECT into ``table``."""
    t = time.perf_counter()
    await conn.execute(f"insert into {table} select {month}, s.id, s.m from ({query}) s", month)
    return time.perf_counter() - t


async def _ours(conn: asyncpg.Connection, view: str, run_id: int) -> dict[int, float]:
    rows = await conn.fetch(
        f"select cadre_id, score from {view} where run_id = $1 and position = 'staff'"
        " and score is not null",
        run_id,
    )
    return {r[0]: r[1] for r in rows}


async def compare_sql(conn: asyncpg.Connection, run_id: int, ours: float, runs: int) -> None:
    """The plain-SQL month over raw records and over totals; ratios; identical M."""
    await conn.execute("set jit = off")
    await conn.execute("create temp table sql_m (month int, id bigint, m float8)")
    ours_rows = await _ours(conn, "ratings_month_by_run", run_id)
    for label, query in SOURCES:
        walls = []
        for _ in range(runs):
            await conn.execute("truncate sql_m")
            walls.append(await _sql_month(conn, query, 202605, "sql_m"))
        rows = await conn.fetch("select id, m from sql_m")
        same = sum(1 for r in rows if r["m"] == ours_rows.get(r["id"]))
        sql = statistics.median(walls)
        print(
            f"plain SQL month over {label} (INSERT ... SELECT): {sql:.3f} s median; "
            f"ratio to our month {sql / ours:.1f}x; identical M for {same:,} of {len(rows):,} "
            f"SQL rows ({len(ours_rows):,} staff scored by us); load {_load()}"
        )
    await conn.execute("drop table sql_m")


async def compare_sql_year(
    conn: asyncpg.Connection, run_id: int, cold: float, usual: float, raw: bool = True
) -> None:
    """The year in plain SQL (twelve months + the average, INSERT ... SELECT), once each;
    ``raw`` False leaves out the one over raw records (twelve times the raw month)."""
    await conn.execute("set jit = off")
    ours_rows = await _ours(conn, "ratings_year_by_run", run_id)
    for label, query in SOURCES if raw else SOURCES[1:]:
        await conn.execute("create temp table sql_ym (month int, id bigint, m float8)")
        await conn.execute("create temp table sql_y (id bigint, y float8)")
        t = time.perf_counter()
        for month in range(202601, 202613):
            await _sql_month(conn, query, month, "sql_ym")
        await conn.execute(
            "insert into sql_y select id, floor((sum(m order by month) / count(*)) * 100::float8"
            " + 0.5::float8 + 1e-9::float8) / 100::float8 from sql_ym group by id"
        )
        sql = time.perf_counter() - t
        rows = await conn.fetch("select id, y from sql_y")
        same = sum(1 for r in rows if r["y"] == ours_rows.get(r["id"]))
        print(
            f"plain SQL year over {label} (INSERT ... SELECT, once): {sql:.3f} s; ratio to our "
            f"cold year {sql / cold:.1f}x, to our year with unchanged months {sql / usual:.1f}x;"
            f" identical Y for {same:,} of {len(rows):,} SQL rows ({len(ours_rows):,} by us);"
            f" load {_load()}"
        )
        await conn.execute("drop table sql_ym; drop table sql_y")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument(
        "--no-raw-year",
        action="store_true",
        help="leave out the plain-SQL year over raw records (twelve raw months)",
    )
    args = parser.parse_args()
    asyncio.run(bench(args.runs, not args.no_raw_year))
