"""Recomputation jobs: publication, determinism, failure midway, subtree runs."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from evalsvc.domain.recompute import RecomputeRequest
from evalsvc.jobs.demo import SYSTEM, load_demo
from evalsvc.jobs.recompute import recompute, request, run_job

RESULT_COLUMNS = "cadre_id, month, m, level, reasons, t, g"


async def _published(conn: asyncpg.Connection, period: str) -> int | None:
    run: int | None = await conn.fetchval(
        "select run_id from result_published where period = $1", period
    )
    return run


async def _months(conn: asyncpg.Connection, run_id: int) -> list[tuple[object, ...]]:
    rows = await conn.fetch(
        f"select {RESULT_COLUMNS} from result_cadre_months where run_id = $1 "
        "order by cadre_id, month",
        run_id,
    )
    return [tuple(r) for r in rows]


async def test_month_run_publishes_a_complete_set(conn: asyncpg.Connection) -> None:
    await load_demo(conn)
    job = await recompute(conn, RecomputeRequest(period="2026-05"), SYSTEM)
    assert job.state == "succeeded", job.error
    assert job.run_id == await _published(conn, "2026-05")
    n = await conn.fetchval("select count(*) from cadres")
    assert await conn.fetchval(
        "select count(*) from result_cadre_months where run_id = $1", job.run_id
    ) == n
    assert set(job.timings) >= {"read", "score", "write", "publish", "total"}


async def test_year_run_rates_and_ranks(conn: asyncpg.Connection) -> None:
    await load_demo(conn)
    job = await recompute(conn, RecomputeRequest(period="2026"), SYSTEM)
    assert job.state == "succeeded", job.error
    n = await conn.fetchval("select count(*) from cadres")
    run = job.run_id
    assert await conn.fetchval(
        "select count(*) from result_cadre_months where run_id = $1", run
    ) == 12 * n
    assert await conn.fetchval(
        "select count(*) from result_cadre_years where run_id = $1", run
    ) == n
    # Without task data (registry only) every month lacks a task basis: not rated.
    levels = await conn.fetch(
        "select distinct level from result_cadre_years where run_id = $1", run
    )
    assert [r["level"] for r in levels] == [-1]
