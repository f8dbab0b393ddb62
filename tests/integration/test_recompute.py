"""Recomputation jobs: publication, determinism, failure midway, subtree runs."""

from __future__ import annotations

import asyncio
import contextlib
import math
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from evalsvc.democity.city import load_demo
from evalsvc.domain.access import SYSTEM
from evalsvc.domain.recompute import RecomputeRequest
from evalsvc.jobs import scoring_version
from evalsvc.jobs.recompute import recompute, request, run_job
from evalsvc.store.database import connect, lender
from evalsvc.store.results import MONTH, YEAR
from tests.integration import cadre_results


async def _published(conn: asyncpg.Connection, period: str) -> int | None:
    run: int | None = await conn.fetchval(
        "select run_id from result_published where period = $1", period
    )
    return run


async def _month_runs(conn: asyncpg.Connection, run_id: int) -> list[int]:
    runs: list[int] = await conn.fetchval(
        "select month_runs from result_runs where id = $1", run_id
    )
    return runs


async def _months(conn: asyncpg.Connection, run_id: int) -> list[tuple[object, ...]]:
    """The run's cadre month rows, wherever they are stored (its month runs)."""
    return await cadre_results.month_rows(conn, await _month_runs(conn, run_id))


async def test_month_run_publishes_a_complete_set(conn: asyncpg.Connection) -> None:
    await load_demo(conn)
    await _add_task_data(conn)
    job = await recompute(conn, RecomputeRequest(period="2026-05"), SYSTEM)
    assert job.state == "succeeded", job.error
    assert job.run_id == await _published(conn, "2026-05")
    n = await conn.fetchval("select count(*) from cadres")
    assert await cadre_results.stored(conn, MONTH, run=job.run_id) == n
    assert set(job.timings) >= {"read", "score", "write", "publish", "total"}
    # Every ranked unit has its rank interval (computed while the cadre rows were written).
    ranked, with_interval = await conn.fetchrow(
        "select count(*), count(*) filter (where rank_low >= 1 and rank_high >= rank_low "
        "and rank_low <= rank and rank <= rank_high) from result_units "
        "where run_id = $1 and rank > 0",
        job.run_id,
    )
    assert ranked > 0
    assert with_interval == ranked


async def test_year_run_rates_and_ranks(conn: asyncpg.Connection) -> None:
    await load_demo(conn)
    job = await recompute(conn, RecomputeRequest(period="2026"), SYSTEM)
    assert job.state == "succeeded", job.error
    n = await conn.fetchval("select count(*) from cadres")
    run = job.run_id
    assert run is not None
    assert len(await _months(conn, run)) == 12 * n
    # No month run existed: the job wrote the twelve months as month runs of its own.
    sources = await _month_runs(conn, run)
    assert len(set(sources)) == 12
    assert run not in sources
    years = await cadre_results.year_rows(conn, run)
    assert len(years) == n
    # Without task data (registry only) every month lacks a task basis: not rated.
    assert {r[3] for r in years} == {-1}


class Boom(Exception):
    pass


async def _fail_at(stage: str) -> Any:
    async def hook(name: str) -> None:
        if name == stage:
            raise Boom(f"injected failure at {name}")

    return hook


@pytest.mark.parametrize("stage", ["scoring", "write:cadre_months", "write:units", "publishing"])
async def test_failure_midway_keeps_the_previous_set(conn: asyncpg.Connection, stage: str) -> None:
    await load_demo(conn)
    first = await recompute(conn, RecomputeRequest(period="2026-05"), SYSTEM)
    before = await _months(conn, first.run_id)  # type: ignore[arg-type]
    runs_before = await conn.fetchval("select count(*) from result_runs")
    tables_before = await _result_tables(conn)
    assert len(tables_before) == 2  # the month's cadre rows and unit rows
    with pytest.raises(Boom):
        await recompute(
            conn, RecomputeRequest(period="2026-05"), SYSTEM, hook=await _fail_at(stage)
        )
    failed = await conn.fetchrow("select state, error from recompute_jobs order by id desc limit 1")
    assert failed["state"] == "failed"
    assert "injected failure" in failed["error"]
    # Readers still get the previous complete set; the failed run left no rows behind.
    assert await _published(conn, "2026-05") == first.run_id
    assert await _months(conn, first.run_id) == before  # type: ignore[arg-type]
    assert await conn.fetchval("select count(*) from result_runs") == runs_before
    assert await cadre_results.stored(conn, MONTH, other_than=first.run_id) == 0
    # No partition of the failed run is left behind, attached or not.
    assert await _result_tables(conn) == tables_before
    # A rerun succeeds (the worker lock was released).
    again = await recompute(conn, RecomputeRequest(period="2026-05"), SYSTEM)
    assert again.state == "succeeded"
    assert await _published(conn, "2026-05") == again.run_id


@pytest.mark.parametrize("stage", ["write:cadre_years", "publishing"])
async def test_failed_year_run_leaves_no_month_runs_behind(
    conn: asyncpg.Connection, stage: str
) -> None:
    await load_demo(conn)
    tables_before = await _result_tables(conn)
    with pytest.raises(Boom):
        await recompute(conn, RecomputeRequest(period="2026"), SYSTEM, hook=await _fail_at(stage))
    # Neither the year run nor the twelve month runs it wrote survive.
    assert await conn.fetchval("select count(*) from result_runs") == 0
    assert await _result_tables(conn) == tables_before == []
    again = await recompute(conn, RecomputeRequest(period="2026"), SYSTEM)
    assert again.state == "succeeded"
    assert again.counts["months_reused"] == 0
    assert len(await _result_tables(conn)) == 12 + 2


async def test_cancelled_midway_keeps_the_previous_set(
    conn: asyncpg.Connection, db_dsn: str
) -> None:
    await load_demo(conn)
    first = await recompute(conn, RecomputeRequest(period="2026-05"), SYSTEM)
    reached = asyncio.Event()

    async def hang(name: str) -> None:
        if name == "write:cadre_months":
            reached.set()
            await asyncio.sleep(3600)

    worker = await connect(db_dsn)
    try:
        job, _ = await request(worker, RecomputeRequest(period="2026-05"), SYSTEM)
        task = asyncio.create_task(run_job(worker, job.id, hook=hang))
        await asyncio.wait_for(reached.wait(), 30)
        # Mid-write: readers see the old set, the new rows are invisible (uncommitted).
        assert await _published(conn, "2026-05") == first.run_id
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        state = await conn.fetchrow("select state, error from recompute_jobs where id = $1", job.id)
        assert (state["state"], state["error"]) == ("failed", "cancelled")
    finally:
        await worker.close()
    assert await _published(conn, "2026-05") == first.run_id
    assert await cadre_results.stored(conn, MONTH, other_than=first.run_id) == 0
    again = await recompute(conn, RecomputeRequest(period="2026-05"), SYSTEM)
    assert again.state == "succeeded"


async def test_same_inputs_give_identical_results(conn: asyncpg.Connection) -> None:
    await load_demo(conn)
    await _add_task_data(conn)
    for period in ("2026-05", "2026"):
        a = await recompute(conn, RecomputeRequest(period=period), SYSTEM)
        b = await recompute(conn, RecomputeRequest(period=period), SYSTEM)
        assert a.run_id != b.run_id
        assert await _months(conn, a.run_id) == await _months(conn, b.run_id)  # type: ignore[arg-type]
        q = "select * from result_units where run_id = $1 order by 2, 3"
        ra = [tuple(r)[1:] for r in await conn.fetch(q, a.run_id)]
        rb = [tuple(r)[1:] for r in await conn.fetch(q, b.run_id)]
        assert _nan_safe(ra) == _nan_safe(rb)
        if period == "2026":
            assert await cadre_results.year_rows(conn, a.run_id) == (  # type: ignore[arg-type]
                await cadre_results.year_rows(conn, b.run_id)  # type: ignore[arg-type]
            )
        fa, fb = await conn.fetch(
            "select fingerprint, seed from result_runs where id = any($1::bigint[]) order by id",
            [a.run_id, b.run_id],
        )
        assert tuple(fa) == tuple(fb)


async def _result_tables(conn: asyncpg.Connection) -> list[str]:
    rows = await conn.fetch(
        "select relname from pg_class where relkind in ('r', 'p') "
        "and relname ~ '^(result_units|cadre_period_results|cadre_year_results)_r[0-9]+$' "
        "order by relname"
    )
    return [r["relname"] for r in rows]


def _nan_safe(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    return [tuple("NaN" if isinstance(v, float) and math.isnan(v) else v for v in r) for r in rows]


async def _has(conn: asyncpg.Connection, table: str) -> bool:
    return bool(await conn.fetchval("select to_regclass($1) is not null", table))


async def _add_task_data(conn: asyncpg.Connection) -> None:
    """Monthly task totals for every cadre (when the ingestion tables exist)."""
    if not await _has(conn, "task_month_totals"):
        return
    await conn.execute(
        """
        insert into task_month_totals (cadre_id, month, records, k_assigned, k_done,
            k_done_quality, k_done_timely, exceeded_records, late_records)
        select c.id, 202600 + m, 20, 20000000, 20000000 - (c.id % 7) * 1000000,
               20000000 - (c.id % 7) * 1000000 - (c.id % 3) * 500000,
               20000000 - (c.id % 7) * 1000000 - ((c.id + m) % 4) * 500000, 0, (c.id % 4)
        from cadres c cross join generate_series(1, 12) m
        """
    )


async def test_subtree_run_changes_only_that_subtree(conn: asyncpg.Connection) -> None:
    await load_demo(conn)
    await _add_task_data(conn)
    with_tasks = await _has(conn, "task_month_totals")
    base = await recompute(conn, RecomputeRequest(period="2026-05"), SYSTEM)
    target = await conn.fetchrow(
        "select c.id, c.code from cadres c join units u on u.id = c.unit_id "
        "where u.code = 'STC-CM' and c.position = 'staff' order by c.id limit 1"
    )
    other = await conn.fetchrow(
        "select c.id from cadres c join units u on u.id = c.unit_id "
        "where u.code = 'SNV-CM' and c.position = 'staff' order by c.id limit 1"
    )
    if with_tasks:
        # A correction of one cadre's task totals in May, and an unrelated change elsewhere
        # that the subtree run must not pick up.
        for cid in (target["id"], other["id"]):
            await conn.execute(
                "update task_month_totals set k_done = k_done / 2, k_done_quality = "
                "k_done_quality / 2, k_done_timely = k_done_timely / 2 "
                "where cadre_id = $1 and month = 202605",
                cid,
            )
    else:
        # Registry only: an absence over May makes the cadre inactive that month.
        for cid in (target["id"], other["id"]):
            await conn.execute(
                "insert into absences (cadre_id, kind, start_date, end_date) "
                "values ($1, 'sick', '2026-05-01', '2026-05-31')",
                cid,
            )
    sub = await recompute(conn, RecomputeRequest(period="2026-05", unit_code="STC-CM"), SYSTEM)
    assert sub.state == "succeeded", sub.error
    assert await _published(conn, "2026-05") == sub.run_id
    old = {r[0]: r for r in await _months(conn, base.run_id)}  # type: ignore[arg-type]
    new = {r[0]: r for r in await _months(conn, sub.run_id)}  # type: ignore[arg-type]
    assert old.keys() == new.keys()
    changed = {cid for cid in old if _nan_safe([old[cid]]) != _nan_safe([new[cid]])}
    in_unit = {
        r["id"]
        for r in await conn.fetch(
            "select c.id from cadres c join units u on u.id = c.unit_id where u.code = 'STC-CM'"
        )
    }
    assert target["id"] in changed
    assert other["id"] not in changed  # outside the subtree: carried forward
    assert changed <= in_unit
    run = await conn.fetchrow(
        "select base_run_id, scope_unit_id from result_runs where id = $1", sub.run_id
    )
    assert run["base_run_id"] == base.run_id
    # Units outside the subtree keep their scores; ranks are re-derived per block.
    q = (
        "select unit_id, u, u1, u2, u3, u4, u5, members, kht, pairs from result_units "
        "where run_id = $1 and unit_id <> (select id from units where code = 'STC-CM') "
        "order by unit_id"
    )
    assert _nan_safe([tuple(r) for r in await conn.fetch(q, base.run_id)]) == _nan_safe(
        [tuple(r) for r in await conn.fetch(q, sub.run_id)]
    )
    # A city run then picks up the change outside the subtree too.
    city = await recompute(conn, RecomputeRequest(period="2026-05"), SYSTEM)
    after = {r[0]: r for r in await _months(conn, city.run_id)}  # type: ignore[arg-type]
    assert _nan_safe([after[other["id"]]]) != _nan_safe([old[other["id"]]])


async def test_year_run_reuses_month_runs_of_identical_inputs(conn: asyncpg.Connection) -> None:
    await load_demo(conn)
    await _add_task_data(conn)
    may = await recompute(conn, RecomputeRequest(period="2026-05"), SYSTEM)
    first = await recompute(conn, RecomputeRequest(period="2026"), SYSTEM)
    assert first.counts["months_reused"] == 1  # May's month run
    sources = await _month_runs(conn, first.run_id)  # type: ignore[arg-type]
    assert sources[4] == may.run_id
    # Nothing changed: the second year run writes no month rows at all.
    second = await recompute(conn, RecomputeRequest(period="2026"), SYSTEM)
    assert second.counts["months_reused"] == 12
    assert second.counts["rows_cadre_months"] == 0
    assert await _month_runs(conn, second.run_id) == sources  # type: ignore[arg-type]
    assert await _months(conn, second.run_id) == await _months(conn, first.run_id)  # type: ignore[arg-type]
    # One changed input in March: only March is written again.
    cadre = await conn.fetchval("select id from cadres order by id limit 1")
    await conn.execute(
        "insert into absences (cadre_id, kind, start_date, end_date) "
        "values ($1, 'sick', '2026-03-01', '2026-03-31')",
        cadre,
    )
    third = await recompute(conn, RecomputeRequest(period="2026"), SYSTEM)
    assert third.counts["months_reused"] == 11
    new_sources = await _month_runs(conn, third.run_id)  # type: ignore[arg-type]
    assert [i for i in range(12) if new_sources[i] != sources[i]] == [2]
    march = await cadre_results.row(conn, MONTH, new_sources[2], cadre)
    assert march["level"] == -1  # absent the whole month: not rated


async def test_subtree_year_run_rewrites_only_the_changed_month(conn: asyncpg.Connection) -> None:
    await load_demo(conn)
    await _add_task_data(conn)
    base = await recompute(conn, RecomputeRequest(period="2026"), SYSTEM)
    base_sources = await _month_runs(conn, base.run_id)  # type: ignore[arg-type]
    target = await conn.fetchval(
        "select c.id from cadres c join units u on u.id = c.unit_id "
        "where u.code = 'STC-CM' and c.position = 'staff' order by c.id limit 1"
    )
    other = await conn.fetchval(
        "select c.id from cadres c join units u on u.id = c.unit_id "
        "where u.code = 'SNV-CM' and c.position = 'staff' order by c.id limit 1"
    )
    for cid in (target, other):  # absent over May: not rated that month
        await conn.execute(
            "insert into absences (cadre_id, kind, start_date, end_date) "
            "values ($1, 'sick', '2026-05-01', '2026-05-31')",
            cid,
        )
    sub = await recompute(conn, RecomputeRequest(period="2026", unit_code="STC-CM"), SYSTEM)
    assert sub.state == "succeeded", sub.error
    assert sub.counts["months_reused"] == 11
    sources = await _month_runs(conn, sub.run_id)  # type: ignore[arg-type]
    assert [i for i in range(12) if sources[i] != base_sources[i]] == [4]
    may = await conn.fetchrow(
        "select kind, scope_unit_id is not null as scoped, base_run_id from result_runs "
        "where id = $1",
        sources[4],
    )
    assert (may["kind"], may["scoped"], may["base_run_id"]) == ("month", True, base_sources[4])
    old = {r[:2]: r for r in await _months(conn, base.run_id)}  # type: ignore[arg-type]
    new = {r[:2]: r for r in await _months(conn, sub.run_id)}  # type: ignore[arg-type]
    assert old.keys() == new.keys()
    changed = {key[0] for key in old if old[key] != new[key]}
    assert target in changed
    assert other not in changed  # outside the subtree: carried forward
    in_unit = {
        r["id"]
        for r in await conn.fetch(
            "select c.id from cadres c join units u on u.id = c.unit_id where u.code = 'STC-CM'"
        )
    }
    assert changed <= in_unit
    # The merged May run is never reused by a city run: that one writes May afresh.
    city = await recompute(conn, RecomputeRequest(period="2026"), SYSTEM)
    city_sources = await _month_runs(conn, city.run_id)  # type: ignore[arg-type]
    assert city_sources[4] not in (sources[4], base_sources[4])
    assert city.counts["months_reused"] == 11


async def _annual(conn: asyncpg.Connection, run_id: int) -> list[tuple[Any, ...]]:
    rows: list[tuple[Any, ...]] = await cadre_results.year_rows(conn, run_id)
    q = "select * from result_units where run_id = $1 order by 2, 3"
    rows += [tuple(r)[1:] for r in await conn.fetch(q, run_id)]
    return _nan_safe(rows)


async def test_a_second_reader_in_the_same_snapshot_gives_the_same_results(
    conn: asyncpg.Connection, db_dsn: str
) -> None:
    """Reading with a lent connection (exported snapshot) changes nothing in the results."""
    await load_demo(conn)
    await _add_task_data(conn)
    lent: list[int] = []
    lend = lender(db_dsn)

    @contextlib.asynccontextmanager
    async def counting() -> AsyncIterator[asyncpg.Connection]:
        async with lend() as other:
            lent.append(1)
            yield other

    for period in ("2026-05", "2026"):
        # a note that every month changed: each run reads every month (b then finds a's)
        await conn.execute("insert into input_month_changes (tbl, month) values ('test', null)")
        a = await recompute(conn, RecomputeRequest(period=period), SYSTEM)
        await conn.execute("insert into input_month_changes (tbl, month) values ('test', null)")
        b = await recompute(conn, RecomputeRequest(period=period), SYSTEM, reader=counting)
        assert b.state == "succeeded", b.error
        assert await _months(conn, a.run_id) == await _months(conn, b.run_id)  # type: ignore[arg-type]
        assert await _annual(conn, a.run_id) == await _annual(conn, b.run_id)  # type: ignore[arg-type]
        reuse = {"rows_cadre_months": 0, "months_reused": 0}  # b references a's months
        assert a.counts | reuse == b.counts | reuse
    assert len(lent) == 2  # each run with the reader: its reading


async def _m_of(conn: asyncpg.Connection, run_id: int | None, cadre: int) -> float:
    m: float = (await cadre_results.row(conn, MONTH, run_id, cadre))["m"]
    return m


async def test_confidence_votes_cast_after_a_year_run_count_in_the_next(
    conn: asyncpg.Connection,
) -> None:
    """A vote cast after a year run is seen by the next one."""
    from evalsvc.scoring.levels import KHT, REASON_BIT

    await load_demo(conn)
    await _add_task_data(conn)
    year = RecomputeRequest(period="2026")
    await recompute(conn, year, SYSTEM)
    head = await conn.fetchval("select id from cadres where position = 'head' order by id limit 1")
    await conn.execute(
        "insert into confidence_votes (cadre_id, vote_date, eligible, present, high, medium, low) "
        "values ($1, '2026-11-10', 40, 40, 5, 5, 30)",
        head,
    )
    after = await recompute(conn, year, SYSTEM)
    annual = await cadre_results.row(conn, YEAR, after.run_id, head)
    level, reasons = annual["level"], annual["reasons"]
    assert reasons & REASON_BIT["low_confidence"]
    assert level == KHT


async def test_a_new_scoring_version_scores_every_month_again(
    conn: asyncpg.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Reuse is keyed by the scoring code too: after a release that changes it, the next
    year run takes no month from the month runs of the old code (issue 17)."""
    await load_demo(conn)
    await _add_task_data(conn)
    cadres = await conn.fetchval("select count(*) from cadres")
    first = await recompute(conn, RecomputeRequest(period="2026"), SYSTEM)
    same = await recompute(conn, RecomputeRequest(period="2026"), SYSTEM)
    assert same.counts["months_reused"] == 12  # same inputs, profile and code
    old_sources = set(await _month_runs(conn, first.run_id))  # type: ignore[arg-type]
    assert set(await _month_runs(conn, same.run_id)) == old_sources  # type: ignore[arg-type]

    monkeypatch.setattr(scoring_version, "current", lambda: "sha256:a-later-release")
    changed = await recompute(conn, RecomputeRequest(period="2026"), SYSTEM)
    assert changed.counts["months_reused"] == 0
    assert changed.counts["rows_cadre_months"] == 12 * cadres  # every month scored again
    new_sources = await _month_runs(conn, changed.run_id)  # type: ignore[arg-type]
    assert not set(new_sources) & old_sources
    versions = await conn.fetch(
        "select distinct scoring_version from result_runs where id = any($1::bigint[])",
        [changed.run_id, *new_sources],
    )
    assert [r[0] for r in versions] == ["sha256:a-later-release"]
    again = await recompute(conn, RecomputeRequest(period="2026"), SYSTEM)
    assert again.counts["months_reused"] == 12  # and the new code's months are reused


def test_the_scoring_version_follows_the_scoring_source(tmp_path: Path) -> None:
    """A copy of the package with the task component halved in scoring/monthly.py, or the
    reader of the inputs changed, has another version; other code does not count; the
    shipped package's version is the digest of its own source."""
    import evalsvc

    shipped = Path(evalsvc.__file__).parent
    copy = tmp_path / "evalsvc"
    shutil.copytree(shipped, copy, ignore=shutil.ignore_patterns("__pycache__"))
    assert scoring_version.source_digest(copy) == scoring_version.current()

    def edited(relative: str) -> str:
        path = copy / relative
        original = path.read_text(encoding="utf-8")
        path.write_text(original + "\n# T halved\n", encoding="utf-8")
        try:
            return scoring_version.source_digest(copy)
        finally:
            path.write_text(original, encoding="utf-8")

    assert edited("scoring/monthly.py") != scoring_version.current()
    assert edited("jobs/inputs.py") != scoring_version.current()
    assert edited("jobs/carries.py") != scoring_version.current()
    assert edited("jobs/compute.py") != scoring_version.current()
    assert scoring_version.source_digest(copy, libraries=()) != scoring_version.current()
    assert edited("web/routes.py") == scoring_version.current()
