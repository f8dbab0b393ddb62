"""Reading published results for people and HR systems, with explanations.

Apart from computing them: nothing here reads inputs or scores. The API reaches the
scoring vocabulary (level labels, reason codes) through this module. Every read resolves
one run (the period's published run, or an explicit run id) and reads all its rows from it.
"""

from __future__ import annotations

import math
from datetime import date
from typing import Any

import asyncpg

from evalsvc.domain.access import Principal
from evalsvc.domain.errors import FieldProblem, NotFound, RuleViolation, field_error
from evalsvc.domain.recompute import PeriodSpan, parse_period, quarter_of
from evalsvc.scoring import levels as lv
from evalsvc.scoring.profiles import PROFILES
from evalsvc.store import cadres as cadre_store
from evalsvc.store import results as store
from evalsvc.store import units as unit_store
from evalsvc.store.scope import subtree_ids

LEVEL_NAMES = {**lv.LEVEL_CODES}
# Stages in rule order (DOMAIN part 3): eligibility (step 1) acts on the base level, then
# the KHT overrides (step 4), the gates, the leader link and the quota.
STAGE_REASONS = {
    "level_caps": ("not_enough_months", "absence_cap", "insufficient_data"),
    "level_overrides": (
        "score_below_50",
        "discipline",
        "degradation",
        "corruption_in_charge",
        "low_confidence",
    ),
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
    "reason_labels",
    "run_id",
    "variant_digest",
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
    "status",
    "reasons",
    "reason_labels",
    "run_id",
    "variant_digest",
)


NOT_RANKED = "chưa xếp hạng"
NO_TASK_BASIS = "no_task_basis"
NO_TASK_BASIS_VI = "Không có kỳ nào có cơ sở nhiệm vụ (không có nhiệm vụ được giao)"


def r2(x: Any) -> float | None:
    """A people-facing number: half-up to 2 decimals like M, Y and U (DOMAIN part 3);
    None for a missing or NaN value."""
    if x is None:
        return None
    v = float(x)
    if math.isnan(v):
        return None
    out = math.floor(v * 100 + 0.5 + 1e-9) / 100
    return 0.0 if out == 0 else out


def whole(x: Any) -> int | None:
    """A rank or a rank interval bound as an integer; None when missing (NaN, < 0)."""
    if x is None:
        return None
    v = float(x)
    if math.isnan(v) or v < 0:
        return None
    return int(v)


class Labels:
    """Level codes and Vietnamese labels of the profile a run was computed with (A/B/C/D
    under hn3814, DOMAIN part 3)."""

    def __init__(self, profile: dict[str, Any] | None = None) -> None:
        p = profile or {}
        self.codes = list(p.get("level_labels") or ("KHT", "HT", "HTT", "HTXS"))
        titles = p.get("level_titles")
        self.titles = list(titles) if titles else [lv.LEVEL_LABELS_VI[i] for i in range(4)]

    def code(self, level: int) -> str:
        return lv.LEVEL_CODES[lv.NOT_RATED] if level < 0 else self.codes[level]

    def title(self, level: int) -> str:
        return lv.LEVEL_LABELS_VI[lv.NOT_RATED] if level < 0 else self.titles[level]

    def view(self, level: int | None) -> dict[str, Any] | None:
        if level is None:
            return None
        return {"code": self.code(int(level)), "label": self.title(int(level))}


DEFAULT_LABELS = Labels()


def level_view(level: int | None, labels: Labels = DEFAULT_LABELS) -> dict[str, Any] | None:
    return labels.view(level)


def reasons_of(mask: int | None) -> list[str]:
    return lv.reason_names(int(mask or 0))


def reasons_view(mask: int | None) -> dict[str, list[str]]:
    """Reason codes in rule order and their Vietnamese labels beside them."""
    codes = reasons_of(mask)
    return {"reasons": codes, "reason_labels": lv.reason_labels(codes)}


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
        if asked.kind in ("month", "quarter") and span.kind == "year":
            if asked.year != span.year:
                raise field_error("period", f"run {run_id} holds {span.text} only")
            return run_id, span, False, asked.first_month
        return run_id, span, span.kind == "year", span.first_month
    if period is None:
        raise field_error("period", "give a period (YYYY, YYYY-Qn or YYYY-MM) or a run id")
    asked = parse_period(period)
    published = await store.published_run(conn, asked.text)
    if published is not None:
        return published, asked, asked.kind == "year", asked.first_month
    if asked.kind in ("month", "quarter"):
        year_run = await store.published_run(conn, str(asked.year))
        if year_run is not None:
            return year_run, parse_period(str(asked.year)), False, asked.first_month
    raise NotFound(
        f"no published results for {asked.text}; recompute it first",
        [FieldProblem("period", "nothing published")],
    )


def explain_month_row(
    row: dict[str, Any], leader: bool, labels: Labels = DEFAULT_LABELS, quarterly: bool = False
) -> dict[str, Any]:
    """Breakdown of a stored period row: components that add up to M (DOMAIN part 3).

    Points are rounded half-up to 2 decimals and the rounding component makes them add up
    to M exactly; ratios keep 4 decimals."""
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
                "points": r2(row["t"]),
                "detail": f"{ratios}; KQ={kq:.4f}; T = 70·min(KQ, 1)"
                if kq is not None
                else "no task basis",
            }
        )
        comps.append(
            {"name": "general", "points": r2(row["g_raw"]), "detail": "supervisor's sub-criteria"}
        )
        if row["deduction"]:
            comps.append(
                {
                    "name": "manifestation",
                    "points": r2(-row["deduction"]),
                    "detail": f"{row['n_manifestations']} confirmed manifestation(s)",
                }
            )
        floor = row["g"] - (row["g_raw"] - row["deduction"])
        if abs(floor) > 1e-12:
            comps.append(
                {"name": "general_floor", "points": r2(floor), "detail": "G kept in [0, 30]"}
            )
        if row["bonus"]:
            comps.append({"name": "bonus", "points": r2(row["bonus"]), "detail": "bonus points"})
        shown = sum(c["points"] or 0.0 for c in comps)
        comps.append(
            {"name": "rounding", "points": r2(m - shown), "detail": "half-up to 2 decimals"}
        )
    month = row["month"]
    ratio_names = ("a", "b", "c", "d", "dd", "e", "kq")
    return {
        "period": quarter_of(month) if quarterly else month.strftime("%Y-%m"),
        "score": r2(m),
        "level": labels.view(row["level"]),
        **reasons_view(row["reasons"]),
        "task": {
            k: (None if row[k] is None else round(float(row[k]), 4))
            if k in ratio_names
            else r2(row[k])
            for k in ("assigned", "done", "a", "b", "c", "d", "dd", "e", "kq", "t")
        },
        "general": {
            "g_raw": r2(row["g_raw"]),
            "deduction": r2(row["deduction"]),
            "g": r2(row["g"]),
            "n_manifestations": row["n_manifestations"],
        },
        "components": comps,
    }


def explain_year_row(
    row: dict[str, Any], labels: Labels = DEFAULT_LABELS, agency: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Annual rating with every stage that changed the level and its reason codes; a quota
    decision names the agency whose (agency, peer group) cap applied."""
    reasons = reasons_of(row["reasons"])
    steps = []
    before = row["level_base"]
    for stage, codes in STAGE_REASONS.items():
        after = row[stage]
        mine = [r for r in reasons if r in codes]
        if (
            after != before
            or (mine and stage != "level_caps")
            or (stage == "level_caps" and "absence_cap" in mine)
        ):
            step: dict[str, Any] = {
                "stage": stage.removeprefix("level_") if stage != "level" else "quota",
                "from": labels.view(before),
                "to": labels.view(after),
                "reasons": mine,
                "reason_labels": lv.reason_labels(mine),
            }
            if stage == "level" and "quota" in mine:
                step["agency"] = agency
                step["cap"] = row.get("quota_cap")
                step["keep_rank"] = row.get("quota_keep_rank")
                step["htxs_before"] = row.get("quota_top_before")
            steps.append(step)
        before = after
    out = {
        "score": r2(row["y"]),
        "level": labels.view(row["level"]),
        "base_level": labels.view(row["level_base"]),
        "reasons": reasons,
        "reason_labels": lv.reason_labels(reasons),
        "changes": steps,
        "periods_scored": row["periods_scored"],
        "months_worked": row["worked"],
        "remediation": {
            "due": row["rem_due"],
            "on_time": row["rem_on_time"],
            "verified": row["rem_verified"],
            "rate": r2(row["remediation_rate"]),
        },
        "manifestations": row["n_manifestations"],
        "violations": row["violations"],
    }
    if (row["quota_keep_rank"] or 0) > 0:
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
    # Who the cadre was in the run (an appeal against an old run shows the old name, unit
    # and position); a run without an organisation snapshot falls back to the registry.
    seen = await store.run_cadre(conn, run_id, cadre.id) or {
        "code": cadre.code,
        "full_name": cadre.full_name,
        "position": cadre.position,
        "peer_group": None,
        "unit_code": cadre.unit_code,
        "unit_name": None,
    }
    leader = seen["position"] in ("head", "deputy")
    run_info = await store.get_run(conn, run_id)
    labels = Labels(run_info.get("profile"))
    quarterly = (run_info.get("profile") or {}).get("period") == "quarter"
    agency: dict[str, Any] | None = None
    if year is not None and year.get("agency_id") is not None:
        agency = await store.run_unit(conn, run_id, year["agency_id"])
    return {
        "cadre": {
            "code": seen["code"],
            "full_name": seen["full_name"],
            "position": seen["position"],
            "peer_group": seen["peer_group"],
            "unit_code": seen["unit_code"],
            "unit_name": seen["unit_name"],
        },
        "period": span.text if annual else month.strftime("%Y-%m"),
        "run": _run_view(run_info),
        "annual": explain_year_row(year, labels, agency) if (annual and year is not None) else None,
        "months": [explain_month_row(r, leader, labels, quarterly) for r in months],
    }


def _run_view(info: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": info["id"],
        "period": info["period"],
        "profile": {
            "name": info["profile_name"],
            "version": info["profile_version"],
            "variant": info.get("variant"),
            "variant_digest": info.get("variant_digest"),
        },
        "scoring_version": info.get("scoring_version"),
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


async def run_info(
    conn: asyncpg.Connection, run_id: int, units: list[int] | None = None
) -> dict[str, Any]:
    return _run_view(await store.get_run(conn, run_id, units))


async def runs(
    conn: asyncpg.Connection,
    period: str | None,
    limit: int,
    offset: int,
    units: list[int] | None = None,
) -> tuple[list[dict[str, Any]], int]:
    rows, total = await store.list_runs(conn, period, limit, offset, units)
    return [_run_view(r) for r in rows], total


def _level_code(
    level: str | None, labels: Labels = DEFAULT_LABELS, field: str = "level"
) -> int | None:
    if level is None:
        return None
    known = {labels.code(k): k for k in range(-1, 4)} | {v: k for k, v in lv.LEVEL_CODES.items()}
    for name, k in known.items():
        if name.lower() == level.lower():
            return k
    raise field_error(field, f"unknown level; one of {', '.join(known)}")


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
    info = await store.get_run(conn, run_id)
    labels = Labels(info.get("profile"))
    ids = await subtree_ids(conn, unit.id) if subtree else [unit.id]
    rows, total = await store.member_rows(
        conn,
        run_id=run_id,
        annual=annual,
        month=month,
        unit_ids=ids,
        level=_level_code(level, labels),
        position=position,
        limit=limit,
        offset=offset,
    )
    for r in rows:
        lvl = r.pop("level")
        r["score"] = r2(r["score"])
        r["level"] = labels.code(lvl)
        r["level_label"] = labels.title(lvl)
        r.update(reasons_view(r["reasons"]))
        r["run_id"] = run_id
        r["variant_digest"] = info.get("variant_digest")
    return rows, total


async def unit_level_counts(
    conn: asyncpg.Connection,
    principal: Principal,
    code: str,
    *,
    period: str | None,
    run: int | None,
    subtree: bool,
) -> list[dict[str, Any]]:
    """How many members (of the unit, or its whole subtree) hold each level in a run."""
    unit = await unit_store.get_unit(conn, code, principal)
    run_id, _, annual, month = await resolve(conn, period, run)
    labels = Labels((await store.get_run(conn, run_id)).get("profile"))
    ids = await subtree_ids(conn, unit.id) if subtree else [unit.id]
    counts = await store.member_level_counts(
        conn, run_id=run_id, annual=annual, month=month, unit_ids=ids
    )
    return [
        {"code": labels.code(k), "label": labels.title(k), "count": counts.get(k, 0)}
        for k in (lv.HTXS, lv.HTT, lv.HT, lv.KHT, lv.NOT_RATED)
    ]


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
    info = await store.get_run(conn, run_id)
    labels = Labels(info.get("profile"))
    rows, total = await store.ranking_rows(
        conn, run_id=run_id, annual=annual, month=month, block=block, limit=limit, offset=offset
    )
    for r in rows:
        ranked = r["rank"] is not None and r["rank"] > 0
        for k in ("u", "u1", "u2", "u3", "u4", "u5"):
            r[k] = r2(r[k]) if ranked else None
        for k in ("rank", "prev_rank", "rank_low", "rank_high"):
            r[k] = whole(r[k])
        r["movement"] = int(r["movement"]) if ranked else None
        r["ranked"] = ranked
        r["level_label"] = labels.title(r["level"]) if ranked else NOT_RANKED
        r["level"] = labels.code(r["level"]) if ranked else None
        r["status"] = "ranked" if ranked else NOT_RANKED
        r["reasons"] = [] if ranked else [NO_TASK_BASIS]
        r["reason_labels"] = [] if ranked else [NO_TASK_BASIS_VI]
        r["run_id"] = run_id
        r["variant_digest"] = info.get("variant_digest")
    return rows, total


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
    labels = Labels((await store.get_run(conn, b)).get("profile"))
    for r in rows:
        r["level_a"] = labels.code(r["level_a"])
        r["level_b"] = labels.code(r["level_b"])
    return rows, total, run_a, b
