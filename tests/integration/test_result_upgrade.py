"""Runs stored by the previous release as compressed chunks (0010) are converted to plain
rows (0020) at start-up, with the same numbers, and stay readable for appeals."""

from __future__ import annotations

from typing import Any

import asyncpg
import numpy as np
import zstandard

from evalsvc.democity.city import load_demo
from evalsvc.keyring import ballot_keys
from evalsvc.published import results as reading
from evalsvc.settings import Settings
from evalsvc.store import roles
from evalsvc.store.migrations import migrate
from evalsvc.store.sqlfiles import sql_root
from tests.integration import cadre_results

# The previous release's chunk layout (store/cadre_chunks.py before issue 17).
MONTH_CHUNK = (
    ("cadre_id", "<i8"), ("unit_id", "<i8"), ("m", "<f8"), ("level", "<i2"),
    ("reasons", "<i4"), ("n_manifestations", "<i4"),
)  # fmt: skip
YEAR_CHUNK = (
    ("cadre_id", "<i8"), ("unit_id", "<i8"), ("y", "<f8"), ("level", "<i2"), ("reasons", "<i4"),
)  # fmt: skip
MONTH_DETAIL = ("assigned", "done", "a", "b", "c", "d", "dd", "e", "kq", "t", "g_raw",
                "deduction", "g", "bonus")  # fmt: skip
YEAR_DETAIL = (
    "periods_scored", "worked", "rem_due", "rem_on_time", "rem_verified", "remediation_rate",
    "n_manifestations", "violations", "done_share", "exceeded_share", "late_share",
    "level_base", "level_overrides", "level_caps", "level_gates", "level_link",
    "quota_keep_rank", "agency_id", "quota_cap", "quota_top_before",
)  # fmt: skip


async def _to_chunks(
    conn: asyncpg.Connection,
    run_id: int,
    plain: str,
    chunked: str,
    columns: tuple[tuple[str, str], ...],
    detail: tuple[str, ...],
    per_chunk: int,
) -> None:
    """Store a run's plain rows as the previous release did, and drop the plain rows."""
    rows = await conn.fetch(f"select * from {plain} where run_id = $1 order by cadre_id", run_id)
    if not rows:
        return
    zc = zstandard.ZstdCompressor(level=1)
    part = f"{chunked}_r{run_id}"
    await conn.execute(
        f"create table {part} (like {chunked} including defaults including storage"
        " including constraints, "
        f"constraint {part}_run check (run_id = {run_id}))"
    )
    for lo in range(0, len(rows), per_chunk):
        chunk = rows[lo : lo + per_chunk]
        cols = [zc.compress(np.array([r[n] for r in chunk], dtype=t).tobytes()) for n, t in columns]
        numbers = np.array([[float(r[n]) for r in chunk] for n in detail], dtype="<f8")
        params = ", ".join(f"${i + 5}" for i in range(len(cols) + 1))
        await conn.execute(
            f"insert into {part} values ($1, $2, $3, $4, {params})",
            run_id,
            chunk[0]["cadre_id"],
            chunk[-1]["cadre_id"],
            len(chunk),
            *cols,
            zc.compress(numbers.tobytes()),
        )
    await conn.execute(f"alter table {chunked} attach partition {part} for values in ({run_id})")
    await conn.execute(f"drop table {plain}_r{run_id}")


async def _readable(conn: asyncpg.Connection, run_id: int, code: str) -> dict[str, Any]:
    row = await conn.fetchrow(
        "select score, level_code, reasons, unit_code, full_name from ratings_year_by_run"
        " where run_id = $1 and cadre_code = $2",
        run_id,
        code,
    )
    assert row is not None
    return dict(row)


async def test_chunked_runs_are_converted_with_the_same_numbers(
    conn: asyncpg.Connection, settings: Settings
) -> None:
    await load_demo(conn, ballot_keys(settings))  # a published year and its months over
    runs = [r["id"] for r in await conn.fetch("select id from result_runs order by id")]
    year_run = await conn.fetchval("select run_id from result_published where period = '2026'")
    month_runs: list[int] = await conn.fetchval(
        "select month_runs from result_runs where id = $1", year_run
    )
    assert len(runs) == 1 + len(month_runs) >= 2  # the year and one run a month
    before_months = await cadre_results.month_rows(conn, month_runs)
    before_year = await cadre_results.year_rows(conn, year_run)
    code = await conn.fetchval("select code from cadres order by id limit 1")
    before_view = await _readable(conn, year_run, code)
    assert sum(1 for r in before_months if r[2] != "NaN") > 1000  # scored months

    # The database as the previous release left it: chunk tables (0010's own DDL), every
    # run's cadre rows in chunks, no organisation stored with the runs.
    await conn.execute((sql_root() / "migrations" / "0010_cadre_result_chunks.sql").read_text())
    for run in runs:
        await _to_chunks(conn, run, "cadre_period_results", "result_month_chunks",
                         MONTH_CHUNK, MONTH_DETAIL, 100)  # fmt: skip
        await _to_chunks(conn, run, "cadre_year_results", "result_year_chunks",
                         YEAR_CHUNK, YEAR_DETAIL, 100)  # fmt: skip
    await conn.execute("update result_runs set org_id = null")
    assert await cadre_results.stored(conn, cadre_results.MONTH) == 0

    await roles.setup(conn)  # start-up: the objects go to the owner role, who migrates
    await migrate(conn)  # nothing to apply, the chunks to convert

    assert await conn.fetchval("select to_regclass('result_month_chunks')") is None
    assert await conn.fetchval("select count(*) from result_runs where org_id is null") == 0
    assert await cadre_results.month_rows(conn, month_runs) == before_months
    assert await cadre_results.year_rows(conn, year_run) == before_year
    assert await _readable(conn, year_run, code) == before_view
    # Readable for appeals through the service's own reader too.
    cadre_id = await conn.fetchval("select id from cadres where code = $1", code)
    months, year = await reading.store.cadre_rows(conn, year_run, cadre_id)
    assert len(months) == len(month_runs)
    assert year is not None
    assert await migrate(conn) == []  # converted once
