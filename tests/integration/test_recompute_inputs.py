"""Recomputation on real inputs: a seeded city with a year of activity written through the
bulk paths (task import, assessments, remediation, discipline, votes, indicators, ballots)."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import AsyncIterator
from datetime import date
from typing import Any

import asyncpg

from evalsvc.democity.synthetic import seed_city
from evalsvc.domain.access import SYSTEM
from evalsvc.domain.recompute import RecomputeRequest
from evalsvc.jobs.recompute import recompute
from evalsvc.keyring import derive
from evalsvc.store import tasks as task_store
from tests.integration import cadre_results

KEYS = derive(b"recompute inputs test")


async def _seed(conn: asyncpg.Connection) -> None:
    # 10 units, 200 cadres, 3 task records per cadre and month, ~15 ballots per quarter.
    await seed_city(conn, 0.001, seed=5, keys=KEYS, tasks_per_cadre=3)


def _clean(rows: list[asyncpg.Record]) -> list[tuple[Any, ...]]:
    return [tuple("NaN" if isinstance(v, float) and math.isnan(v) else v for v in r) for r in rows]


async def _months(conn: asyncpg.Connection, run_id: int) -> dict[tuple[int, Any], tuple[Any, ...]]:
    runs = await conn.fetchval("select month_runs from result_runs where id = $1", run_id)
    rows = await cadre_results.month_rows(conn, runs)
    return {(r[0], r[1]): r for r in rows}


async def _units(conn: asyncpg.Connection, run_id: int) -> list[tuple[Any, ...]]:
    return _clean(
        await conn.fetch(
            "select unit_id, month, annual, u, u1, u2, u3, u4, u5, members, kht, pairs, level, "
            "rank, movement, rank_low, rank_high from result_units where run_id = $1 "
            "order by annual, month, unit_id",
            run_id,
        )
    )


async def test_seeded_inputs_are_read_and_scored(conn: asyncpg.Connection) -> None:
    await _seed(conn)
    job = await recompute(conn, RecomputeRequest(period="2026"), SYSTEM)
    assert job.state == "succeeded", job.error
    for table in ("task_month_totals", "supervisor_assessments", "remediation_items"):
        assert job.counts[table] > 0, table
    assert job.counts["ballot_flags"] > 0
    # Real inputs: most cadres are rated; levels spread; manifestations deducted for some.
    years = await cadre_results.year_rows(conn, job.run_id)  # type: ignore[arg-type]
    levels = Counter(r[3] for r in years)
    assert sum(v for k, v in levels.items() if k >= 0) > 0.9 * sum(levels.values())
    assert len([k for k in levels if k >= 0]) >= 3
    months = await _months(conn, job.run_id)  # type: ignore[arg-type]
    assert any(row[5] > 0 for row in months.values())  # n_manifestations
    ranked = await conn.fetchval(
        "select count(*) from result_units where run_id = $1 and annual and rank > 0 "
        "and rank_low >= 1 and rank_high >= rank_low",
        job.run_id,
    )
    assert ranked > 0


async def test_same_seeded_inputs_twice_give_identical_results(conn: asyncpg.Connection) -> None:
    await _seed(conn)
    for period in ("2026-05", "2026"):
        a = await recompute(conn, RecomputeRequest(period=period), SYSTEM)
        b = await recompute(conn, RecomputeRequest(period=period), SYSTEM)
        assert a.run_id != b.run_id
        assert await _months(conn, a.run_id) == await _months(conn, b.run_id)  # type: ignore[arg-type]
        assert await _units(conn, a.run_id) == await _units(conn, b.run_id)  # type: ignore[arg-type]
        if period == "2026":
            assert await cadre_results.year_rows(conn, a.run_id) == (  # type: ignore[arg-type]
                await cadre_results.year_rows(conn, b.run_id)  # type: ignore[arg-type]
            )
        fa, fb = await conn.fetch(
            "select fingerprint, seed from result_runs where id = any($1::bigint[]) order by id",
            [a.run_id, b.run_id],
        )
        assert tuple(fa) == tuple(fb)


async def _one_record(body: bytes) -> AsyncIterator[bytes]:
    yield body


async def test_one_task_record_changed_then_unit_recomputed(conn: asyncpg.Connection) -> None:
    await _seed(conn)
    base = await recompute(conn, RecomputeRequest(period="2026-05"), SYSTEM)
    # A staff member of a division (not a ranked unit) with a task record done in May.
    rec = await conn.fetchrow(
        """
        select t.external_id, c.code, c.id as cadre_id, u.code as unit_code, u.id as unit_id,
               t.product_code, t.k, t.assigned
        from task_records t join cadres c on c.id = t.cadre_id join units u on u.id = c.unit_id
        where t.month = 202605 and t.done > 0 and c.position = 'staff'
          and u.ranking_block is null
        order by t.external_id limit 1
        """
    )
    assert rec is not None
    csv = (
        "external_id,cadre_code,month,product_code,k,assigned,done\n"
        f"{rec['external_id']},{rec['code']},2026-05,{rec['product_code']},{rec['k']},"
        f"{rec['assigned']},0\n"
    ).encode()
    result = await task_store.ingest_stream(
        conn,
        _one_record(csv),
        fmt="csv",
        principal=None,
        origin="cli",
        default_source="seed",
    )
    assert result.updated == 1
    sub = await recompute(
        conn, RecomputeRequest(period="2026-05", unit_code=rec["unit_code"]), SYSTEM
    )
    assert sub.state == "succeeded", sub.error
    subtree = {
        r["id"]
        for r in await conn.fetch(
            "with recursive s(id) as (select $1::bigint union all "
            "select u.id from units u join s on u.parent_id = s.id) "
            "select c.id from cadres c join s on s.id = c.unit_id",
            rec["unit_id"],
        )
    }
    old = await _months(conn, base.run_id)  # type: ignore[arg-type]
    new = await _months(conn, sub.run_id)  # type: ignore[arg-type]
    assert old.keys() == new.keys()
    changed = {key[0] for key in old if old[key] != new[key]}
    assert rec["cadre_id"] in changed  # less done: a lower score
    assert changed <= subtree
    may = (rec["cadre_id"], date(2026, 5, 1))
    assert new[may][2] < old[may][2]  # M
    # Unit scores outside the subtree are carried from the base run (docs/recompute.md).
    before = {r[0]: r[3:10] for r in await _units(conn, base.run_id)}  # type: ignore[arg-type]
    after = {r[0]: r[3:10] for r in await _units(conn, sub.run_id)}  # type: ignore[arg-type]
    assert {u for u in before if before[u] != after[u]} <= {rec["unit_id"]}
