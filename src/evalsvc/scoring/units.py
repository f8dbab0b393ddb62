"""Unit scores U1-U5, unit levels and the collective quota (DOMAIN part 5; QĐ 366).

A unit's members are the cadres of its whole subtree: per-cadre sums are summed into
their own unit and rolled up with a sparse ancestor matrix (``S_subtree = A @ S_own``).
Only units in a ranking block are scored.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from evalsvc.scoring import levels as lv
from evalsvc.scoring.inputs import MonthInputs, Org, Remediation, check_org
from evalsvc.scoring.monthly import MonthResult
from evalsvc.scoring.profiles import Profile
from evalsvc.scoring.quota import QuotaResult, apply_quota
from evalsvc.scoring.rounding import round_half_up
from evalsvc.scoring.tasks import TaskTotals, remediation_counts, remediation_tasks, wsum

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]

# Columns of the per-member matrix the unit score is a function of (sums over members).
COLS: tuple[str, ...] = (
    "assigned",
    "done",
    "quality",
    "timely",
    "rem_due",
    "rem_on_time",
    "penalty",
    "rated",
    "ok",
    "employed",
)
C = {name: i for i, name in enumerate(COLS)}


def ancestor_matrix(parent: npt.NDArray[np.integer[Any]]) -> Any:
    """Sparse ``(u, u)`` matrix with ``A[a, x] = 1`` when ``a`` is ``x`` or an ancestor.

    ``A @ S`` turns per-unit own sums ``(u, k)`` into subtree sums; one vectorised
    step per tree level builds it.
    """
    par = np.asarray(parent, dtype=np.int64)
    u = par.shape[0]
    rows, cols = [], []
    cur: npt.NDArray[np.int64] = np.arange(u, dtype=np.int64)
    idx: npt.NDArray[np.int64] = np.arange(u, dtype=np.int64)
    while cur.size:
        rows.append(cur)
        cols.append(idx)
        nxt = par[cur]
        keep = nxt >= 0
        cur, idx = nxt[keep], idx[keep]
        if len(rows) > u + 1:
            raise ValueError("org.unit_parent: the unit tree has a cycle")
    r, c = np.concatenate(rows), np.concatenate(cols)
    return sp.csr_matrix((np.ones(r.size), (r, c)), shape=(u, u))


def unit_score_from_sums(
    s: F64, satisfaction: F64, profile: Profile
) -> tuple[F64, npt.NDArray[np.bool_]]:
    """U1..U5 from subtree sums (DOMAIN part 5 table).

    Args:
        s: ``(u, len(COLS), ...)`` sums (trailing axes broadcast, e.g. resamples).
        satisfaction: ``(u,)`` SIPAS % or NaN, broadcast against the trailing axes.
        profile: ``unit_weights`` (the U3 penalties are already in ``penalty``).

    Returns:
        ``(components (u, 5, ...), basis (u, ...))``; U5 is NaN when missing.
    """
    w1, w2, w3, w4, w5 = profile.unit_weights
    a = s[:, C["assigned"]]
    basis = a > 0
    safe = np.where(basis, a, 1.0)
    abc = sum(np.clip(s[:, C[k]] / safe, 0.0, 1.0) for k in ("done", "quality", "timely"))
    u1 = w1 * abc / 3.0
    due = s[:, C["rem_due"]]
    # Shares are clipped to [0, 1] and the penalty to [0, w3]: no-ops on real sums, but
    # resampled sums (rank intervals, normal approximation) may leave those ranges.
    on_time = np.clip(s[:, C["rem_on_time"]] / np.where(due > 0, due, 1.0), 0.0, 1.0)
    u2 = w2 * np.where(due > 0, on_time, 1.0)
    # U3 per capita (DOMAIN part 5): w3 − (5·pairs + 30·discipline) ÷ members employed.
    emp = s[:, C["employed"]]
    per_capita = s[:, C["penalty"]] / np.where(emp > 0, emp, 1.0)
    u3 = np.where(emp > 0, np.clip(w3 - per_capita, 0.0, w3), w3)
    rated = s[:, C["rated"]]
    ok = np.clip(s[:, C["ok"]] / np.where(rated > 0, rated, 1.0), 0.0, 1.0)
    u4 = w4 * np.where(rated > 0, ok, 1.0)
    sat = np.asarray(satisfaction, dtype=np.float64).reshape((-1,) + (1,) * (a.ndim - 1))
    u5 = np.broadcast_to(w5 * np.clip(sat, 0.0, 100.0) / 100.0, a.shape)
    return np.stack([u1, u2, u3, u4, u5], axis=1), basis


def total_from_components(comp: F64, profile: Profile) -> F64:
    """U = U1+..+U5; U5 missing -> (U1..U4) × total / (total − w5) (DOMAIN part 5)."""
    w = profile.unit_weights
    total = sum(w)
    four = comp[:, :4].sum(axis=1)
    u5 = comp[:, 4]
    scale = total / (total - w[4]) if total > w[4] else 1.0
    out = np.where(np.isnan(u5), four * scale, four + np.nan_to_num(u5))
    return np.asarray(out, dtype=np.float64)


@dataclasses.dataclass(frozen=True, slots=True)
class UnitMonthResult:
    """Unit scores of one period, arrays ``(u,)`` unless stated.

    Attributes:
        period: ``datetime64[M]``.
        sums: ``(u, len(COLS))`` subtree sums (:data:`COLS`).
        components: ``(u, 5)`` U1..U5 (U5 NaN when the satisfaction index is missing).
        u: rounded U, NaN without task basis or outside a ranking block.
        basis: the subtree has task basis.
        members: members of the subtree employed in the period (U3's denominator).
        kht: members rated KHT this period.
        pairs: confirmed (member, item) pairs of employed members.
        discipline: discipline records effective in the period.
    """

    period: np.datetime64
    sums: F64
    components: F64
    u: F64
    basis: npt.NDArray[np.bool_]
    members: I64
    kht: I64
    pairs: I64
    discipline: I64


def member_matrix(
    org: Org,
    month: MonthInputs,
    res: MonthResult,
    remediation: Remediation,
    profile: Profile,
) -> F64:
    """Per-cadre ``(n, len(COLS))`` matrix whose unit sums determine U (DOMAIN part 5).

    U2 counts items due from January to the end of the period (cumulative). Stored column
    by column (Fortran order): every use sums one column, or a product of two, over cadres.
    """
    cols = period_member_columns(
        org.n,
        res.period,
        res.totals,
        res.n_manifestations,
        res.level,
        np.asarray(month.discipline),
        remediation,
        profile,
        res.employed,
    )
    return np.stack(cols, axis=0).T


def period_member_columns(
    n: int,
    period: np.datetime64,
    totals: TaskTotals,
    n_manifestations: npt.NDArray[np.integer[Any]],
    level: npt.NDArray[np.int8],
    discipline: npt.NDArray[np.integer[Any]],
    remediation: Remediation,
    profile: Profile,
    employed: npt.NDArray[np.bool_],
) -> list[F64]:
    """The columns :data:`COLS` of a period's :func:`member_matrix`, each ``(n,)``, from the
    few arrays they use (also those of a month carry).

    ``penalty`` is U3's points before the division by the members employed: a member's
    confirmed items × ``unit_pair_penalty`` + discipline records ×
    ``unit_discipline_penalty``; only employed members count (DOMAIN part 5)."""
    emp = np.asarray(employed, dtype=bool)
    year = int(np.asarray(period, dtype="datetime64[Y]").astype(np.int64)) + 1970
    last = np.asarray(period, dtype="datetime64[M]") + (profile.period_months - 1)
    rc = remediation_counts(remediation, n, f"{year}-01", last)
    pen = profile.unit_pair_penalty * np.asarray(
        n_manifestations, dtype=np.float64
    ) + profile.unit_discipline_penalty * np.asarray(discipline, dtype=np.float64)
    pen = np.where(emp, pen, 0.0)
    rated = level >= 0
    t = totals
    return [
        np.asarray(t.assigned, dtype=np.float64),
        np.asarray(t.done, dtype=np.float64),
        np.asarray(t.quality, dtype=np.float64),
        np.asarray(t.timely, dtype=np.float64),
        rc.due.astype(np.float64),
        rc.on_time.astype(np.float64),
        pen,
        rated.astype(np.float64),
        (rated & (level >= lv.HT)).astype(np.float64),
        emp.astype(np.float64),
    ]


def unit_own_matrix(org: Org, period: Any, unit_remediation: Remediation, profile: Profile) -> F64:
    """Per-unit ``(u, len(COLS))`` matrix of the units' own remediation items."""
    u = org.u
    own = np.zeros((u, len(COLS)))
    t = remediation_tasks(unit_remediation, u, period, profile)
    for k in ("assigned", "done", "quality", "timely"):
        own[:, C[k]] = getattr(t, k)
    year = int(np.asarray(period, dtype="datetime64[Y]").astype(np.int64)) + 1970
    last = np.asarray(period, dtype="datetime64[M]") + (profile.period_months - 1)
    rc = remediation_counts(unit_remediation, u, f"{year}-01", last)
    own[:, C["rem_due"]] = rc.due
    own[:, C["rem_on_time"]] = rc.on_time
    return own


def score_units_month(
    org: Org,
    month: MonthInputs,
    res: MonthResult,
    profile: Profile,
    remediation: Remediation | None = None,
    unit_remediation: Remediation | None = None,
    anc: Any = None,
    members: F64 | None = None,
) -> UnitMonthResult:
    """Monthly unit scores (DOMAIN part 5), members = whole subtree.

    Args:
        org: ``n`` cadres, ``u`` units.
        month: the period's inputs (``satisfaction`` ``(u,)``, ``discipline``).
        res: the period's cadre scores from :func:`score_month`.
        profile: the policy.
        remediation: the cadres' items (for U2), ``None`` = none.
        unit_remediation: the units' own items (tasks for U1 and U2), ``None`` = none.
        anc: a precomputed :func:`ancestor_matrix` (optional).
        members: the precomputed :func:`member_matrix` of this period (optional).

    Returns:
        :class:`UnitMonthResult`.
    """
    check_org(org)
    u = org.u
    anc = ancestor_matrix(org.unit_parent) if anc is None else anc
    rem = remediation if remediation is not None else Remediation.empty()
    urem = unit_remediation if unit_remediation is not None else Remediation.empty()
    x = member_matrix(org, month, res, rem, profile) if members is None else members
    unit = np.asarray(org.unit, dtype=np.int64)
    own = np.stack([wsum(unit, x[:, k], u) for k in range(x.shape[1])], axis=1)
    own += unit_own_matrix(org, res.period, urem, profile)
    sums = np.asarray(anc @ own)
    employed = np.asarray(res.employed, dtype=bool)
    counts = np.stack(
        [
            wsum(unit, employed, u),
            wsum(unit, res.level == lv.KHT, u),
            wsum(unit, np.where(employed, res.n_manifestations, 0), u),
            wsum(unit, np.where(employed, np.asarray(month.discipline, dtype=np.float64), 0), u),
        ],
        axis=1,
    )
    counts = np.rint(np.asarray(anc @ counts)).astype(np.int64)
    comp, basis = unit_score_from_sums(sums, month.satisfaction, profile)
    in_block = np.asarray(org.unit_block) >= 0
    total = total_from_components(comp, profile)
    score = np.where(basis & in_block, round_half_up(total, profile.rounding_decimals), np.nan)
    return UnitMonthResult(
        period=res.period,
        sums=sums,
        components=comp,
        u=score,
        basis=basis,
        members=counts[:, 0],
        kht=counts[:, 1],
        pairs=counts[:, 2],
        discipline=counts[:, 3],
    )


@dataclasses.dataclass(frozen=True, slots=True)
class UnitYearResult:
    """Annual unit scores and levels, arrays ``(u,)``.

    Attributes:
        u: rounded mean of monthly U over periods with task basis; NaN when none.
        components: ``(u, 5)`` means of the monthly components over the same periods.
        periods_scored: periods averaged.
        pairs: the year's distinct confirmed (member, item) pairs.
        members: members of the subtree employed in any period of the year.
        pairs_per_100: ``pairs`` per 100 members (ranking tie-break).
        level_base: level from U.
        level: after the collective quota within the block.
        quota: the quota's bookkeeping.
    """

    u: F64
    components: F64
    periods_scored: I64
    pairs: I64
    members: I64
    pairs_per_100: F64
    level_base: npt.NDArray[np.int8]
    level: npt.NDArray[np.int8]
    quota: QuotaResult


def tiebreak_order(
    score: F64, block: npt.NDArray[np.integer[Any]], kht: I64, u2: F64, per100: F64, u5: F64
) -> I64:
    """Rows best first: block, then U desc, fewer KHT, higher U2, fewer pairs/100, higher U5.

    (DOMAIN part 5 "Rank".) NaN U or U5 sort last.
    """
    s = np.where(np.isnan(score), -np.inf, score)
    s5 = np.where(np.isnan(u5), -np.inf, u5)
    return np.lexsort((-s5, per100, -u2, kht, -s, np.asarray(block))).astype(np.int64)


def rate_units_year(
    org: Org,
    months: Sequence[UnitMonthResult],
    profile: Profile,
    kht: I64,
    pairs: I64 | None = None,
    members: I64 | None = None,
) -> UnitYearResult:
    """Annual unit scores, levels and the collective quota per block (DOMAIN part 5).

    Args:
        org: the unit tree and blocks.
        months: the year's :class:`UnitMonthResult` in order.
        profile: the policy (``unit_quota_ratio``).
        kht: ``(u,)`` members rated KHT for the year (tie-break of the quota's order).
        pairs: ``(u,)`` the year's distinct confirmed (member, item) pairs per subtree;
            ``None`` = the periods' pairs summed.
        members: ``(u,)`` members employed in any period of the year per subtree;
            ``None`` = the largest period count.
    """
    uu = np.stack([m.u for m in months])
    ok = ~np.isnan(uu)
    cnt = ok.sum(axis=0).astype(np.int64)
    mean_u = np.where(ok, uu, 0.0).sum(axis=0) / np.maximum(cnt, 1)
    score = np.where(cnt > 0, round_half_up(mean_u, profile.rounding_decimals), np.nan)
    comp = np.stack([m.components for m in months])  # (p, u, 5)
    okc = ok[:, :, None] & ~np.isnan(comp)
    cnt_c = np.maximum(okc.sum(axis=0), 1)
    comp_mean = np.where(okc, comp, 0.0).sum(axis=0) / cnt_c
    comp_mean[:, 4] = np.where(okc[:, :, 4].any(axis=0), comp_mean[:, 4], np.nan)
    if pairs is None:
        pairs = np.sum([m.pairs for m in months], axis=0).astype(np.int64)
    if members is None:
        members = np.max([m.members for m in months], axis=0).astype(np.int64)
    per100 = 100.0 * pairs / np.maximum(members, 1)
    block = np.asarray(org.unit_block, dtype=np.int64)
    base = lv.level_from_score(score, profile.level_cuts)
    order = tiebreak_order(score, block, kht, comp_mean[:, 1], per100, comp_mean[:, 4])
    q = apply_quota(base, block, np.full(org.u, profile.unit_quota_ratio), order, grows=True)
    return UnitYearResult(
        u=score,
        components=comp_mean,
        periods_scored=cnt,
        pairs=pairs,
        members=members,
        pairs_per_100=per100,
        level_base=base,
        level=q.level,
        quota=q,
    )
