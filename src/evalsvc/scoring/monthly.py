"""Monthly (per-period) score of every cadre: a, b, c, d, đ, e, T, G, M, level.

Decree 335/2025 Art. 12-15 and DOMAIN part 3. Leaders' d needs the scores of the cadres
they manage, so scores are computed bottom-up: all staff at once, then leaders one unit
depth level at a time, deepest first (a loop over tree levels, vectorised inside).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import numpy.typing as npt

from evalsvc.scoring import levels as lv
from evalsvc.scoring.inputs import MonthInputs, Org, Remediation, check_month, check_org, unit_depth
from evalsvc.scoring.profiles import Profile
from evalsvc.scoring.rounding import round_half_up
from evalsvc.scoring.tasks import (
    TaskTotals,
    aggregate_tasks,
    as_month,
    manifestation_deductions,
    remediation_tasks,
)

F64 = npt.NDArray[np.float64]


@dataclasses.dataclass(frozen=True, slots=True)
class MonthResult:
    """Scores of one period, every array ``(n,)``.

    Attributes:
        period: ``datetime64[M]`` first month of the period.
        totals: k-weighted task sums including remediation items due in the period.
        a, b, c: quantity, quality, timeliness in [0, 1]; NaN without task basis.
        d, dd, e: leaders' d, đ, e in [0, 1]; NaN for staff.
        kq: task completion ratio; T = task_points · min(kq, 1).
        t: task component T (unrounded); 0 for a ``zero_task`` month without basis.
        g_raw: supervisor sub-criteria scaled to ``general_points`` (full if missing).
        deduction: peer deduction points (confirmed manifestations, each item once).
        n_manifestations: distinct confirmed items.
        g: general component G = max(0, g_raw − deduction).
        bonus: bonus points (``hn3814``).
        m: rounded M = G + T (+ bonus), NaN when not scored.
        basis: the period has task basis (A > 0).
        active: active in the period (a quarter: in at least one whole month of it).
        employed: employed in the period (U3's members).
        scored: M exists (active, basis or ``zero_task``, assessment or ``full``).
        level: int8 level after the monthly rules (-1 when no score and no discipline).
        reasons: uint32 reason bits (:mod:`evalsvc.scoring.levels`).
    """

    period: np.datetime64
    totals: TaskTotals
    a: F64
    b: F64
    c: F64
    d: F64
    dd: F64
    e: F64
    kq: F64
    t: F64
    g_raw: F64
    deduction: F64
    n_manifestations: npt.NDArray[np.int64]
    g: F64
    bonus: F64
    m: F64
    basis: npt.NDArray[np.bool_]
    active: npt.NDArray[np.bool_]
    employed: npt.NDArray[np.bool_]
    scored: npt.NDArray[np.bool_]
    level: npt.NDArray[np.int8]
    reasons: npt.NDArray[np.uint32]


def _leader_factor(x: F64) -> F64:
    return np.clip(np.where(np.isnan(x), 1.0, x), 0.0, 1.0)


def score_month(
    org: Org,
    month: MonthInputs,
    profile: Profile,
    remediation: Remediation | None = None,
) -> MonthResult:
    """Score every cadre for one period (Decree 335 Art. 12-15; DOMAIN part 3).

    Args:
        org: cadres and unit tree, ``n`` cadres and ``u`` units.
        month: the period's inputs (``(n,)`` arrays, task records, manifestations).
        profile: the policy.
        remediation: the cadres' remediation items; those due in the period are added
            as tasks with factor ``k_rem``.

    Returns:
        :class:`MonthResult` with ``(n,)`` arrays.

    Raises:
        ValueError: malformed inputs, naming the field.
    """
    check_org(org)
    check_month(org, month)
    n, p = org.n, profile
    totals = aggregate_tasks(month.tasks, n, p)
    if remediation is not None:
        totals = totals + remediation_tasks(remediation, n, month.period, p, month.active_months)
    big_a = totals.assigned
    basis = big_a > 0
    safe = np.where(basis, big_a, 1.0)
    nan = np.full(n, np.nan)
    # a, b, c clipped to [0, 1] (DOMAIN part 6 invariant) -- done may exceed assigned.
    a = np.where(basis, np.clip(totals.done / safe, 0.0, 1.0), nan)
    b = np.where(basis, np.clip(totals.quality / safe, 0.0, 1.0), nan)
    c = np.where(basis, np.clip(totals.timely / safe, 0.0, 1.0), nan)
    abc = np.where(basis, a + b + c, 0.0)

    has_assess = np.asarray(month.has_assessment, dtype=bool)
    sub_sum = np.asarray(month.sub_criteria, dtype=np.float64).sum(axis=1)
    sub_sum = np.clip(np.where(has_assess, sub_sum, p.general_max_raw), 0.0, p.general_max_raw)
    g_raw = p.general_points * sub_sum / p.general_max_raw
    m_ = month.manifestations
    deduction, n_man = manifestation_deductions(m_.cadre, m_.item, m_.group, n, p.group_deductions)
    g = np.clip(g_raw - deduction, 0.0, p.general_points)
    bonus = p.bonus_points * np.clip(np.asarray(month.bonus, dtype=np.float64), 0.0, 1.0)

    active = np.asarray(month.active, dtype=bool)
    zero_task = p.no_task_basis == "zero_task"
    scored = active & (basis | zero_task)
    reasons = np.zeros(n, dtype=np.uint32)
    reasons |= np.where(active & ~basis, lv.REASON_BIT["insufficient_data"], 0).astype(np.uint32)
    if p.missing_assessment == "skip":
        skip = active & ~has_assess
        reasons |= np.where(skip, lv.REASON_BIT["no_assessment"], 0).astype(np.uint32)
        scored &= ~has_assess

    position = np.asarray(org.position)
    leader = position != lv.STAFF
    dd = np.where(leader, _leader_factor(np.asarray(month.capacity, dtype=np.float64)), nan)
    e = np.where(leader, _leader_factor(np.asarray(month.cohesion, dtype=np.float64)), nan)
    d = nan.copy()
    kq = np.where(basis & ~leader, abc / 3.0, np.nan)
    t = np.zeros(n)
    m = nan.copy()

    def finish(rows: npt.NDArray[np.intp]) -> None:
        t[rows] = np.where(basis[rows], p.task_points * np.minimum(kq[rows], 1.0), 0.0)
        raw = g[rows] + t[rows] + bonus[rows]
        rounded = round_half_up(raw, p.rounding_decimals, p.rounding_eps)
        m[rows] = np.where(scored[rows], rounded, np.nan)

    finish(np.flatnonzero(~leader))

    # Leaders bottom-up (DOMAIN part 3): a head/deputy of X manages the non-leaders of X
    # and the heads of X's direct sub-units; unscored subordinates are skipped.
    u = org.u
    unit = np.asarray(org.unit, dtype=np.int64)
    parent = np.asarray(org.unit_parent, dtype=np.int64)
    udepth = unit_depth(parent)
    cdepth = udepth[unit]
    thr = p.leader_d_threshold
    staff_bad = np.bincount(unit[~leader & (m < thr)], minlength=u)  # NaN < thr is False
    is_head = position == lv.HEAD
    max_depth = int(udepth.max()) if u else -1
    for depth in range(max_depth, -1, -1):
        rows = np.flatnonzero(leader & (cdepth == depth))
        if rows.size == 0:
            continue
        kids = np.flatnonzero(is_head & (cdepth == depth + 1) & (m < thr))
        kid_parent = parent[unit[kids]]
        bad = staff_bad + np.bincount(kid_parent[kid_parent >= 0], minlength=u)
        d[rows] = np.where(bad[unit[rows]] > 0, p.leader_d_low, 1.0)
        if month.leader_d is not None:
            given = np.asarray(month.leader_d, dtype=np.float64)[rows]
            d[rows] = np.where(np.isnan(given), d[rows], np.clip(given, 0.0, 1.0))
        kq[rows] = np.where(basis[rows], (abc[rows] + d[rows] + dd[rows] + e[rows]) / 6.0, np.nan)
        finish(rows)

    level = lv.level_from_score(m, p.level_cuts)
    capped = scored & np.asarray(month.low_confidence, dtype=bool) & (level > p.ballot_cap_level)
    level = np.where(capped, np.int8(p.ballot_cap_level), level).astype(np.int8)
    reasons |= np.where(capped, lv.REASON_BIT["low_confidence_ballot"], 0).astype(np.uint32)
    disc = active & (np.asarray(month.discipline) > 0)
    level = np.where(disc, np.int8(lv.KHT), level).astype(np.int8)
    reasons |= np.where(disc, lv.REASON_BIT["discipline"], 0).astype(np.uint32)
    return MonthResult(
        period=as_month(month.period),
        totals=totals,
        a=a,
        b=b,
        c=c,
        d=d,
        dd=dd,
        e=e,
        kq=kq,
        t=t,
        g_raw=g_raw,
        deduction=deduction,
        n_manifestations=n_man,
        g=g,
        bonus=bonus,
        m=m,
        basis=basis,
        active=active,
        employed=month.employed_or_active,
        scored=scored,
        level=level,
        reasons=reasons,
    )


def empty_month(org: Org, period: Any, profile: Profile) -> MonthInputs:
    """A period with no data at all: everyone active, full assessment, no tasks.

    Handy to build inputs field by field with :func:`dataclasses.replace`.
    """
    from evalsvc.scoring.inputs import Manifestations, TaskRecords

    n, u = org.n, org.u
    return MonthInputs(
        period=as_month(period),
        tasks=TaskRecords.empty(),
        active=np.ones(n, dtype=bool),
        sub_criteria=np.full((n, 3), profile.sub_criterion_max),
        has_assessment=np.ones(n, dtype=bool),
        capacity=np.full(n, np.nan),
        cohesion=np.full(n, np.nan),
        manifestations=Manifestations.empty(),
        discipline=np.zeros(n, dtype=np.int64),
        low_confidence=np.zeros(n, dtype=bool),
        bonus=np.zeros(n),
        satisfaction=np.full(u, np.nan),
    )
