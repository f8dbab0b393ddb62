"""Result sets: write a run as plain rows with binary COPY, carry rows forward, publish, read.

Publication (docs/recompute.md): a run's rows are written in one transaction (a run
killed midway leaves nothing behind), then :func:`publish` moves the period's pointer in
one short transaction. Readers resolve the pointer once per request and read every row
of that request from the same run, so they see the old set or the new one, never a mix.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

import asyncpg
import numpy as np
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
    org_id: int,
    scoring_version: str,
    variant: dict[str, Any] | None,
    variant_digest: str | None,
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
        org_id,
        scoring_version,
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
"""The explanation numbers of a period row (``cadre_period_results``), float8 each."""

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
"""The explanation numbers of an annual row (``cadre_year_results``)."""
YEAR_FLOATS = frozenset({"remediation_rate", "done_share", "exceeded_share", "late_share"})


def _year_type(name: str) -> str:
    if name in YEAR_FLOATS:
        return "float8"
    if name == "agency_id":
        return "int8"
    return "int2" if name.startswith("level_") else "int4"


@dataclass(frozen=True, slots=True)
class Layout:
    """One table of cadre rows: its name, score column and stored columns (name, type)."""

    table: str
    score: str
    columns: tuple[tuple[str, str], ...]


MONTH = Layout(
    "cadre_period_results",
    "m",
    (
        ("cadre_id", "int8"),
        ("unit_id", "int8"),
        ("m", "float8"),
        ("level", "int2"),
        ("reasons", "int4"),
        ("n_manifestations", "int4"),
        *((name, "float8") for name in MONTH_DETAIL),
    ),
)
"""A period run's cadre rows (one period per run: ``result_runs.period``)."""
YEAR = Layout(
    "cadre_year_results",
    "y",
    (
        ("cadre_id", "int8"),
        ("unit_id", "int8"),
        ("y", "float8"),
        ("level", "int2"),
        ("reasons", "int4"),
        *((name, _year_type(name)) for name in YEAR_DETAIL),
    ),
)
"""A year run's annual cadre rows."""

# Tables with one partition per run (dropping a run drops them).
PARTITIONED = (MONTH.table, YEAR.table, "result_units")


def partition_name(table: str, run_id: int) -> str:
    if table not in PARTITIONED:
        raise ValueError(f"not a partitioned result table: {table}")
    return f"{table}_r{int(run_id)}"


# The content key of an organisation snapshot: everything stored in it, and the version of
# how it is derived (v3: each unit's agency filled from scoring.inputs.agency_units; the key
# as sums of 64-bit row hashes). Each row is hashed on its own and the hashes summed
# (exact numeric sums, with the row counts), so the key needs neither a sort nor a 15 MB
# string at city scale: 0.27 s instead of 0.6-1.5 s on a loaded 2-core machine, paid by
# every run. A changed row changes its table's sum unless its new 64-bit hash equals the
# old one.
ORG_DIGEST = """
with c as (select concat_ws('|', id, code, full_name, personnel_type, position, unit_id,
                            peer_group_id) as t from cadres),
     u as (select concat_ws('|', id, code, name, parent_id, kind, ranking_block, agency) as t
           from units),
     g as (select concat_ws('|', id, code) as t from peer_groups)
select md5(concat_ws('#', 'org-v3',
    (select concat_ws(',', count(*), sum(hashtextextended(t, 0)::numeric)) from c),
    (select concat_ws(',', count(*), sum(hashtextextended(t, 0)::numeric)) from u),
    (select concat_ws(',', count(*), sum(hashtextextended(t, 0)::numeric)) from g)))
"""


async def org_digest(conn: asyncpg.Connection) -> str:
    """The content key of the registry as ``conn`` sees it (:data:`ORG_DIGEST`); a reader
    in the same snapshot may compute it (``jobs/snapshot.py``: on the second connection)."""
    digest: str = await conn.fetchval(ORG_DIGEST)
    return digest


async def snapshot_org(
    conn: asyncpg.Connection,
    agency: tuple[list[int], list[int]] | None = None,
    digest: str | None = None,
) -> int:
    """The id of the organisation snapshot of the registry as ``conn`` sees it, stored now
    unless an identical one is stored already (one per distinct content, shared by runs).

    Call it in the reading snapshot (a repeatable-read transaction that may write): the
    organisation stored is the one the inputs were read from. ``agency``: unit ids and
    each one's agency (``scoring.inputs.agency_units``, own unit when none), stored as
    ``agency_unit_id``; the content key covers everything it is computed from. ``digest``:
    :func:`org_digest` as computed in the same snapshot (else computed here).
    """
    if digest is None:
        digest = await org_digest(conn)
    org_id: int | None = await conn.fetchval("select id from result_orgs where digest = $1", digest)
    if org_id is not None:
        return org_id
    org_id = await conn.fetchval(
        "insert into result_orgs (digest) values ($1) on conflict (digest) do nothing returning id",
        digest,
    )
    if org_id is None:  # stored meanwhile by a concurrent run
        found: int = await conn.fetchval("select id from result_orgs where digest = $1", digest)
        return found
    await conn.execute(Q["org_units_snapshot"], org_id)
    if agency is not None:
        await conn.execute(Q["org_units_agency"], org_id, agency[0], agency[1])
    await conn.execute(Q["org_cadres_snapshot"], org_id)
    return org_id


async def sync_reason_codes(conn: asyncpg.Connection, codes: tuple[str, ...]) -> None:
    """Keep ``result_reason_codes`` in step with the scoring core's list (append only)."""
    await conn.execute(
        "insert into result_reason_codes (bit, code)"
        " select i - 1, c from unnest($1::text[]) with ordinality as t (c, i)"
        " on conflict (bit) do nothing",
        list(codes),
    )


async def write_cadres(
    conn: asyncpg.Connection,
    layout: Layout,
    run_id: int,
    columns: ColumnSet,
    n: int,
    *,
    carry_from: int | None = None,
    carry_except: list[int] | None = None,
) -> int:
    """Create ``run_id``'s partition of the layout's table, load it, index it, attach it.

    ``carry_from``: a run whose other cadres (all but ``carry_except``) are copied into
    the partition too (a subtree run), server-side.

    Returns:
        cadres stored (carried ones included).
    """
    table = layout.table
    name = await _new_partition(conn, table, run_id)
    cols = {"run_id": ("int8", run_id)} | {c: columns[c] for c, _ in layout.columns}
    await copyio.write(conn, name, cols, n, freeze=True)
    stored = n
    if carry_from is not None:
        names = ", ".join(c for c, _ in layout.columns)
        status = await conn.execute(
            f"insert into {name} (run_id, {names}) select $1, {names} from {table}"
            " where run_id = $2 and cadre_id <> all($3::bigint[])",
            run_id,
            carry_from,
            carry_except or [],
        )
        stored += int(status.split()[-1])
    # The codes of each reason mask, for the views (0020): the few distinct masks of the
    # new rows (carried rows' masks were stored with the run they come from).
    masks = np.unique(np.asarray(columns["reasons"][1], dtype=np.int64)).tolist()
    await conn.execute(
        "insert into result_reason_sets (mask, codes)"
        " select m, result_reasons(m) from unnest($1::int4[]) as m"
        " on conflict (mask) do nothing",
        masks,
    )
    await _attach_partition(conn, table, run_id)
    return stored


async def _new_partition(conn: asyncpg.Connection, table: str, run_id: int) -> str:
    """Create run ``run_id``'s empty partition of ``table`` (in the caller's transaction,
    so COPY FREEZE may load it) through the owner's function: the serving role owns no
    table (0055, docs/ballots.md "Least privilege")."""
    expected = partition_name(table, run_id)
    name: str = await conn.fetchval("select evalsvc_result_partition_new($1, $2)", table, run_id)
    assert name == expected, (name, expected)
    return name


async def _attach_partition(conn: asyncpg.Connection, table: str, run_id: int) -> None:
    """Index the loaded partition and attach it (SHARE UPDATE EXCLUSIVE on the parent:
    readers are not blocked; the CHECK constraint spares the attach its validation scan).
    From then on the serving role cannot change it."""
    await conn.execute("select evalsvc_result_partition_attach($1, $2)", table, run_id)


async def write_units(conn: asyncpg.Connection, run_id: int, columns: ColumnSet, n: int) -> int:
    """Create ``run_id``'s partition of ``result_units``, load it, index it, attach it.

    The partition is created as a plain table in the caller's transaction (nobody else
    sees it), loaded with one binary COPY (FREEZE), indexed after the load and attached
    (SHARE UPDATE EXCLUSIVE on the parent: readers are not blocked; the CHECK constraint
    spares the attach its validation scan).
    """
    table = "result_units"
    name = await _new_partition(conn, table, run_id)
    await copyio.write(conn, name, {"run_id": ("int8", run_id), **columns}, n, freeze=True)
    await _attach_partition(conn, table, run_id)
    return n


async def set_month_runs(conn: asyncpg.Connection, run_id: int, month_runs: list[int]) -> None:
    await conn.execute("update result_runs set month_runs = $2 where id = $1", run_id, month_runs)


async def reusable_month_run(conn: asyncpg.Connection, fingerprint: str) -> int | None:
    """A complete city-wide month run computed from the same inputs and profile."""
    run_id: int | None = await conn.fetchval(Q["reusable_month_run"], fingerprint)
    return run_id


@dataclass(frozen=True, slots=True)
class UnchangedRun:
    """A month (quarter) run whose per-month rows are unchanged since it read them."""

    first_month: date
    run_id: int
    fingerprint: str
    rows_digest: str


async def unchanged_period_runs(
    conn: asyncpg.Connection,
    starts: list[date],
    profile: dict[str, Any],
    variant_digest: str | None,
    scoring_version: str,
) -> dict[date, UnchangedRun]:
    """Per period start, the run a year may take it from if the fingerprints agree
    (0100: ``input_month_changes``, ``read_snapshot``, ``rows_digest``)."""
    rows = await conn.fetch(
        Q["unchanged_period_runs"], starts, profile, variant_digest, scoring_version
    )
    found = (
        UnchangedRun(r["first_month"], r["id"], r["fingerprint"], r["rows_digest"]) for r in rows
    )
    return {run.first_month: run for run in found}


async def set_read_state(
    conn: asyncpg.Connection, run_id: int, snapshot: str, rows_digest: str, carry: bytes
) -> None:
    """Store what a month (quarter) run read and its carry (0100), so a later year may
    take the month from it without reading or scoring it again."""
    await conn.execute(Q["run_read_state"], run_id, snapshot, rows_digest)
    await conn.execute(Q["carry_insert"], run_id, carry)


async def refresh_read_state(
    conn: asyncpg.Connection,
    run_id: int,
    snapshot: str,
    rows_digest: str,
    carry: Callable[[], bytes],
) -> None:
    """A year read a month again and found month run ``run_id`` of the same fingerprint:
    the month's rows had ``rows_digest`` in ``snapshot`` too, so that snapshot becomes the
    run's (a change note made since the run first read would otherwise make every later
    year read the month again); a run stored before 0100 gets its carry."""
    await conn.execute(Q["run_read_state"], run_id, snapshot, rows_digest)
    if not await conn.fetchval(Q["carry_exists"], run_id):
        await conn.execute(Q["carry_insert"], run_id, await asyncio.to_thread(carry))


async def carries_of_runs(conn: asyncpg.Connection, run_ids: list[int]) -> dict[int, bytes]:
    """The stored carries of ``run_ids`` (run id -> bytes)."""
    rows = await conn.fetch(Q["carries_of_runs"], run_ids)
    return {int(r["run_id"]): bytes(r["carry"]) for r in rows}


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
        for rid in ids:  # the owner's function: the serving role drops no table (0055)
            await conn.execute("select evalsvc_result_partitions_drop($1)", rid)
        await conn.execute("delete from result_runs where id = any($1::bigint[])", ids)


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


async def get_run(
    conn: asyncpg.Connection, run_id: int, units: list[int] | None = None
) -> dict[str, Any]:
    """``units``: a scoped reader's subtree; runs of other scopes (the city's too) read as
    unknown."""
    row = await conn.fetchrow(
        Q["run_select"]
        + " where r.id = $1 and ($2::bigint[] is null or r.scope_unit_id = any($2))",
        run_id,
        units,
    )
    if row is None:
        raise NotFound(f"no result run {run_id}", [FieldProblem("run", "not found")])
    return dict(row)


async def list_runs(
    conn: asyncpg.Connection,
    period: str | None,
    limit: int,
    offset: int,
    units: list[int] | None = None,
) -> tuple[list[dict[str, Any]], int]:
    where = (
        " where ($1::text is null or r.period = $1)"
        " and ($2::bigint[] is null or r.scope_unit_id = any($2))"
    )
    total: int = await conn.fetchval("select count(*) from result_runs r" + where, period, units)
    rows = await conn.fetch(
        Q["run_select"] + where + " order by r.id desc limit $3 offset $4",
        period,
        units,
        limit,
        offset,
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


async def cadre_rows(
    conn: asyncpg.Connection, run_id: int, cadre_id: int
) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """A cadre's period rows and annual row (None for a month run) in a run.

    The period rows come from the runs named in ``month_runs`` (partitions by run id).
    """
    runs = await month_runs(conn, run_id) or [run_id]
    month_names = ", ".join(f"x.{c}" for c, _ in MONTH.columns)
    months = await conn.fetch(
        f"select r.first_month as month, {month_names} from result_runs r"
        " join cadre_period_results x on x.run_id = r.id"
        " where r.id = any($1::bigint[]) and x.cadre_id = $2 order by r.first_month",
        runs,
        cadre_id,
    )
    year_names = ", ".join(c for c, _ in YEAR.columns)
    year = await conn.fetchrow(
        f"select {year_names} from cadre_year_results where run_id = $1 and cadre_id = $2",
        run_id,
        cadre_id,
    )
    return [_month_record(r) for r in months], (_year_record(year) if year else None)


async def run_cadre(conn: asyncpg.Connection, run_id: int, cadre_id: int) -> dict[str, Any] | None:
    """The cadre as the run saw it (its organisation snapshot, ``result_org_cadres_pkey``):
    code, full name, position, peer group, unit code and name; None when the run's
    organisation does not hold the cadre (added after it was computed)."""
    row = await conn.fetchrow(
        "select c.code, c.full_name, c.position, c.peer_group, u.code as unit_code,"
        " u.name as unit_name from result_runs r"
        " join result_org_cadres c on c.org_id = r.org_id and c.cadre_id = $2"
        " left join result_org_units u on u.org_id = r.org_id and u.unit_id = c.unit_id"
        " where r.id = $1",
        run_id,
        cadre_id,
    )
    return dict(row) if row is not None else None


async def run_unit(conn: asyncpg.Connection, run_id: int, unit_id: int) -> dict[str, Any] | None:
    """A unit's code and name as the run saw it (``result_org_units_pkey``)."""
    row = await conn.fetchrow(
        "select u.code, u.name from result_runs r"
        " join result_org_units u on u.org_id = r.org_id and u.unit_id = $2 where r.id = $1",
        run_id,
        unit_id,
    )
    return dict(row) if row is not None else None


def _month_record(row: asyncpg.Record) -> dict[str, Any]:
    out = dict(row)
    out.pop("cadre_id")
    out.pop("unit_id")
    return {k: clean(v) for k, v in out.items()}


def _year_record(row: asyncpg.Record) -> dict[str, Any]:
    out = {k: v for k, v in dict(row).items() if k not in ("cadre_id", "unit_id")}
    return {k: clean(v) for k, v in out.items()}


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
    """Members of ``unit_ids`` as the run saw them (its organisation snapshot) with their
    level in the run, in Vietnamese name order (the rows' ``unit_id`` index)."""
    layout = YEAR if annual else MONTH
    if not annual:
        run_id = await month_source(conn, run_id, month)
    where = (
        f" from {layout.table} x join result_runs rr on rr.id = x.run_id"
        " join result_org_cadres c on c.org_id = rr.org_id and c.cadre_id = x.cadre_id"
        " join result_org_units u on u.org_id = rr.org_id and u.unit_id = x.unit_id"
        " where x.run_id = $1 and x.unit_id = any($2::bigint[])"
        " and ($3::int2 is null or x.level = $3) and ($4::text is null or c.position = $4)"
    )
    args = (run_id, unit_ids, level, position)
    total: int = await conn.fetchval("select count(*)" + where, *args)
    rows = await conn.fetch(
        f"select c.code, c.full_name, c.position, u.code as unit_code, x.{layout.score} as score,"
        " x.level, x.reasons" + where + " order by c.name_key, c.code"
        " limit $5 offset $6",
        *args,
        limit,
        offset,
    )
    return [_record(r) for r in rows], total


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
    """Ranked units of a run by block and rank, named as the run saw them."""
    where = (
        " from result_units r join result_runs rr on rr.id = r.run_id"
        " join result_org_units u on u.org_id = rr.org_id and u.unit_id = r.unit_id"
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
    """Cadres whose level differs between two runs (joined on their ``cadre_id`` indexes)."""
    layout = YEAR if annual else MONTH
    if not annual:
        run_a = await month_source(conn, run_a, month)
        run_b = await month_source(conn, run_b, month)
    src = (
        f" from {layout.table} a join {layout.table} b on b.run_id = $2"
        " and b.cadre_id = a.cadre_id"
        " join result_runs rb on rb.id = b.run_id"
        " join result_org_cadres c on c.org_id = rb.org_id and c.cadre_id = b.cadre_id"
        " where a.run_id = $1 and a.level <> b.level"
    )
    total: int = await conn.fetchval("select count(*)" + src, run_a, run_b)
    rows = await conn.fetch(
        "select c.code, c.full_name, a.level as level_a, b.level as level_b,"
        f" a.{layout.score} as score_a, b.{layout.score} as score_b"
        + src
        + " order by c.code limit $3 offset $4",
        run_a,
        run_b,
        limit,
        offset,
    )
    return [_record(r) for r in rows], total


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
        " join result_runs rb on rb.id = b.run_id"
        " join result_org_units u on u.org_id = rb.org_id and u.unit_id = a.unit_id"
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
    if not annual:
        run_id = await month_source(conn, run_id, month)
    query = Q["member_levels_year" if annual else "member_levels_period"]
    return {int(r["level"]): int(r["n"]) for r in await conn.fetch(query, run_id, unit_ids)}
