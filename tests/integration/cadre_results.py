"""Test helpers: a run's cadre result rows as tuples, decoded from their chunks."""

from __future__ import annotations

import math
from typing import Any

import asyncpg

from evalsvc.store import cadre_chunks
from evalsvc.store.results import MONTH, YEAR


def _nan_safe(values: list[Any]) -> tuple[Any, ...]:
    return tuple("NaN" if isinstance(v, float) and math.isnan(v) else v for v in values)


async def month_rows(conn: asyncpg.Connection, run_ids: list[int]) -> list[tuple[Any, ...]]:
    """(cadre_id, month, m, level, reasons, n_manifestations, *detail) of the month runs,
    by cadre and month (NaN as "NaN", so rows compare equal)."""
    starts = dict(
        await conn.fetch("select id, first_month from result_runs where id = any($1)", run_ids)
    )
    out = []
    for run in run_ids:
        a = await cadre_chunks.read_run(conn, MONTH, run)
        names = [n for n, _ in MONTH.columns]
        for i in range(len(a["cadre_id"])):
            values = [a[n][i].item() for n in names] + a["detail"][:, i].tolist()
            cadre, _unit, *rest = values
            out.append(_nan_safe([cadre, starts[run], *rest]))
    return sorted(out, key=lambda r: (r[0], r[1]))


async def year_rows(conn: asyncpg.Connection, run_id: int) -> list[tuple[Any, ...]]:
    """(cadre_id, unit_id, y, level, reasons, *detail) of a year run, by cadre."""
    a = await cadre_chunks.read_run(conn, YEAR, run_id)
    names = [n for n, _ in YEAR.columns]
    return [
        _nan_safe([a[n][i].item() for n in names] + a["detail"][:, i].tolist())
        for i in range(len(a["cadre_id"]))
    ]


async def stored(
    conn: asyncpg.Connection,
    layout: cadre_chunks.Layout,
    *,
    run: int | None = None,
    other_than: int | None = None,
) -> int:
    """Cadres stored in ``run``'s chunks (or in every run but ``other_than``)."""
    n: int = await conn.fetchval(
        f"select coalesce(sum(n_cadres), 0) from {layout.table}"
        " where ($1::bigint is null or run_id = $1) and ($2::bigint is null or run_id <> $2)",
        run,
        other_than,
    )
    return n


async def row(
    conn: asyncpg.Connection, layout: cadre_chunks.Layout, run: int | None, cadre: int
) -> dict[str, Any]:
    """One cadre's row in a run; fails the test when the run does not hold it."""
    assert run is not None
    found = await cadre_chunks.lookup(conn, layout, [run], cadre)
    assert run in found, f"run {run} holds no row of cadre {cadre}"
    return found[run]
