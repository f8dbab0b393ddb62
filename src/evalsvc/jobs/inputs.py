"""Read a city-period from PostgreSQL into the scoring core's input arrays.

Every table is read with one binary COPY into numpy arrays (``store.copyio``); ids are
mapped to rows with ``np.searchsorted`` on the sorted id arrays. Tasks come from the
per-(cadre, month) totals the ingestion keeps (``task_month_totals``), never from the raw
records. Tables of parts that are not installed (ingestion, ballots) read as empty, so a
registry-only database still recomputes (every month then lacks a task basis).
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Collection, Mapping, Sequence
from datetime import date
from typing import Any

import asyncpg
import numpy as np
import numpy.typing as npt

from evalsvc.domain.recompute import PeriodSpan
from evalsvc.scoring import (
    DisciplineRecords,
    Manifestations,
    MonthInputs,
    Org,
    Profile,
    Remediation,
    TaskSums,
    YearInputs,
)
from evalsvc.scoring.quarter import pool_quarter
from evalsvc.store import copyio

I64 = npt.NDArray[np.int64]
MICRO = 1e-6  # task_month_totals keeps weighted sums in millionths of a converted unit
DISCIPLINE_FORMS = (
    "khien_trach",
    "canh_cao",
    "ha_bac_luong",
    "giang_chuc",
    "cach_chuc",
    "buoc_thoi_viec",
)


@dataclasses.dataclass(frozen=True, slots=True)
class City:
    """One period's inputs with the ids behind the rows.

    Attributes:
        period: the period read.
        cadre_ids: ``(n,)`` sorted cadre ids (row i is cadre ``cadre_ids[i]``).
        unit_ids: ``(u,)`` sorted unit ids.
        org: the organisation.
        year: the year's inputs; ``periods`` holds the months read (for a month run that
            one month; a year run may take the others from earlier month runs).
        counts: rows read per table.
        months: the first day of each month in ``year.periods``.
    """

    period: PeriodSpan
    cadre_ids: I64
    unit_ids: I64
    org: Org
    year: YearInputs
    counts: dict[str, int]
    months: list[date]


def yyyymm(d: date) -> int:
    return d.year * 100 + d.month


Picked = npt.NDArray[np.bool_] | slice
"""A boolean mask, or ``slice(None)`` when it would select everything (no copy)."""


def _all(mask: npt.NDArray[np.bool_]) -> Picked:
    return slice(None) if bool(mask.all()) else mask


def _rows(ids: I64, values: npt.NDArray[Any]) -> tuple[I64, npt.NDArray[np.bool_]]:
    """Rows of ``values`` in the sorted ``ids`` and whether each value was found."""
    pos = np.searchsorted(ids, values)
    pos = np.minimum(pos, max(len(ids) - 1, 0))
    found = (ids[pos] == values) if len(ids) else np.zeros(len(values), dtype=bool)
    return pos.astype(np.int64), found


def _picked_rows(ids: I64, values: npt.NDArray[Any]) -> tuple[I64, Picked]:
    """:func:`_rows`, with what it finds everywhere as ``slice(None)``.

    A month's rows usually come as one row per cadre in id order (from its pack): then
    they are ``ids`` itself, and neither a search nor a copy is needed.
    """
    if len(values) == len(ids) and np.array_equal(ids, values):
        return np.arange(len(ids), dtype=np.int64), slice(None)
    rows, found = _rows(ids, values)
    return rows, _all(found)


async def installed_tables(conn: asyncpg.Connection) -> set[str]:
    """Which input tables exist (a part not installed reads as empty)."""
    names = (
        "task_month_totals",
        "supervisor_assessments",
        "remediation_items",
        "discipline_records",
        "confidence_votes",
        "unit_indicators",
        "ballot_flags",
        "ballot_tallies",
        "ballot_rounds",
    )
    rows = await conn.fetch(
        "select t from unnest($1::text[]) t where to_regclass(t) is not null", list(names)
    )
    return {r["t"] for r in rows}


async def read_org(conn: asyncpg.Connection, year: int) -> tuple[I64, I64, Org]:
    """Cadres and units as arrays (cadres_pkey / units_pkey order)."""
    # One index-only scan of cadres_code_order_idx (code collate "C" include ...) gives
    # every cadre in code order (the quota's last tie-break) without a sort.
    cid, cunit, pos_peer = await copyio.read(
        conn,
        """
        select id, unit_id,
               coalesce(peer_group_id, 0) * 4
               + (case position when 'head' then 2 when 'deputy' then 1 else 0 end)
        from cadres order by code collate "C"
        """,
        ["int8", "int8", "int8"],
    )
    by_id = np.argsort(cid, kind="stable")  # row i of the arrays = i-th smallest id
    code_rank = by_id + 1  # its position in code order
    cid, cunit, pos_peer = cid[by_id], cunit[by_id], pos_peer[by_id]
    pos, peer = pos_peer % 4, pos_peer // 4
    uid, parent, block, outstanding, agency = await copyio.read(
        conn,
        """
        select u.id, coalesce(u.parent_id, -1),
               (case when u.ranking_block is null then -1
                     else dense_rank() over (order by u.ranking_block nulls last) - 1 end)::int4,
               exists (select 1 from unit_outstanding_years o
                       where o.unit_id = u.id and o.year = $1),
               coalesce(u.agency, u.ranking_block is not null)
        from units u order by u.id
        """,
        ["int8", "int8", "int4", "bool", "bool"],
        year,
    )
    unit_rows, _ = _rows(uid, cunit)
    parent_rows, has_parent = _rows(uid, parent)
    org = Org(
        position=pos.astype(np.int8),
        unit=unit_rows,
        peer_group=peer,
        code=code_rank.astype(np.int64),
        unit_parent=np.where(has_parent, parent_rows, -1).astype(np.int64),
        unit_block=block.astype(np.int64),
        unit_outstanding=outstanding,
        unit_agency=agency,
    )
    return cid, uid, org


@dataclasses.dataclass(frozen=True, slots=True)
class Spells:
    """Employment spells: cadre id, first and last day (open spells end 2999-12-31)."""

    cadre: I64
    start: npt.NDArray[Any]
    end: npt.NDArray[Any]


@dataclasses.dataclass(frozen=True, slots=True)
class Registry:
    """The registry part of a year's inputs (``read_org`` and the employment spells)."""

    cadre_ids: I64
    unit_ids: I64
    org: Org
    spells: Spells


async def read_registry(conn: asyncpg.Connection, year: int) -> Registry:
    """The registry's rows as arrays (about 400,000 rows at city scale)."""
    cadre_ids, unit_ids, org = await read_org(conn, year)
    sc, ss, se = await copyio.read(
        conn,
        "select cadre_id, start_date, coalesce(end_date, '2999-12-31') from employment_spells",
        ["int8", "date", "date"],
    )
    return Registry(cadre_ids, unit_ids, org, Spells(sc, ss, se))


def _whole_months(start: npt.NDArray[Any], end: npt.NDArray[Any]) -> tuple[I64, I64]:
    """First and last whole calendar month (as months since 1970) of date spans."""
    s = start.astype("datetime64[D]")
    e = end.astype("datetime64[D]")
    sm = s.astype("datetime64[M]")
    first = sm.astype(np.int64) + (s != sm.astype("datetime64[D]"))
    em = e.astype("datetime64[M]")
    month_end = (em + 1).astype("datetime64[D]") - 1
    last = em.astype(np.int64) - (e != month_end)
    return first.astype(np.int64), last.astype(np.int64)


async def read_months(
    conn: asyncpg.Connection, cadre_ids: I64, period: PeriodSpan, spells: Spells
) -> tuple[npt.NDArray[np.bool_], I64, I64, npt.NDArray[np.bool_]]:
    """Activity per cadre and month of the year (Decree 90: whole calendar months).

    Returns:
        ``(active (12, n) employed and not absent, months_employed (n,),
        months_absent_non_maternity (n,), employed (12, n))`` over the calendar year.
    """
    n = len(cadre_ids)
    y0 = (np.datetime64(f"{period.year}-01", "M")).astype(np.int64)
    sc, ss, se = spells.cadre, spells.start, spells.end
    ac, ak, a_s, a_e = await copyio.read(
        conn,
        "select cadre_id, kind = 'maternity', start_date, end_date from absences "
        "where end_date >= $1 and start_date <= $2",
        ["int8", "bool", "date", "date"],
        date(period.year, 1, 1),
        date(period.year, 12, 31),
    )
    employed = np.zeros((12, n), dtype=bool)
    absent_any = np.zeros((12, n), dtype=bool)
    absent_other = np.zeros((12, n), dtype=bool)
    rows, ok = _rows(cadre_ids, sc)
    f, last = _whole_months(ss, se)
    arows, aok = _rows(cadre_ids, ac)
    af, al = _whole_months(a_s, a_e)
    for i in range(12):
        m = y0 + i
        employed[i, rows[ok & (f <= m) & (last >= m)]] = True
        hit = aok & (af <= m) & (al >= m)
        absent_any[i, arows[hit]] = True
        absent_other[i, arows[hit & ~ak]] = True
    active = employed & ~absent_any
    months_employed = employed.sum(axis=0).astype(np.int64)
    months_absent = (absent_other & employed).sum(axis=0).astype(np.int64)
    return active, months_employed, months_absent, employed


async def read_confirmed(
    conn: asyncpg.Connection, first: date, last_day: date
) -> list[npt.NDArray[Any]]:
    """Confirmed (target, item, group, round start, round end) of closed rounds overlapping
    ``[first, last_day]``: the ``ballot_flags`` view's "confirmed" rows, expanded here.

    The view expands every tally against every item of its form in SQL (seconds for a
    city round); the tallies' ``confirmed`` bitmaps are read instead (only targets with a
    confirmed item) and expanded with numpy against the rounds' form items. An item is its
    code's rank among all catalog item codes, the same whatever rounds are read (month
    fingerprints of month and year runs agree).
    """
    r_id, r_leader, r_bit, r_item, r_group = await copyio.read(
        conn,
        """
        with codes as (
            select code, (dense_rank() over (order by code))::int8 as item
            from (select distinct code from catalog_items) c
        )
        select r.id, i.form = 'leader', i.bit, codes.item, i.group_no::int8
        from ballot_rounds r
        join ballot_form_items i on i.catalog_id = r.catalog_id
        join codes on codes.code = i.code
        where r.status = 'closed' and r.period_end >= $1 and r.period_start <= $2
        """,
        ["int8", "bool", "int4", "int8", "int8"],
        first,
        last_day,
    )
    t_round, t_target, t_leader, t_bits, t_start, t_end = await copyio.read(
        conn,
        """
        select t.round_id, t.target_id, t.form = 'leader', t.confirmed,
               r.period_start, r.period_end
        from ballot_tallies t join ballot_rounds r on r.id = t.round_id
        where r.status = 'closed' and t.confirmed <> 0
          and r.period_end >= $1 and r.period_start <= $2
        """,
        ["int8", "int8", "bool", "int8", "date", "date"],
        first,
        last_day,
    )
    parts: list[list[npt.NDArray[Any]]] = []
    for rid, leader in {(int(a), bool(b)) for a, b in zip(r_id, r_leader, strict=True)}:
        items = (r_id == rid) & (r_leader == leader)
        rows = np.flatnonzero((t_round == rid) & (t_leader == leader))
        if not rows.size:
            continue
        bits, item, group = r_bit[items], r_item[items], r_group[items]
        hit = (t_bits[rows][:, None] >> bits[None, :].astype(np.int64)) & 1 == 1
        tr, ti = np.nonzero(hit)
        parts.append(
            [
                t_target[rows][tr],
                item[ti],
                group[ti],
                t_start[rows][tr],
                t_end[rows][tr],
            ]
        )
    if not parts:
        return [
            np.zeros(0, np.int64),
            np.zeros(0, np.int64),
            np.zeros(0, np.int64),
            np.zeros(0, "datetime64[D]"),
            np.zeros(0, "datetime64[D]"),
        ]
    cols = [np.concatenate([p[k] for p in parts]) for k in range(5)]
    order = np.lexsort((cols[3].astype(np.int64), cols[2], cols[1], cols[0]))
    return [c[order] for c in cols]


async def read_confidence(
    conn: asyncpg.Connection, tables: set[str], cadre_ids: I64, year: int
) -> npt.NDArray[np.float64]:
    """Formal QĐ 96 votes in the year: the latest vote's low share per cadre (NaN: none).

    Always read (a few thousand rows): the table has no change marker (``0005``), so no
    earlier read of it can be trusted.
    """
    conf = np.full(len(cadre_ids), np.nan)
    if "confidence_votes" in tables:
        vc, vlow = await copyio.read(
            conn,
            "select distinct on (cadre_id) cadre_id, low::float8 / greatest(present, 1) "
            "from confidence_votes where vote_date between $1 and $2 "
            "order by cadre_id, vote_date desc",
            ["int8", "float8"],
            date(year, 1, 1),
            date(year, 12, 31),
        )
        r, ok = _rows(cadre_ids, vc)
        conf[r[ok]] = vlow[ok]
    return conf


@dataclasses.dataclass(frozen=True, slots=True)
class Base:
    """The year-wide part of a period's inputs, read before any month's own rows.

    The month rows are read apart (:func:`read_month_rows`) so that a second connection
    in the same snapshot can read some tables meanwhile.
    """

    period: PeriodSpan
    tables: set[str]
    counts: dict[str, int]
    registry: Registry
    cadre_ids: I64
    unit_ids: I64
    org: Org
    active: npt.NDArray[np.bool_]
    months_employed: I64
    months_absent: I64
    discipline: tuple[npt.NDArray[Any], ...]
    remediation: Remediation
    unit_remediation: Remediation
    confidence_low_share: npt.NDArray[np.float64]
    confirmed: list[npt.NDArray[Any]] | None
    low_confidence: list[npt.NDArray[Any]] | None
    employed: npt.NDArray[np.bool_] | None = None  # (12, n) employed, absent or not


async def read_base(
    conn: asyncpg.Connection, period: PeriodSpan, registry: Registry | None = None
) -> Base:
    """The registry (read, or as given) and the year-wide inputs of ``period``."""
    tables = await installed_tables(conn)
    counts: dict[str, int] = {}
    if registry is None:
        registry = await read_registry(conn, period.year)
        counts["registry_rows"] = len(registry.cadre_ids) + len(registry.spells.cadre)
    cadre_ids, unit_ids, org = registry.cadre_ids, registry.unit_ids, registry.org
    n, u = org.n, org.u
    counts["cadres"], counts["units"] = n, u
    active, months_employed, months_absent, employed = await read_months(
        conn, cadre_ids, period, registry.spells
    )
    first, last = period.month_starts()[0], period.month_starts()[-1]
    last_day = ((np.datetime64(last, "M") + 1).astype("datetime64[D]") - 1).item()

    # Discipline effective in the year (discipline_records_effective_idx).
    disc_cadre = disc_month = disc_form = disc_violation = np.zeros(0, dtype=np.int64)
    disc_before = np.zeros(0, dtype=bool)
    if "discipline_records" in tables:
        dc, dm, dform, dviol, dbefore = await copyio.read(
            conn,
            """
            select d.cadre_id, (extract(year from d.effective_on) * 100
                                + extract(month from d.effective_on))::int4,
                   (array_position($3::text[], d.form) - 1)::int4,
                   (dense_rank() over (order by d.cadre_id, d.violation_id))::int8,
                   exists (select 1 from discipline_records e
                           where e.cadre_id = d.cadre_id and e.violation_id = d.violation_id
                             and e.effective_on < $1)
            from discipline_records d
            where d.effective_on between $1 and $2
            """,
            ["int8", "int4", "int4", "int8", "bool"],
            date(period.year, 1, 1),
            date(period.year, 12, 31),
            list(DISCIPLINE_FORMS),
        )
        disc_cadre, disc_month, disc_form, disc_violation, disc_before = (
            dc,
            dm.astype(np.int64),
            dform.astype(np.int64),
            dviol,
            dbefore,
        )
        counts["discipline_records"] = len(dc)

    # Remediation items due up to the end of the year (remediation_items_due_idx).
    rem_c = rem_u = Remediation.empty()
    if "remediation_items" in tables:
        rc, ru, rdue, rver, rcanc = await copyio.read(
            conn,
            "select coalesce(cadre_id, -1), coalesce(unit_id, -1), due_on, "
            "coalesce(verified_on, '0001-01-01'), status = 'cancelled' "
            "from remediation_items where due_on between $1 and $2 order by id",
            ["int8", "int8", "date", "date", "bool"],
            date(period.year, 1, 1),
            date(period.year, 12, 31),
        )
        ver = np.where(rver == np.datetime64("0001-01-01"), np.datetime64("NaT"), rver).astype(
            "datetime64[D]"
        )
        crow, cok = _rows(cadre_ids, rc)
        urow, uok = _rows(unit_ids, ru)
        rem_c = Remediation(crow[cok], rdue[cok], ver[cok], rcanc[cok])
        rem_u = Remediation(urow[uok], rdue[uok], ver[uok], rcanc[uok])
        counts["remediation_items"] = len(rc)

    conf = await read_confidence(conn, tables, cadre_ids, period.year)

    # Ballots: confirmed items and low-confidence flags of closed rounds covering a month.
    bal = low = None
    if {"ballot_flags", "ballot_tallies", "ballot_rounds"} <= tables:
        bal = await read_confirmed(conn, first, last_day)
        low = await copyio.read(
            conn,
            """
            select t.target_id, r.period_start, r.period_end
            from ballot_tallies t join ballot_rounds r on r.id = t.round_id
            where r.status = 'closed' and t.low_confidence
              and r.period_end >= $1 and r.period_start <= $2
            order by 1, 2
            """,
            ["int8", "date", "date"],
            first,
            last_day,
        )
        counts["ballot_flags"] = len(bal[0])

    return Base(
        period,
        tables,
        counts,
        registry,
        cadre_ids,
        unit_ids,
        org,
        active,
        months_employed,
        months_absent,
        (disc_cadre, disc_month, disc_form, disc_violation, disc_before),
        rem_c,
        rem_u,
        conf,
        bal,
        low,
        employed,
    )


@dataclasses.dataclass(frozen=True, slots=True)
class MonthRows:
    """The per-month tables' rows of some months, as read (``None``: table not installed).

    Attributes:
        months: the first day of each month read.
        tasks: task totals ``(cadre, month, k_assigned, k_done, k_done_quality,
            k_done_timely, k_done_exceeded, k_done_late)``.
        assessments: supervisor assessments ``(cadre, month, politics, capacity,
            innovation, organising, cohesion)``.
        indicators: unit indicators ``(unit, month, satisfaction)``.
        skipped: the months not read (a year takes them from month runs).
    """

    months: list[date]
    tasks: list[npt.NDArray[Any]] | None
    assessments: list[npt.NDArray[Any]] | None
    indicators: list[npt.NDArray[Any]] | None
    skipped: frozenset[date] = frozenset()


MONTH_TABLES = ("task_month_totals", "supervisor_assessments", "unit_indicators")


async def read_month_rows(
    conn: asyncpg.Connection,
    months: Sequence[date],
    parts: Sequence[str] = MONTH_TABLES,
    skip: Collection[date] = (),
) -> MonthRows:
    """The rows of ``months`` of the per-month tables ``parts`` (``*_month_idx`` indexes);
    the months in ``skip`` read as if they had no rows (a year takes what they gave from a
    month run, see ``jobs/snapshot.py``).

    Independent of :func:`read_base`, so a second connection in the same snapshot can
    read some of them meanwhile (:func:`merge_month_rows` joins the halves).
    """
    tables = await installed_tables(conn) & set(parts)
    wanted = [yyyymm(m) for m in months if m not in skip]
    tasks = assessments = indicators = None

    if "task_month_totals" in tables:
        tasks = await copyio.read(
            conn,
            # only what TaskSums takes (every column read is bytes on the wire and a
            # conversion: 2.4 M rows for a year at city scale)
            "select cadre_id, month, k_assigned, k_done, k_done_quality, k_done_timely, "
            "k_done_exceeded, k_done_late "
            "from task_month_totals where month = any($1::int4[])",
            ["int8", "int4", "int8", "int8", "int8", "int8", "int8", "int8"],
            wanted,
        )
    if "supervisor_assessments" in tables:
        assessments = await copyio.read(
            conn,
            "select cadre_id, month, politics, capacity, innovation, "
            "coalesce(organising, 'NaN'), coalesce(cohesion, 'NaN') "
            "from supervisor_assessments where month = any($1::int4[])",
            ["int8", "int4", "float8", "float8", "float8", "float8", "float8"],
            wanted,
        )
    if "unit_indicators" in tables:
        indicators = await copyio.read(
            conn,
            "select unit_id, month, coalesce(satisfaction_pct, 'NaN') from unit_indicators "
            "where month = any($1::int4[])",
            ["int8", "int4", "float8"],
            wanted,
        )
    return MonthRows(
        list(months), tasks, assessments, indicators, frozenset(m for m in months if m in skip)
    )


def period_starts(span: PeriodSpan, profile: Profile) -> list[date]:
    """The first months of the rating periods in ``span``: its months, or under a quarterly
    profile (``qd366``) its quarters (DOMAIN part 3, "Quarterly tracking")."""
    starts = span.month_starts()
    if profile.period == "quarter":
        return [s for s in starts if (s.month - 1) % 3 == 0]
    return starts


def _pool_quarters(
    months: list[date], periods: list[MonthInputs], profile: Profile
) -> tuple[list[MonthInputs], list[date]]:
    """The quarters of ``months`` pooled (:func:`~evalsvc.scoring.quarter.pool_quarter`).

    Raises:
        ValueError: a quarter is not read whole.
    """
    by_start = dict(zip(months, periods, strict=True))
    starts = sorted({date(m.year, m.month - (m.month - 1) % 3, 1) for m in months})
    pooled = []
    for q in starts:
        parts = [date(q.year, q.month + i, 1) for i in range(3)]
        missing = [f"{p:%Y-%m}" for p in parts if p not in by_start]
        if missing:
            raise ValueError(f"quarter {q:%Y-%m} is missing month(s) {', '.join(missing)}")
        pooled.append(pool_quarter([by_start[p] for p in parts], profile))
    return pooled, starts


def add_month_rows(a: MonthRows, b: MonthRows) -> MonthRows:
    """``a``'s months with the rows of both (``b`` read months ``a`` skipped)."""

    def both(x: list[npt.NDArray[Any]] | None, y: list[npt.NDArray[Any]] | None) -> Any:
        if x is None or y is None:
            return x if y is None else y
        return [np.concatenate([p, q]) for p, q in zip(x, y, strict=True)]

    return MonthRows(
        a.months,
        both(a.tasks, b.tasks),
        both(a.assessments, b.assessments),
        both(a.indicators, b.indicators),
        a.skipped - set(b.months),
    )


def merge_month_rows(a: MonthRows, b: MonthRows) -> MonthRows:
    """Rows of the same months read in two parts (each table from one of them)."""
    return MonthRows(
        a.months,
        a.tasks if a.tasks is not None else b.tasks,
        a.assessments if a.assessments is not None else b.assessments,
        a.indicators if a.indicators is not None else b.indicators,
        a.skipped | b.skipped,
    )


async def read_periods(
    conn: asyncpg.Connection, base: Base, profile: Profile, months: Sequence[date]
) -> City:
    """The month rows of ``months`` (tasks, assessments, indicators) on top of ``base``."""
    return assemble(base, await read_month_rows(conn, months), profile)


def assemble(base: Base, month_rows: MonthRows, profile: Profile) -> City:
    """The scoring core's inputs of ``month_rows.months`` with ``base``'s year-wide ones."""
    period, cadre_ids, unit_ids = base.period, base.cadre_ids, base.unit_ids
    org, n, u = base.org, base.org.n, base.org.u
    counts = dict(base.counts)
    active = base.active
    disc_cadre, disc_month, disc_form, disc_violation, disc_before = base.discipline
    bal, low = base.confirmed, base.low_confidence
    months = month_rows.months
    tm = tc = None
    if month_rows.tasks is not None:
        tc, tm, *tsums = month_rows.tasks
        counts["task_month_totals"] = len(tc)
    sa = month_rows.assessments
    if sa is not None:
        counts["supervisor_assessments"] = len(sa[0])
    ui = month_rows.indicators

    periods: list[MonthInputs] = []
    full = profile.sub_criterion_max
    # A skipped month's assessment arrays: nothing reads them (its fingerprint takes the
    # stored rows digest, its scores the stored carry), so the months share one read-only set.
    blank = []
    if month_rows.skipped:
        blank = [np.full((n, 3), full), np.zeros(n, dtype=bool), np.full(n, np.nan)]
        for arr in blank:
            arr.flags.writeable = False
    ballots = None
    if bal is not None and low is not None:  # each flag's cadre row, once for all months
        ballots = (bal, low, *_rows(cadre_ids, bal[0]), *_rows(cadre_ids, low[0]))
    for start in months:
        ym = yyyymm(start)
        mi = start.month - 1
        if tm is not None and tc is not None:
            sel = _all(tm == ym)
            rows, ok = _picked_rows(cadre_ids, tc[sel])
            ka, kd, kq, kt, exc, late = (x[sel][ok] for x in tsums)
            rows = rows[ok]
            if rows.size and not np.all(rows[1:] >= rows[:-1]):
                # one order whatever the scan: equal inputs, equal month fingerprints
                by_row = np.argsort(rows, kind="stable")
                rows = rows[by_row]
                ka, kd, kq, kt, exc, late = (x[by_row] for x in (ka, kd, kq, kt, exc, late))
            tasks = TaskSums(
                rows,
                ka * MICRO,
                kd * MICRO,
                kq * MICRO,
                kt * MICRO,
                # Σ k·done of exceeded / late records: the gates' k-weighted shares
                # (DOMAIN part 3 step 5; migration 0031).
                exc * MICRO,
                late * MICRO,
                error_penalty=0.25,
                delay_penalty=0.25,
            )
        else:
            z = np.zeros(0)
            tasks = TaskSums(np.zeros(0, dtype=np.int64), z, z, z, z, z, z)
        if start in month_rows.skipped:
            sub, has, capacity = blank
            cohesion = capacity
        else:
            sub = np.full((n, 3), full)
            has = np.zeros(n, dtype=bool)
            capacity = np.full(n, np.nan)
            cohesion = np.full(n, np.nan)
        if sa is not None and start not in month_rows.skipped:
            sel = _all(sa[1] == ym)
            rows, ok = _picked_rows(cadre_ids, sa[0][sel])
            rr = rows[ok]
            scale = full / 10.0  # stored on the decree's 0-10 scale
            sub[rr] = np.stack([sa[2][sel][ok], sa[3][sel][ok], sa[4][sel][ok]], axis=1) * scale
            has[rr] = True
            capacity[rr] = sa[5][sel][ok]
            cohesion[rr] = sa[6][sel][ok]
        sat = np.full(u, np.nan)
        if ui is not None:
            sel = ui[1] == ym
            rows, ok = _rows(unit_ids, ui[0][sel])
            sat[rows[ok]] = ui[2][sel][ok]
        discipline = np.zeros(n, dtype=np.int64)
        if len(disc_cadre):
            rows, ok = _rows(cadre_ids, disc_cadre[disc_month == ym])
            discipline = np.bincount(rows[ok], minlength=n).astype(np.int64)
        man = Manifestations.empty()
        low_conf = np.zeros(n, dtype=bool)
        month_end = np.datetime64(start, "M") + 1
        if ballots is not None:
            flags, lows, flag_rows, flag_ok, low_rows, low_ok = ballots
            m0 = np.datetime64(start, "D")
            m1 = month_end.astype("datetime64[D]") - 1
            hit = flag_ok & (flags[3] <= m1) & (flags[4] >= m0)
            man = Manifestations(flag_rows[hit], flags[1][hit], flags[2][hit])
            lc = low_ok & (lows[1] <= m1) & (lows[2] >= m0)
            low_conf[low_rows[lc]] = True
        periods.append(
            MonthInputs(
                period=np.datetime64(start, "M"),
                tasks=tasks,
                active=active[mi],
                sub_criteria=sub,
                has_assessment=has,
                capacity=capacity,
                cohesion=cohesion,
                manifestations=man,
                discipline=discipline,
                low_confidence=low_conf,
                bonus=np.zeros(n),
                satisfaction=sat,
                employed=None if base.employed is None else base.employed[mi],
            )
        )
    if profile.period == "quarter":
        periods, months = _pool_quarters(list(months), periods, profile)

    drow, dok = _rows(cadre_ids, disc_cadre)
    year = YearInputs(
        periods=periods,
        remediation=base.remediation,
        unit_remediation=base.unit_remediation,
        months_employed=base.months_employed,
        months_absent=base.months_absent,
        discipline=DisciplineRecords(
            drow[dok], disc_violation[dok], disc_form[dok], disc_before[dok]
        ),
        degradation=np.zeros(n, dtype=bool),
        corruption_in_charge=np.zeros(n, dtype=bool),
        confidence_low_share=base.confidence_low_share,
    )
    return City(period, cadre_ids, unit_ids, org, year, counts, list(months))


async def read_city(
    conn: asyncpg.Connection,
    period: PeriodSpan,
    profile: Profile,
    months: Sequence[date] | None = None,
) -> City:
    """Everything the scoring core needs for ``period`` (a month, or a whole year), with
    the month rows of ``months`` only (default: every month of the period)."""
    base = await read_base(conn, period)
    wanted = period.month_starts() if months is None else months
    return await read_periods(conn, base, profile, wanted)


@dataclasses.dataclass(frozen=True, slots=True)
class Fingerprints:
    """SHA-256 digests of a run's inputs (equal inputs give equal digests).

    Attributes:
        run: every input array and the profile (a month run: the same as its month's).
        months: per month of the period, exactly what that month's cadre and unit scores
            use: ids, the organisation, the year's remediation items, the month's inputs
            and the profile. A year run reuses a month run with the same digest.
        rows: per month of the period, the :func:`rows_digest` of its per-month rows.
    """

    run: str
    months: list[str]
    rows: list[str]


def _digest(*parts: Any) -> bytes:
    h = hashlib.sha256()  # SHA-NI: about twice blake2b's speed here

    def feed(x: Any) -> None:
        if isinstance(x, np.ndarray):
            h.update(str(x.dtype).encode())
            h.update(str(x.shape).encode())
            h.update(np.ascontiguousarray(x).tobytes())
        elif isinstance(x, bytes):
            h.update(x)
        elif dataclasses.is_dataclass(x) and not isinstance(x, type):
            for f in dataclasses.fields(x):
                feed(getattr(x, f.name))
        elif isinstance(x, list | tuple):
            for item in x:
                feed(item)
        else:
            h.update(repr(x).encode())

    for part in parts:
        feed(part)
    return h.digest()


def _profile_bytes(profile: Profile) -> bytes:
    return repr(sorted(profile.to_dict().items())).encode()


def _shared(
    cadre_ids: I64, unit_ids: I64, org: Org, remediation: Remediation, unit_remediation: Remediation
) -> bytes:
    """What every month's scores use besides the month's own rows."""
    return _digest(cadre_ids, unit_ids, org, remediation, unit_remediation)


ROWS_FIELDS = ("tasks", "sub_criteria", "has_assessment", "capacity", "cohesion", "satisfaction")
"""What a period's inputs take from the per-month tables (``MONTH_TABLES``); the rest of
:class:`MonthInputs` comes from what every run reads (:func:`read_base`)."""


def rows_digest(period: MonthInputs) -> str:
    """The digest of what a period took from the per-month tables (stored with a month
    run: a year whose month's rows are unchanged since takes it instead of reading them)."""
    return _digest(*(getattr(period, f) for f in ROWS_FIELDS)).hex()


def _base_digest(period: MonthInputs) -> bytes:
    return _digest(
        *(getattr(period, f.name) for f in dataclasses.fields(period) if f.name not in ROWS_FIELDS)
    )


def _prof(profile: Profile, scoring_version: str) -> bytes:
    return _profile_bytes(profile) + b"\0scoring:" + scoring_version.encode()


def _city_shared(city: City) -> bytes:
    y = city.year
    return _shared(city.cadre_ids, city.unit_ids, city.org, y.remediation, y.unit_remediation)


def _period_fps(
    city: City,
    prof: bytes,
    shared: bytes,
    known: Mapping[date, str],
    only: Collection[date] | None,
) -> dict[date, tuple[str, str]]:
    out: dict[date, tuple[str, str]] = {}
    for start, m in zip(city.months, city.year.periods, strict=True):
        if only is not None and start not in only:
            continue
        rows = known[start] if start in known else rows_digest(m)
        fp = _digest(b"month", shared, _base_digest(m), bytes.fromhex(rows), prof).hex()
        out[start] = (fp, rows)
    return out


def period_fingerprints(
    city: City,
    profile: Profile,
    scoring_version: str,
    known_rows: Mapping[date, str] | None = None,
    only: Collection[date] | None = None,
) -> dict[date, tuple[str, str]]:
    """Per period read (first day; ``only``: those), its fingerprint and its
    :func:`rows_digest` (``known_rows``: see :func:`fingerprints`)."""
    prof = _prof(profile, scoring_version)
    return _period_fps(city, prof, _city_shared(city), known_rows or {}, only)


def fingerprints(
    city: City,
    profile: Profile,
    scoring_version: str,
    known_rows: Mapping[date, str] | None = None,
) -> Fingerprints:
    """Digests of the run's inputs, profile and scoring code, and of each month's
    (:class:`Fingerprints`); a year's digest covers its months' digests.

    ``scoring_version`` (``jobs/scoring_version.py``) is part of every digest: a month
    scored by other scoring code is never taken for this one. ``known_rows``: for the
    periods (by first day) whose per-month rows were not read, their :func:`rows_digest`
    as stored by the month run that read them.
    """
    y = city.year
    prof = _prof(profile, scoring_version)
    shared = _city_shared(city)
    by_month = _period_fps(city, prof, shared, known_rows or {}, None)
    starts = period_starts(city.period, profile)
    months = [by_month[start][0] for start in starts]
    rows_digests = [by_month[start][1] for start in starts]
    if city.period.kind != "year":
        return Fingerprints(months[0], months, rows_digests)
    rest = _digest(
        y.months_employed,
        y.months_absent,
        y.discipline,
        y.degradation,
        y.corruption_in_charge,
        y.confidence_low_share,
    )
    digests = [bytes.fromhex(f) for f in months]
    return Fingerprints(_digest(b"year", shared, *digests, rest, prof).hex(), months, rows_digests)


def fingerprint(city: City, profile: Profile, scoring_version: str) -> str:
    """The run's digest (:func:`fingerprints`)."""
    return fingerprints(city, profile, scoring_version).run
