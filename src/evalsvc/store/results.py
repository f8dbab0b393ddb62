"""Result sets: write a run with binary COPY, carry rows forward, publish, read.

Publication (docs/recompute.md): a run's rows are written in one transaction (a run
killed midway leaves nothing behind), then :func:`publish` moves the period's pointer in
one short transaction. Readers resolve the pointer once per request and read every row
of that request from the same run, so they see the old set or the new one, never a mix.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

import asyncpg
import numpy.typing as npt

from evalsvc.domain.errors import Conflict, FieldProblem, NotFound
from evalsvc.store import copyio
from evalsvc.store.sqlfiles import queries

Q = queries("results")
ColumnSet = Mapping[str, tuple[str, npt.ArrayLike]]


async def create_run(
    conn: asyncpg.Connection,
    *,
    job_id: int | None,
    period: str,
    kind: str,
    first_month: date,
    months: int,
    scope_unit_id: int | None,
    base_run_id: int | None,
    profile: dict[str, Any],
    fingerprint: str,
    seed: int,
) -> int:
    run_id: int = await conn.fetchval(
        Q["run_insert"],
        job_id,
        period,
        kind,
        first_month,
        months,
        scope_unit_id,
        base_run_id,
        str(profile["name"]),
        str(profile["version"]),
        profile,
        fingerprint,
        seed,
    )
    return run_id


async def write_rows(
    conn: asyncpg.Connection, table: str, run_id: int, columns: ColumnSet, n: int
) -> int:
    """Append ``n`` rows of ``columns`` tagged with ``run_id`` (one binary COPY)."""
    if table not in ("result_cadre_months", "result_cadre_years", "result_units"):
        raise ValueError(f"not a result table: {table}")
    return await copyio.write(conn, table, {"run_id": ("int8", run_id), **columns}, n)


async def copy_forward(
    conn: asyncpg.Connection,
    run_id: int,
    base_run_id: int,
    cadre_ids: list[int],
    with_years: bool,
) -> int:
    """Carry the cadre rows of ``base_run_id`` except those of ``cadre_ids`` (server-side)."""
    status = await conn.execute(Q["copy_forward_months"], run_id, base_run_id, cadre_ids)
    total = int(status.split()[-1])
    if with_years:
        status = await conn.execute(Q["copy_forward_years"], run_id, base_run_id, cadre_ids)
        total += int(status.split()[-1])
    return total


UNIT_COLUMNS: tuple[tuple[str, str], ...] = (
    ("unit_id", "int8"),
    ("month", "date"),
    ("annual", "bool"),
    ("u", "float8"),
    ("u1", "float8"),
    ("u2", "float8"),
    ("u3", "float8"),
    ("u4", "float8"),
    ("u5", "float8"),
    ("members", "int4"),
    ("kht", "int4"),
    ("pairs", "int4"),
    ("level_base", "int2"),
    ("level", "int2"),
    ("rank", "int4"),
    ("prev_rank", "int4"),
    ("movement", "int4"),
    ("rank_low", "float8"),
    ("rank_high", "float8"),
)


async def read_unit_rows(
    conn: asyncpg.Connection, run_id: int
) -> dict[str, tuple[str, npt.NDArray[Any]]]:
    """Every unit row of a run as columns (result_units_pkey range)."""
    names = ", ".join(name for name, _ in UNIT_COLUMNS)
    types = [t for _, t in UNIT_COLUMNS]
    cols = await copyio.read(
        conn, f"select {names} from result_units where run_id = $1", types, run_id
    )
    return {name: (t, c) for (name, t), c in zip(UNIT_COLUMNS, cols, strict=True)}


async def published_run(conn: asyncpg.Connection, period: str) -> int | None:
    run_id: int | None = await conn.fetchval(Q["published_run"], period)
    return run_id


async def publish(
    conn: asyncpg.Connection,
    run_id: int,
    period: str,
    expected_base: int | None,
    check_base: bool,
    timings: dict[str, float],
    counts: dict[str, int],
) -> None:
    """Point ``period`` at ``run_id`` in one short transaction.

    Raises:
        Conflict: ``check_base`` (a subtree run carried rows forward from
            ``expected_base``) and another run was published meanwhile.
    """
    async with conn.transaction():
        current = await conn.fetchval(Q["published_lock"], period)
        if check_base and current != expected_base:
            raise Conflict(
                f"the published result set of {period} changed while this subtree run was "
                f"computed (run {current} replaced {expected_base}); run it again"
            )
        await conn.execute(Q["publish"], period, run_id)
        await conn.execute(Q["run_complete"], run_id, timings, counts)


async def previous_ranks(conn: asyncpg.Connection, period: str, annual: bool) -> dict[int, int]:
    """Unit id -> rank in the published set of ``period`` (movement)."""
    rows = await conn.fetch(Q["previous_ranks"], period, annual)
    return {r["unit_id"]: r["rank"] for r in rows}


async def get_run(conn: asyncpg.Connection, run_id: int) -> dict[str, Any]:
    row = await conn.fetchrow(Q["run_select"] + " where r.id = $1", run_id)
    if row is None:
        raise NotFound(f"no result run {run_id}", [FieldProblem("run", "not found")])
    return dict(row)


async def list_runs(
    conn: asyncpg.Connection, period: str | None, limit: int, offset: int
) -> tuple[list[dict[str, Any]], int]:
    where = " where ($1::text is null or r.period = $1)"
    total: int = await conn.fetchval("select count(*) from result_runs r" + where, period)
    rows = await conn.fetch(
        Q["run_select"] + where + " order by r.id desc limit $2 offset $3", period, limit, offset
    )
    return [dict(r) for r in rows], total


async def resolve_run(conn: asyncpg.Connection, period: str | None, run_id: int | None) -> int:
    """The run a read uses: the given run id, else the period's published run.

    Raises:
        NotFound: no such run, or nothing published for the period yet.
        RuleViolation-like NotFound naming ``period`` when neither is given.
    """
    if run_id is not None:
        found = await conn.fetchval("select id from result_runs where id = $1", run_id)
        if found is None:
            raise NotFound(f"no result run {run_id}", [FieldProblem("run", "not found")])
        return run_id
    if period is None:
        raise NotFound("give a period or a run", [FieldProblem("period", "missing")])
    published = await published_run(conn, period)
    if published is None:
        raise NotFound(
            f"no published results for {period}; recompute it first",
            [FieldProblem("period", "nothing published")],
        )
    return published
