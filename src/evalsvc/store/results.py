"""Result sets: write a run with binary COPY, carry rows forward, publish, read.

Publication (docs/recompute.md): a run's rows are written in one transaction (a run
killed midway leaves nothing behind), then :func:`publish` moves the period's pointer in
one short transaction. Readers resolve the pointer once per request and read every row
of that request from the same run, so they see the old set or the new one, never a mix.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import date
from typing import Any

import asyncpg
import numpy as np
import numpy.typing as npt

from evalsvc.domain.errors import Conflict, FieldProblem, NotFound
from evalsvc.store import cadre_chunks, carries, copyio
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
    variant: dict[str, Any] | None = None,
    variant_digest: str | None = None,
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
        variant,
        variant_digest,
    )
    return run_id


MONTH_DETAIL = (
    "assigned",
    "done",
    "a",
    "b",
    "c",
    "d",
    "dd",
    "e",
    "kq",
    "t",
    "g_raw",
    "deduction",
    "g",
    "bonus",
)
"""Order of the explanation numbers in a month chunk's ``detail``."""

YEAR_DETAIL = (
    "periods_scored",
    "worked",
    "rem_due",
    "rem_on_time",
    "rem_verified",
    "remediation_rate",
    "n_manifestations",
    "violations",
    "done_share",
    "exceeded_share",
    "late_share",
    "level_base",
    "level_overrides",
    "level_caps",
    "level_gates",
    "level_link",
    "quota_keep_rank",
    "agency_id",
    "quota_cap",
    "quota_top_before",
)
"""Order of the explanation numbers in a year chunk's ``detail`` (counts are exact)."""
YEAR_FLOATS = frozenset({"remediation_rate", "done_share", "exceeded_share", "late_share"})

MONTH = cadre_chunks.Layout(
    "result_month_chunks",
    (
        ("cadre_id", "<i8"),
        ("unit_id", "<i8"),
        ("m", "<f8"),
        ("level", "<i2"),
        ("reasons", "<i4"),
        ("n_manifestations", "<i4"),
    ),
    MONTH_DETAIL,
)
"""A month run's cadre rows (one month per run: ``result_runs.first_month``)."""
YEAR = cadre_chunks.Layout(
    "result_year_chunks",
    (("cadre_id", "<i8"), ("unit_id", "<i8"), ("y", "<f8"), ("level", "<i2"), ("reasons", "<i4")),
    YEAR_DETAIL,
)
"""A year run's annual cadre rows."""

# Tables with one partition per run (dropping a run drops them).
PARTITIONED = (MONTH.table, YEAR.table, "result_units")
UNIT_KEY = "(annual, month, unit_id)"


def partition_name(table: str, run_id: int) -> str:
    if table not in PARTITIONED:
        raise ValueError(f"not a partitioned result table: {table}")
    return f"{table}_r{int(run_id)}"


async def write_cadres(
    conn: asyncpg.Connection,
    layout: cadre_chunks.Layout,
    run_id: int,
    columns: ColumnSet,
    n: int,
    *,
    carry_from: int | None = None,
    carry_except: list[int] | None = None,
) -> int:
    """Store a run's cadre rows as chunks (``carry_from``: keep that run's other cadres).

    Returns:
        cadres stored (carried ones included).
    """
    return await cadre_chunks.write(
        conn, layout, run_id, columns, n, carry_from=carry_from, carry_except=carry_except or ()
    )


async def write_units(conn: asyncpg.Connection, run_id: int, columns: ColumnSet, n: int) -> int:
    """Create ``run_id``'s partition of ``result_units``, load it, index it, attach it.

    The partition is created as a plain table in the caller's transaction (nobody else
    sees it), loaded with one binary COPY (FREEZE), indexed after the load and attached
    (SHARE UPDATE EXCLUSIVE on the parent: readers are not blocked; the CHECK constraint
    spares the attach its validation scan).
    """
    table = "result_units"
    name = partition_name(table, run_id)
    await conn.execute(
        f"create table {name} (like {table} including defaults, "
        f"constraint {name}_run check (run_id = {int(run_id)}))"
    )
    await copyio.write(conn, name, {"run_id": ("int8", run_id), **columns}, n, freeze=True)
    await conn.execute(f"create unique index {name}_key on {name} {UNIT_KEY}")
    await conn.execute(f"alter table {table} attach partition {name} for values in ({int(run_id)})")
    return n


async def set_month_runs(conn: asyncpg.Connection, run_id: int, month_runs: list[int]) -> None:
    await conn.execute("update result_runs set month_runs = $2 where id = $1", run_id, month_runs)


async def reusable_month_run(conn: asyncpg.Connection, fingerprint: str) -> int | None:
    """A complete city-wide month run computed from the same inputs and profile."""
    run_id: int | None = await conn.fetchval(Q["reusable_month_run"], fingerprint)
    return run_id


async def month_runs(conn: asyncpg.Connection, run_id: int) -> list[int]:
    """Per month of the run's period, the run holding its cadre rows."""
    runs: list[int] | None = await conn.fetchval(
        "select month_runs from result_runs where id = $1", run_id
    )
    return list(runs or [])


async def month_source(conn: asyncpg.Connection, run_id: int, month: date) -> int:
    """The run holding the cadre rows of ``month`` for ``run_id`` (itself or a reused one)."""
    source: int | None = await conn.fetchval(Q["month_source"], run_id, month)
    return run_id if source is None else source


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
    """Every unit row of a run as columns (its partition)."""
    names = ", ".join(name for name, _ in UNIT_COLUMNS)
    types = [t for _, t in UNIT_COLUMNS]
    cols = await copyio.read(
        conn, f"select {names} from result_units where run_id = $1", types, run_id
    )
    return {name: (t, c) for (name, t), c in zip(UNIT_COLUMNS, cols, strict=True)}


async def discard_run(conn: asyncpg.Connection, run_id: int) -> None:
    """Delete an unpublished run, the unfinished month runs of its job, and their rows."""
    async with conn.transaction():
        if await conn.fetchval("select 1 from result_published where run_id = $1", run_id):
            return
        runs = await conn.fetch(Q["discardable_runs"], run_id)
        ids = [int(r["id"]) for r in runs]
        for rid in ids:
            for table in PARTITIONED:
                await conn.execute(f"drop table if exists {partition_name(table, rid)}")
        await conn.execute("delete from result_runs where id = any($1::bigint[])", ids)
        await carries.delete(conn, ids)  # stored beside the run, not referencing it (0009)


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
        await conn.execute(Q["helper_runs_complete"], run_id)


async def complete_unpublished(
    conn: asyncpg.Connection, run_id: int, timings: dict[str, float], counts: dict[str, int]
) -> None:
    """Mark a variant's run complete without publishing it (readable by run id only)."""
    async with conn.transaction():
        await conn.execute(Q["run_complete_unpublished"], run_id, timings, counts)


async def previous_ranks(conn: asyncpg.Connection, period: str, annual: bool) -> dict[int, int]:
    """Unit id -> rank in the published set of ``period`` (movement)."""
    run_id = await published_run(conn, period)
    if run_id is None:
        return {}
    rows = await conn.fetch(Q["previous_ranks"], run_id, annual)
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


def clean(value: Any) -> Any:
    """NaN (stored for "missing") -> None."""
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def _record(row: asyncpg.Record) -> dict[str, Any]:
    return {k: clean(v) for k, v in dict(row).items()}


def _month_record(month: date, row: dict[str, Any]) -> dict[str, Any]:
    out = {"month": month, **row}
    out.pop("cadre_id")
    out.pop("unit_id")
    return {k: clean(v) for k, v in out.items()}


def _year_record(row: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in row.items() if k not in ("cadre_id", "unit_id")}
    for name in YEAR_DETAIL:
        if name not in YEAR_FLOATS:
            v = out.get(name)
            out[name] = None if v is None or v != v else int(v)  # NaN: an older run
    return {k: clean(v) for k, v in out.items()}


async def cadre_rows(
    conn: asyncpg.Connection, run_id: int, cadre_id: int
) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """A cadre's period rows and annual row (None for a month run) in a run.

    The month rows come from the runs named in ``month_runs`` (one chunk each).
    """
    runs = await month_runs(conn, run_id) or [run_id]
    starts = {
        int(r["id"]): r["first_month"]
        for r in await conn.fetch(
            "select id, first_month from result_runs where id = any($1::bigint[])", runs
        )
    }
    found = await cadre_chunks.lookup(conn, MONTH, runs, cadre_id)
    months = sorted(
        (_month_record(starts[rid], row) for rid, row in found.items()),
        key=lambda r: r["month"],
    )
    year = (await cadre_chunks.lookup(conn, YEAR, [run_id], cadre_id)).get(run_id)
    return months, (_year_record(year) if year is not None else None)


async def _registry_rows(
    conn: asyncpg.Connection,
    found: cadre_chunks.Arrays,
    score: str,
    *,
    order: str,
    limit: int,
    offset: int,
    columns: str,
) -> list[dict[str, Any]]:
    """Decoded result rows joined with the registry through ``unnest``, one page of them."""
    rows = await conn.fetch(
        f"select {columns} from unnest($1::bigint[], $2::float8[], $3::int2[], $4::int4[])"
        " as r(cadre_id, score, level, reasons)"
        " join cadres c on c.id = r.cadre_id join units u on u.id = c.unit_id"
        f" order by {order} limit $5 offset $6",
        found["cadre_id"].tolist(),
        found[score].tolist(),
        found["level"].tolist(),
        found["reasons"].tolist(),
        limit,
        offset,
    )
    return [_record(r) for r in rows]


async def member_rows(
    conn: asyncpg.Connection,
    *,
    run_id: int,
    annual: bool,
    month: date,
    unit_ids: list[int],
    level: int | None,
    position: str | None,
    limit: int,
    offset: int,
) -> tuple[list[dict[str, Any]], int]:
    """Members of ``unit_ids`` (the registry's) with their level in the run, in
    Vietnamese name order: the members' ids (cadres_unit_idx), the chunks holding them,
    filtered by level here, one page joined back with the registry.
    """
    layout = YEAR if annual else MONTH
    if not annual:
        run_id = await month_source(conn, run_id, month)
    ids = await conn.fetch(
        "select id from cadres where unit_id = any($1::bigint[])"
        " and ($2::text is null or position = $2)",
        unit_ids,
        position,
    )
    member_ids = np.fromiter((r["id"] for r in ids), dtype=np.int64, count=len(ids))
    found = await cadre_chunks.read_members(
        conn, layout, run_id, member_ids, [layout.score, "level", "reasons"]
    )
    if level is not None:
        found = {k: v[found["level"] == level] for k, v in found.items()}
    rows = await _registry_rows(
        conn,
        found,
        layout.score,
        order="c.name_key, c.code",
        limit=limit,
        offset=offset,
        columns="c.code, c.full_name, c.position, u.code as unit_code, r.score, r.level, r.reasons",
    )
    return rows, len(found["cadre_id"])


async def ranking_rows(
    conn: asyncpg.Connection,
    *,
    run_id: int,
    annual: bool,
    month: date,
    block: str | None,
    limit: int,
    offset: int,
) -> tuple[list[dict[str, Any]], int]:
    """Ranked units of a run by block and rank (its partition, (annual, month, unit_id))."""
    where = (
        " from result_units r join units u on u.id = r.unit_id"
        " where r.run_id = $1 and r.annual = $2 and r.month = $3"
        " and u.ranking_block is not null and ($4::text is null or u.ranking_block = $4)"
    )
    total: int = await conn.fetchval("select count(*)" + where, run_id, annual, month, block)
    rows = await conn.fetch(
        "select u.ranking_block as block, r.rank, u.code, u.name, r.u, r.u1, r.u2, r.u3, r.u4,"
        " r.u5, r.level, r.members, r.kht, r.pairs, r.prev_rank, r.movement, r.rank_low,"
        " r.rank_high" + where + " order by u.ranking_block, r.rank < 0, r.rank, u.code"
        " limit $5 offset $6",
        run_id,
        annual,
        month,
        block,
        limit,
        offset,
    )
    return [_record(r) for r in rows], total


async def compare_cadres(
    conn: asyncpg.Connection,
    *,
    run_a: int,
    run_b: int,
    annual: bool,
    month: date,
    limit: int,
    offset: int,
) -> tuple[list[dict[str, Any]], int]:
    """Cadres whose level differs between two runs (both runs decoded, matched by id)."""
    layout = YEAR if annual else MONTH
    if not annual:
        run_a = await month_source(conn, run_a, month)
        run_b = await month_source(conn, run_b, month)
    fields = [layout.score, "level"]
    a = await cadre_chunks.read_run(conn, layout, run_a, fields)
    b = await cadre_chunks.read_run(conn, layout, run_b, fields)
    common, ia, ib = np.intersect1d(
        a["cadre_id"], b["cadre_id"], assume_unique=True, return_indices=True
    )
    changed = a["level"][ia] != b["level"][ib]
    ia, ib = ia[changed], ib[changed]
    rows = await conn.fetch(
        "select c.code, c.full_name, r.level_a, r.level_b, r.score_a, r.score_b"
        " from unnest($1::bigint[], $2::int2[], $3::int2[], $4::float8[], $5::float8[])"
        " as r(cadre_id, level_a, level_b, score_a, score_b)"
        " join cadres c on c.id = r.cadre_id order by c.code limit $6 offset $7",
        common[changed].tolist(),
        a["level"][ia].tolist(),
        b["level"][ib].tolist(),
        a[layout.score][ia].tolist(),
        b[layout.score][ib].tolist(),
        limit,
        offset,
    )
    return [_record(r) for r in rows], int(changed.sum())


async def compare_units(
    conn: asyncpg.Connection,
    *,
    run_a: int,
    run_b: int,
    annual: bool,
    month: date,
    limit: int,
    offset: int,
) -> tuple[list[dict[str, Any]], int]:
    """Units whose rank or level differs between two runs (both partitions' unique keys)."""
    src = (
        " from result_units a join result_units b on b.run_id = $2 and b.annual = a.annual"
        " and b.month = a.month and b.unit_id = a.unit_id"
        " join units u on u.id = a.unit_id"
        " where a.run_id = $1 and a.annual = $3 and a.month = $4"
        " and (a.rank <> b.rank or a.level <> b.level)"
    )
    total: int = await conn.fetchval("select count(*)" + src, run_a, run_b, annual, month)
    rows = await conn.fetch(
        "select u.code, u.name, u.ranking_block as block, a.rank as rank_a, b.rank as rank_b,"
        " a.level as level_a, b.level as level_b, a.u as u_a, b.u as u_b"
        + src
        + " order by u.ranking_block, b.rank, u.code limit $5 offset $6",
        run_a,
        run_b,
        annual,
        month,
        limit,
        offset,
    )
    return [_record(r) for r in rows], total


async def unit_result_rows(
    conn: asyncpg.Connection, run_id: int, unit_id: int
) -> list[dict[str, Any]]:
    """A unit's rows in a run: the period's (annual first) and, in a year run, its months."""
    return [_record(r) for r in await conn.fetch(Q["unit_result_rows"], run_id, unit_id)]


async def ranking_blocks(conn: asyncpg.Connection) -> list[str]:
    return [r["block"] for r in await conn.fetch(Q["ranking_blocks"])]


async def published_periods(conn: asyncpg.Connection) -> list[str]:
    """Periods with a published run, newest first."""
    return [r["period"] for r in await conn.fetch(Q["published_periods"])]


async def member_level_counts(
    conn: asyncpg.Connection, *, run_id: int, annual: bool, month: date, unit_ids: list[int]
) -> dict[int, int]:
    """Level -> number of members of ``unit_ids`` in the run (no registry join: counts only)."""
    layout = YEAR if annual else MONTH
    if not annual:
        run_id = await month_source(conn, run_id, month)
    ids = await conn.fetch("select id from cadres where unit_id = any($1::bigint[])", unit_ids)
    member_ids = np.fromiter((r["id"] for r in ids), dtype=np.int64, count=len(ids))
    found = await cadre_chunks.read_members(conn, layout, run_id, member_ids, ["level"])
    values, counts = np.unique(found["level"], return_counts=True)
    return {int(v): int(c) for v, c in zip(values, counts, strict=True)}
