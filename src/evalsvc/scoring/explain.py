"""Explanations: a breakdown per cadre and period that adds up to the score, every
override and quota decision, and the smallest change that reaches the next level.

DOMAIN part 3 ("Every automatic change of level stores a reason code so a cadre can see
and appeal it"). Per-cadre, so plain Python is fine here (not a hot path).
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from evalsvc.scoring import levels as lv
from evalsvc.scoring.annual import AnnualResult
from evalsvc.scoring.inputs import MonthInputs, Org
from evalsvc.scoring.monthly import MonthResult
from evalsvc.scoring.profiles import Profile


@dataclasses.dataclass(frozen=True, slots=True)
class Component:
    """One addend of a score.

    Attributes:
        name: ``task``, ``general``, ``manifestation``, ``general_floor``, ``bonus``,
            ``rounding``.
        points: signed points; the components of a breakdown sum to the score.
        detail: human-readable detail (ratios, item and group, ...).
    """

    name: str
    points: float
    detail: str


@dataclasses.dataclass(frozen=True, slots=True)
class NextLevel:
    """The smallest change that reaches the next level (``None`` fields: not possible).

    Attributes:
        level: the next level code.
        points_needed: score points missing (cut point − score).
        extra_done_units: extra converted units (Σk) done on time without errors.
        manifestations_to_clear: fewest confirmed items whose removal is enough.
    """

    level: int
    points_needed: float
    extra_done_units: float | None
    manifestations_to_clear: int | None


@dataclasses.dataclass(frozen=True, slots=True)
class MonthExplanation:
    """Breakdown of one cadre's period score.

    Attributes:
        row: cadre row.
        period: ``YYYY-MM``.
        components: addends; their sum equals ``score`` (up to float noise).
        score: M (NaN when not scored).
        level: level code.
        reasons: reason codes.
        next_level: smallest change to the next level, ``None`` at the top / unscored.
    """

    row: int
    period: str
    components: list[Component]
    score: float
    level: int
    reasons: list[str]
    next_level: NextLevel | None


def explain_month(
    org: Org, month: MonthInputs, res: MonthResult, row: int, profile: Profile
) -> MonthExplanation:
    """Explain cadre ``row``'s period score (DOMAIN part 3 monthly score).

    Args:
        org: the organisation.
        month: the period's inputs (for the confirmed manifestations).
        res: the period's :class:`MonthResult`.
        row: cadre row.
        profile: the profile ``res`` was computed with.
    """
    p = profile
    leader = int(org.position[row]) != lv.STAFF
    comps: list[Component] = []
    m = float(res.m[row])
    if bool(res.basis[row]):
        parts = f"a={res.a[row]:.4f} b={res.b[row]:.4f} c={res.c[row]:.4f}"
        if leader:
            parts += f" d={res.d[row]:.2f} đ={res.dd[row]:.2f} e={res.e[row]:.2f}"
        comps.append(
            Component("task", float(res.t[row]), f"{p.task_points:g} × min(KQ, 1), {parts}")
        )
    else:
        comps.append(Component("task", float(res.t[row]), "no task basis (A = 0)"))
    comps.append(Component("general", float(res.g_raw[row]), "supervisor's three sub-criteria"))
    mf = month.manifestations
    sel = np.flatnonzero(np.asarray(mf.cadre) == row)
    seen: set[int] = set()
    ded = 0.0
    items: list[float] = []
    for i in sel:
        item, group = int(mf.item[i]), int(mf.group[i])
        if item in seen:
            continue
        seen.add(item)
        pts = p.group_deductions[group - 1]
        ded += pts
        items.append(pts)
        comps.append(Component("manifestation", -pts, f"item {item}, group {group}"))
    floor = float(res.g[row]) - (float(res.g_raw[row]) - ded)
    if abs(floor) > 1e-12:
        comps.append(Component("general_floor", floor, "G is at least 0 and at most its max"))
    if float(res.bonus[row]):
        comps.append(Component("bonus", float(res.bonus[row]), "bonus points"))
    raw = sum(c.points for c in comps)
    if not math.isnan(m):
        comps.append(Component("rounding", m - raw, "half-up to 2 decimals"))
    level = int(res.level[row])
    nxt = None
    if (
        not math.isnan(m)
        and level < lv.HTXS
        and level == lv.level_from_score(np.array([m]), p.level_cuts)[0]
    ):
        cut = p.level_cuts[level]
        need = cut - m
        gap = cut - raw
        big_a = float(res.totals.assigned[row])
        per_unit = p.task_points * (3.0 / 6.0 if leader else 1.0) / big_a if big_a > 0 else 0.0
        room = big_a - float(res.totals.done[row])
        extra = gap / per_unit if per_unit > 0 else math.inf
        extra_units = math.ceil(extra * 100 - 1e-9) / 100 if extra <= room + 1e-9 else None
        cleared = None
        acc = 0.0
        g_room = p.general_points - float(res.g[row])
        for k, pts in enumerate(sorted(items, reverse=True), start=1):
            acc += pts
            if min(acc, g_room) >= gap - 1e-9:
                cleared = k
                break
        nxt = NextLevel(level + 1, round(need, 2), extra_units, cleared)
    return MonthExplanation(
        row=row,
        period=str(res.period),
        components=comps,
        score=m,
        level=level,
        reasons=lv.reason_names(int(res.reasons[row])),
        next_level=nxt,
    )


@dataclasses.dataclass(frozen=True, slots=True)
class Decision:
    """One step of the annual rating that changed (or fixed) the level.

    Attributes:
        stage: ``base``, ``overrides``, ``eligibility``, ``gates``, ``leader_link``, ``quota``.
        level_before: level before the stage.
        level_after: level after the stage.
        reasons: reason codes attached by the stage.
        detail: e.g. the quota's cap and the cadre's keep-rank.
    """

    stage: str
    level_before: int
    level_after: int
    reasons: list[str]
    detail: str


@dataclasses.dataclass(frozen=True, slots=True)
class YearExplanation:
    """Breakdown of one cadre's annual rating.

    Attributes:
        row: cadre row.
        months: ``(period, M)`` of the periods averaged.
        y: the annual score (mean of those M, rounded).
        decisions: every stage that changed the level, in order.
        level: final level.
        reasons: all reason codes.
        points_to_next_level: Y points missing to the next cut (``None`` at the top, or
            when an override, not the score, decides the level).
    """

    row: int
    months: list[tuple[str, float]]
    y: float
    decisions: list[Decision]
    level: int
    reasons: list[str]
    points_to_next_level: float | None


_STAGE_REASONS = {
    "overrides": (
        "score_below_50",
        "discipline",
        "degradation",
        "corruption_in_charge",
        "low_confidence",
    ),
    "eligibility": ("not_enough_months", "absence_cap"),
    "gates": ("gate_late_tasks", "gate_tasks_done", "gate_exceeded", "unremediated"),
    "leader_link": ("leader_cap",),
    "quota": ("quota",),
}


def quota_detail(agency: str, keep_rank: int, top_before: int, cap: int) -> str:
    """The quota decision in words, naming the agency and its cap (DOMAIN part 3 step 7)."""
    return f"rank {keep_rank} of {top_before} HTXS in agency {agency} (same peer group), cap {cap}"


def explain_year(
    months: list[MonthResult],
    res: AnnualResult,
    row: int,
    profile: Profile,
    unit_names: list[str] | None = None,
) -> YearExplanation:
    """Explain cadre ``row``'s annual rating: the months averaged and each decision
    (``unit_names`` by unit row name the quota's agency)."""
    used = [(str(r.period), float(r.m[row])) for r in months if bool(r.scored[row])]
    names = lv.reason_names(int(res.reasons[row]))
    stages = [
        ("base", None, res.level_base),
        ("eligibility", res.level_base, res.level_caps),
        ("overrides", res.level_caps, res.level_overrides),
        ("gates", res.level_overrides, res.level_gates),
        ("leader_link", res.level_gates, res.level_link),
        ("quota", res.level_link, res.level),
    ]
    decisions = []
    for stage, before, after in stages:
        b = int(after[row]) if before is None else int(before[row])
        a = int(after[row])
        reasons = [r for r in names if r in _STAGE_REASONS.get(stage, ())]
        if stage == "base":
            decisions.append(
                Decision(stage, a, a, [], f"Y = {res.y[row]} from {len(used)} periods")
            )
        elif b != a or reasons:
            detail = ""
            if stage == "quota":
                q = res.quota
                agency = int(res.agency[row])
                name = unit_names[agency] if unit_names is not None else f"unit {agency}"
                detail = quota_detail(
                    name, int(q.keep_rank[row]), int(q.top_before[row]), int(q.cap[row])
                )
            decisions.append(Decision(stage, b, a, reasons, detail))
    level = int(res.level[row])
    y = float(res.y[row])
    gap = None
    if not math.isnan(y) and level == int(res.level_base[row]) and level < lv.HTXS:
        gap = round(profile.level_cuts[level] - y, 2)
    return YearExplanation(row, used, y, decisions, level, names, gap)
