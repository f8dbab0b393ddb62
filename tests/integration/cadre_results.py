"""Test helpers: a run's cadre result rows as tuples, read with plain SQL."""

from __future__ import annotations

import math
from typing import Any

import asyncpg

from evalsvc.store.results import MONTH, YEAR, Layout


def _nan_safe(values: list[Any]) -> tuple[Any, ...]:
    return tuple("NaN" if isinstance(v, float) and math.isnan(v) else v for v in values)


def _names(layout: Layout) -> str:
    return ", ".join(f"x.{n}" for n, _ in layout.columns)


async def month_rows(conn: asyncpg.Connection, run_ids: list[int]) -> list[tuple[Any, ...]]:
    """(cadre_id, month, m, level, reasons, n_manifestations, *detail) of the month runs,
    by cadre and month (NaN as "NaN", so rows compare equal)."""
    rows = await conn.fetch(
        f"select r.first_month, {_names(MONTH)} from cadre_period_results x"
        " join result_runs r on r.id = x.run_id where x.run_id = any($1::bigint[])",
        run_ids,
    )
    out = []
    for r in rows:
        cadre, _unit, *rest = list(r.values())[1:]
        out.append(_nan_safe([cadre, r["first_month"], *rest]))
    return sorted(out, key=lambda r: (r[0], r[1]))


async def year_rows(conn: asyncpg.Connection, run_id: int) -> list[tuple[Any, ...]]:
    """(cadre_id, unit_id, y, level, reasons, *detail) of a year run, by cadre."""
    rows = await conn.fetch(
        f"select {_names(YEAR)} from cadre_year_results x where x.run_id = $1 order by cadre_id",
        run_id,
    )
    return [_nan_safe(list(r.values())) for r in rows]


async def stored(
    conn: asyncpg.Connection,
    layout: Layout,
    *,
    run: int | None = None,
    other_than: int | None = None,
) -> int:
    """Cadre rows stored for ``run`` (or in every run but ``other_than``)."""
    n: int = await conn.fetchval(
        f"select count(*) from {layout.table}"
        " where ($1::bigint is null or run_id = $1) and ($2::bigint is null or run_id <> $2)",
        run,
        other_than,
    )
    return n


async def row(
    conn: asyncpg.Connection, layout: Layout, run: int | None, cadre: int
) -> dict[str, Any]:
    """One cadre's row in a run; fails the test when the run does not hold it."""
    assert run is not None
    found = await conn.fetchrow(
        f"select {_names(layout)} from {layout.table} x where x.run_id = $1 and x.cadre_id = $2",
        run,
        cadre,
    )
    assert found is not None, f"run {run} holds no row of cadre {cadre}"
    return dict(found)
