"""Reading published results for people and HR systems, with explanations; what-if.

The API reaches the scoring vocabulary (level labels, reason codes, what-if) only through
this module. Every read resolves one run (the period's published run, or an explicit run
id) and reads all its rows from it.
"""

from __future__ import annotations

import asyncio
from datetime import date
from typing import Any

import asyncpg
import numpy as np

from evalsvc.domain.access import Principal
from evalsvc.domain.errors import FieldProblem, NotFound, RuleViolation, field_error
from evalsvc.domain.recompute import PeriodSpan, parse_period
from evalsvc.jobs import inputs
from evalsvc.jobs.recompute import resolve_profile
from evalsvc.scoring import levels as lv
from evalsvc.scoring import what_if as score_what_if
from evalsvc.scoring.profiles import PROFILES
from evalsvc.store import cadres as cadre_store
from evalsvc.store import results as store
from evalsvc.store import units as unit_store
from evalsvc.store.scope import subtree_ids

LEVEL_NAMES = {**lv.LEVEL_CODES}
STAGE_REASONS = {
    "level_overrides": (
        "discipline",
        "score_below_50",
        "degradation",
        "corruption_in_charge",
        "low_confidence",
    ),
    "level_caps": ("not_enough_months", "absence_cap", "insufficient_data"),
    "level_gates": ("gate_tasks_done", "gate_exceeded", "unremediated", "gate_late_tasks"),
    "level_link": ("leader_cap",),
    "level": ("quota",),
}


MEMBER_COLUMNS = (
    "code",
    "full_name",
    "position",
    "unit_code",
    "score",
    "level",
    "level_label",
    "reasons",
    "run_id",
)
RANKING_COLUMNS = (
    "block",
    "rank",
    "code",
    "name",
    "u",
    "u1",
    "u2",
    "u3",
    "u4",
    "u5",
    "level",
    "members",
    "kht",
    "pairs",
    "prev_rank",
    "movement",
    "rank_low",
    "rank_high",
    "run_id",
)


def level_view(level: int | None) -> dict[str, Any] | None:
    if level is None:
        return None
    return {"code": lv.LEVEL_CODES[int(level)], "label": lv.LEVEL_LABELS_VI[int(level)]}


def reasons_of(mask: int | None) -> list[str]:
    return lv.reason_names(int(mask or 0))


async def resolve(
    conn: asyncpg.Connection, period: str | None, run: int | None
) -> tuple[int, PeriodSpan, bool, date]:
    """``(run_id, run period, annual rows?, month)`` for a read.

    A month with no published month run falls back to the published run of its year (which
    holds the year's monthly rows).
    """
    if run is not None:
        run_id = await store.resolve_run(conn, None, run)
        info = await store.get_run(conn, run_id)
        span = parse_period(info["period"])
        asked = parse_period(period) if period else span
        if asked.kind == "month" and span.kind == "year":
            if asked.year != span.year:
                raise field_error("period", f"run {run_id} holds {span.text} only")
            return run_id, span, False, asked.first_month
        return run_id, span, span.kind == "year", span.first_month
    if period is None:
        raise field_error("period", "give a period (YYYY or YYYY-MM) or a run id")
    asked = parse_period(period)
    published = await store.published_run(conn, asked.text)
    if published is not None:
        return published, asked, asked.kind == "year", asked.first_month
    if asked.kind == "month":
        year_run = await store.published_run(conn, str(asked.year))
        if year_run is not None:
            return year_run, parse_period(str(asked.year)), False, asked.first_month
    raise NotFound(
        f"no published results for {asked.text}; recompute it first",
        [FieldProblem("period", "nothing published")],
    )


def explain_month_row(row: dict[str, Any], leader: bool) -> dict[str, Any]:
    """Breakdown of a stored period row: components that add up to M (DOMAIN part 3)."""
    m = row["m"]
    comps: list[dict[str, Any]] = []
    if m is not None:
        parts = ["a", "b", "c", "d", "dd", "e"] if leader else ["a", "b", "c"]
        ratios = ", ".join(
            f"{'đ' if p == 'dd' else p}={row[p]:.4f}" for p in parts if row[p] is not None
        )
        kq = row["kq"]
        comps.append(
            {
                "name": "task",
                "points": row["t"],
                "detail": f"{ratios}; KQ={kq:.4f}; T = 70·min(KQ, 1)"
                if kq is not None
                else "no task basis",
            }
        )
        comps.append(
            {"name": "general", "points": row["g_raw"], "detail": "supervisor's sub-criteria"}
        )
        if row["deduction"]:
            comps.append(
                {
                    "name": "manifestation",
                    "points": -row["deduction"],
                    "detail": f"{row['n_manifestations']} confirmed manifestation(s)",
                }
            )
        floor = row["g"] - (row["g_raw"] - row["deduction"])
        if abs(floor) > 1e-12:
            comps.append({"name": "general_floor", "points": floor, "detail": "G kept in [0, 30]"})
        if row["bonus"]:
            comps.append({"name": "bonus", "points": row["bonus"], "detail": "bonus points"})
        rounding = m - (row["g"] + row["t"] + row["bonus"])
        comps.append(
            {"name": "rounding", "points": round(rounding, 10), "detail": "half-up to 2 decimals"}
        )
    return {
        "period": row["month"].strftime("%Y-%m"),
        "score": m,
        "level": level_view(row["level"]),
        "reasons": reasons_of(row["reasons"]),
        "task": {k: row[k] for k in ("assigned", "done", "a", "b", "c", "d", "dd", "e", "kq", "t")},
        "general": {k: row[k] for k in ("g_raw", "deduction", "g", "n_manifestations")},
        "components": comps,
    }


def explain_year_row(row: dict[str, Any]) -> dict[str, Any]:
    """Annual rating with every stage that changed the level and its reason codes."""
    reasons = reasons_of(row["reasons"])
    steps = []
    before = row["level_base"]
    for stage, codes in STAGE_REASONS.items():
        after = row[stage]
        if after != before:
            steps.append(
                {
                    "stage": stage.removeprefix("level_") if stage != "level" else "quota",
                    "from": level_view(before),
                    "to": level_view(after),
                    "reasons": [r for r in reasons if r in codes],
                }
            )
        before = after
    out = {
        "score": row["y"],
        "level": level_view(row["level"]),
        "base_level": level_view(row["level_base"]),
        "reasons": reasons,
        "changes": steps,
        "periods_scored": row["periods_scored"],
        "months_worked": row["worked"],
        "remediation": {
            "due": row["rem_due"],
            "on_time": row["rem_on_time"],
            "verified": row["rem_verified"],
            "rate": row["remediation_rate"],
        },
        "manifestations": row["n_manifestations"],
        "violations": row["violations"],
    }
    if row["quota_keep_rank"] > 0:
        out["quota_keep_rank"] = row["quota_keep_rank"]
    return out


async def cadre_ratings(
    conn: asyncpg.Connection, principal: Principal, code: str, period: str | None, run: int | None
) -> dict[str, Any]:
    """A cadre's rating of a period (annual + months, or one month) with explanations."""
    cadre = await cadre_store.get_cadre(conn, code, principal)  # scope check
    run_id, span, annual, month = await resolve(conn, period, run)
    months, year = await store.cadre_rows(conn, run_id, cadre.id)
    if not annual:
        months = [r for r in months if r["month"] == month]
    if not months and year is None:
        raise NotFound(
            f"cadre {code!r} has no result in run {run_id} (added after it was computed?)",
            [FieldProblem("code", "no result")],
        )
    leader = cadre.position in ("head", "deputy")
    run_info = await store.get_run(conn, run_id)
    return {
        "cadre": {
            "code": cadre.code,
            "full_name": cadre.full_name,
            "position": cadre.position,
            "unit_code": cadre.unit_code,
        },
        "period": span.text if annual else month.strftime("%Y-%m"),
        "run": _run_view(run_info),
        "annual": explain_year_row(year) if (annual and year is not None) else None,
        "months": [explain_month_row(r, leader) for r in months],
    }


def _run_view(info: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": info["id"],
        "period": info["period"],
        "profile": {"name": info["profile_name"], "version": info["profile_version"]},
        "fingerprint": info["fingerprint"],
        "published": info["published"],
        "published_at": info["published_at"],
        "unit_code": info["unit_code"],
        "base_run_id": info["base_run_id"],
        "timings": info["timings"],
        "counts": info["counts"],
        "created_at": info["created_at"],
        "status": info["status"],
    }


async def run_info(conn: asyncpg.Connection, run_id: int) -> dict[str, Any]:
    return _run_view(await store.get_run(conn, run_id))


async def runs(
    conn: asyncpg.Connection, period: str | None, limit: int, offset: int
) -> tuple[list[dict[str, Any]], int]:
    rows, total = await store.list_runs(conn, period, limit, offset)
    return [_run_view(r) for r in rows], total


def _level_code(level: str | None, field: str = "level") -> int | None:
    if level is None:
        return None
    for k, v in lv.LEVEL_CODES.items():
        if v.lower() == level.lower():
            return k
    raise field_error(field, f"unknown level; one of {', '.join(lv.LEVEL_CODES.values())}")


async def unit_members(
    conn: asyncpg.Connection,
    principal: Principal,
    code: str,
    *,
    period: str | None,
    run: int | None,
    subtree: bool,
    level: str | None,
    position: str | None,
    limit: int,
    offset: int,
) -> tuple[list[dict[str, Any]], int]:
    """A unit's members (or its whole subtree's) and their levels in a run."""
    unit = await unit_store.get_unit(conn, code, principal)
    run_id, _, annual, month = await resolve(conn, period, run)
    ids = await subtree_ids(conn, unit.id) if subtree else [unit.id]
    rows, total = await store.member_rows(
        conn,
        run_id=run_id,
        annual=annual,
        month=month,
        unit_ids=ids,
        level=_level_code(level),
        position=position,
        limit=limit,
        offset=offset,
    )
    for r in rows:
        lvl = r.pop("level")
        r["level"] = lv.LEVEL_CODES[lvl]
        r["level_label"] = lv.LEVEL_LABELS_VI[lvl]
        r["reasons"] = " ".join(reasons_of(r["reasons"]))
        r["run_id"] = run_id
    return rows, total


async def unit_level_counts(
    conn: asyncpg.Connection,
    principal: Principal,
    code: str,
    *,
    period: str | None,
    run: int | None,
    subtree: bool,
) -> dict[str, int]:
    """How many members (of the unit, or its whole subtree) hold each level in a run."""
    unit = await unit_store.get_unit(conn, code, principal)
    run_id, _, annual, month = await resolve(conn, period, run)
    ids = await subtree_ids(conn, unit.id) if subtree else [unit.id]
    counts = await store.member_level_counts(
        conn, run_id=run_id, annual=annual, month=month, unit_ids=ids
    )
    return {lv.LEVEL_CODES[k]: n for k, n in counts.items()}


async def rankings(
    conn: asyncpg.Connection,
    *,
    period: str | None,
    run: int | None,
    block: str | None,
    limit: int,
    offset: int,
) -> tuple[list[dict[str, Any]], int]:
    """Units ranked within their blocks, with movement and rank intervals."""
    run_id, _, annual, month = await resolve(conn, period, run)
    rows, total = await store.ranking_rows(
        conn, run_id=run_id, annual=annual, month=month, block=block, limit=limit, offset=offset
    )
    for r in rows:
        r["level_label"] = lv.LEVEL_LABELS_VI[r["level"]]
        r["level"] = lv.LEVEL_CODES[r["level"]]
        if r["prev_rank"] is not None and r["prev_rank"] < 0:
            r["prev_rank"] = None
        r["run_id"] = run_id
    return rows, total


async def unranked(
    conn: asyncpg.Connection, *, period: str | None, run: int | None, block: str | None
) -> list[dict[str, Any]]:
    """Units of a ranking block the period did not rank, each with its reason code
    (``insufficient_data``: no month with task basis, so no U)."""
    run_id, _, annual, month = await resolve(conn, period, run)
    rows = await store.unranked_rows(conn, run_id=run_id, annual=annual, month=month, block=block)
    for r in rows:
        r["reason"] = "insufficient_data" if r["u"] is None else "not_ranked"
        r["run_id"] = run_id
    return rows


async def readable_periods(conn: asyncpg.Connection) -> list[str]:
    """Periods a reader can ask for, newest first: published ones, and the months of a
    published year (its run holds them)."""
    published = await store.published_periods(conn)
    out = set(published)
    for period in published:
        if len(period) == 4:
            out.update(f"{period}-{m:02d}" for m in range(1, 13))
    return sorted(out, key=lambda p: (p[:4], len(p) == 4, p), reverse=True)


def level_cuts(profile_name: str) -> tuple[float, float, float]:
    """The level cut points of a run's profile (the charts' bands)."""
    profile = PROFILES.get(profile_name) or PROFILES["nd335"]
    return profile.level_cuts


def period_months(profile_name: str) -> int:
    profile = PROFILES.get(profile_name) or PROFILES["nd335"]
    return profile.period_months


async def ranking_blocks(conn: asyncpg.Connection) -> list[str]:
    return await store.ranking_blocks(conn)


def _unit_row_view(row: dict[str, Any]) -> dict[str, Any]:
    out = dict(row)
    level = out.pop("level")
    out["level"] = level_view(level)
    out["period"] = row["month"].strftime("%Y-%m")
    for k in ("rank", "prev_rank"):
        if out[k] is not None and out[k] <= 0:
            out[k] = None
    return out


async def unit_overview(
    conn: asyncpg.Connection, principal: Principal, code: str, period: str | None, run: int | None
) -> dict[str, Any]:
    """A unit's result of a period (U and U1-U5, level, rank) and, for a year, its months."""
    unit = await unit_store.get_unit(conn, code, principal)  # scope check
    run_id, span, annual, month = await resolve(conn, period, run)
    rows = await store.unit_result_rows(conn, run_id, unit.id)
    period_row = next(
        (r for r in rows if r["annual"] == annual and (annual or r["month"] == month)), None
    )
    months = [_unit_row_view(r) for r in rows if not r["annual"]] if annual else []
    return {
        "unit": unit,
        "period": span.text if annual else month.strftime("%Y-%m"),
        "run": _run_view(await store.get_run(conn, run_id)),
        "result": _unit_row_view(period_row) if period_row is not None else None,
        "months": months,
    }


async def compare(
    conn: asyncpg.Connection,
    *,
    what: str,
    period: str,
    run_a: int | None,
    run_b: int | None,
    limit: int,
    offset: int,
) -> tuple[list[dict[str, Any]], int, int, int]:
    """Who changed level / which ranks moved between two runs of a period.

    ``run_b`` defaults to the published run, ``run_a`` to the run published before it.
    """
    span = parse_period(period)
    b = run_b if run_b is not None else await store.resolve_run(conn, span.text, None)
    if run_a is None:
        run_a = await conn.fetchval(
            "select max(id) from result_runs where period = $1 and id < $2 "
            "and published_at is not null",
            span.text,
            b,
        )
        if run_a is None:
            raise NotFound(
                f"no earlier published run of {span.text} to compare with",
                [FieldProblem("a", "missing")],
            )
    for rid in (run_a, b):
        info = await store.get_run(conn, rid)
        if info["period"] != span.text:
            raise RuleViolation(
                f"run {rid} is of {info['period']}, not {span.text}",
                [FieldProblem("a" if rid == run_a else "b", "other period")],
            )
    args: dict[str, Any] = {
        "run_a": run_a,
        "run_b": b,
        "annual": span.kind == "year",
        "month": span.first_month,
        "limit": limit,
        "offset": offset,
    }
    if what == "cadres":
        rows, total = await store.compare_cadres(conn, **args)
    else:
        rows, total = await store.compare_units(conn, **args)
    for r in rows:
        r["level_a"] = lv.LEVEL_CODES[r["level_a"]]
        r["level_b"] = lv.LEVEL_CODES[r["level_b"]]
    return rows, total, run_a, b


async def what_if(
    conn: asyncpg.Connection,
    period: str,
    profile_name: str,
    changes: dict[str, Any],
    limit: int,
) -> dict[str, Any]:
    """Rate the year under the profile and under the changed profile; store nothing."""
    span = parse_period(period)
    if span.kind != "year":
        raise field_error("period", "what-if compares annual ratings: give a year 'YYYY'")
    profile = resolve_profile(profile_name, None)
    changed = resolve_profile(profile_name, changes)
    city = await inputs.read_city(conn, span, profile)
    try:
        result = await asyncio.to_thread(score_what_if, city.org, city.year, profile, changed)
    except ValueError as exc:
        raise field_error("changes", str(exc)) from exc
    names = ["not_rated", "KHT", "HT", "HTT", "HTXS"]
    trans = result.transitions
    shifts = [
        {"from": names[i], "to": names[j], "cadres": int(trans[i, j])}
        for i in range(5)
        for j in range(5)
        if i != j and trans[i, j]
    ]
    rows = result.cadre_levels.rows[:limit]
    codes = await conn.fetch(
        "select id, code from cadres where id = any($1::bigint[])", city.cadre_ids[rows].tolist()
    )
    code_of = {r["id"]: r["code"] for r in codes}
    return {
        "period": span.text,
        "profile": {"name": profile.name, "version": profile.version},
        "changes": changes,
        "cadres_changed": int(result.cadre_levels.rows.size),
        "transitions": shifts,
        "units_level_changed": int(result.unit_levels.rows.size),
        "units_rank_changed": int(result.unit_ranks.rows.size),
        "examples": [
            {
                "code": code_of.get(int(city.cadre_ids[r])),
                "from": lv.LEVEL_CODES[int(result.base.cadres.level[r])],
                "to": lv.LEVEL_CODES[int(result.alt.cadres.level[r])],
            }
            for r in rows
        ],
        "stored": False,
        "level_counts": {
            "before": _counts(result.base.cadres.level),
            "after": _counts(result.alt.cadres.level),
        },
    }


def _counts(level: np.ndarray[Any, Any]) -> dict[str, int]:
    values, counts = np.unique(level, return_counts=True)
    return {lv.LEVEL_CODES[int(v)]: int(c) for v, c in zip(values, counts, strict=True)}
