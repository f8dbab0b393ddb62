"""Annual rating of cadres (Decree 335 Art. 19; Decree 90; QĐ 366 Art. 11; DOMAIN part 3).

Order (DOMAIN part 3 "Annual rating" and part 6 "overrides after averaging, quota
last"): eligibility, Y, base level (then not rated / absence cap), KHT overrides,
optional gates, leader link, quota per (agency, peer group). Every stage's levels are
kept so an explanation can show each change.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from evalsvc.scoring import levels as lv
from evalsvc.scoring.inputs import Manifestations, Org, YearInputs, cadre_agency, check_org
from evalsvc.scoring.profiles import Profile
from evalsvc.scoring.quota import QuotaResult, apply_quota
from evalsvc.scoring.rounding import round_half_up
from evalsvc.scoring.tasks import RemediationCounts, TaskTotals, remediation_counts

F64 = npt.NDArray[np.float64]
I8 = npt.NDArray[np.int8]
I64 = npt.NDArray[np.int64]


class PeriodScores(Protocol):
    """What the annual rating reads of a period: a ``MonthResult`` or a ``MonthCarry``."""

    @property
    def period(self) -> np.datetime64: ...

    @property
    def m(self) -> F64: ...

    @property
    def scored(self) -> npt.NDArray[np.bool_]: ...

    @property
    def totals(self) -> TaskTotals: ...

    @property
    def active(self) -> npt.NDArray[np.bool_]: ...


@dataclasses.dataclass(frozen=True, slots=True)
class AnnualResult:
    """Annual rating, every array ``(n,)``.

    Attributes:
        y: rounded mean of M over scored periods; NaN when none.
        periods_scored: number of periods averaged.
        worked: months employed − non-maternity absence.
        remediation: items due in the year (due / on time / verified).
        remediation_rate: on time ÷ due (none due -> 1), quota tie-break.
        n_manifestations: distinct confirmed items in the year, quota tie-break.
        violations: discipline violations counted this year.
        done_share, exceeded_share, late_share: year task shares (gates).
        level_base: level from Y.
        level_caps: after eligibility (not rated) and the absence cap (step 1).
        level_overrides: after the KHT overrides (step 4), applied to ``level_caps``.
        level_gates: after the optional gates.
        level_link: after the leader link.
        level: final level, after the quota.
        quota: the quota's bookkeeping.
        agency: ``(n,)`` the unit row whose (agency, peer group) quota the cadre is in.
        reasons: uint32 reason bits.
    """

    y: F64
    periods_scored: I64
    worked: I64
    remediation: RemediationCounts
    remediation_rate: F64
    n_manifestations: I64
    violations: I64
    done_share: F64
    exceeded_share: F64
    late_share: F64
    level_base: I8
    level_overrides: I8
    level_caps: I8
    level_gates: I8
    level_link: I8
    level: I8
    quota: QuotaResult
    agency: I64
    reasons: npt.NDArray[np.uint32]


def _bit(name: str, mask: npt.NDArray[np.bool_]) -> npt.NDArray[np.uint32]:
    return np.where(mask, lv.REASON_BIT[name], 0).astype(np.uint32)


def quota_group(org: Org, agency: I64 | None = None) -> I64:
    """Combined (agency, peer group) key per cadre: the quota's scope (DOMAIN part 3 step
    7); ``agency`` from :func:`~evalsvc.scoring.inputs.cadre_agency`, ``None`` = own unit."""
    peer = np.asarray(org.peer_group, dtype=np.int64)
    peer = peer - (peer.min() if peer.size else 0)
    scope = np.asarray(org.unit if agency is None else agency, dtype=np.int64)
    return scope * (int(peer.max(initial=0)) + 1) + peer


def year_manifestations(periods: Sequence[Manifestations], n: int) -> I64:
    """Distinct confirmed items per cadre over all periods of the year, ``(n,)``."""
    if not periods:
        return np.zeros(n, dtype=np.int64)
    c = np.concatenate([np.asarray(p.cadre, np.int64) for p in periods])
    it = np.concatenate([np.asarray(p.item, np.int64) for p in periods])
    if c.size == 0:
        return np.zeros(n, dtype=np.int64)
    return distinct_per_row(c, it - it.min(), n)


def distinct_per_row(rows: I64, values: I64, n: int) -> I64:
    """Distinct non-negative ``values`` per row ``0..n-1`` (pairs may repeat), ``(n,)``.

    A catalog has a few dozen items, so a ``(n, items)`` bitmap marks the pairs in one
    pass (a city year: 1.4 million pairs in milliseconds, where ``np.unique`` on the
    pair keys took 0.3 s); wide value ranges sort the keys instead.
    """
    width = int(values.max()) + 1
    if n * width <= 64_000_000:
        seen = np.zeros((n, width), dtype=bool)
        seen[rows, values] = True
        counts: I64 = seen.sum(axis=1, dtype=np.int64)
        return counts
    keys = np.sort(rows * width + values)
    first = np.ones(keys.size, dtype=bool)
    first[1:] = keys[1:] != keys[:-1]
    return np.bincount(keys[first] // width, minlength=n).astype(np.int64)


def counted_violations(year: YearInputs, n: int, profile: Profile) -> I64:
    """Distinct violations per cadre that count this year (Decree 48/2023; DOMAIN part 3).

    A violation counts once (party and administrative records together) and not at all
    if it was already counted in an earlier year.
    """
    d = year.discipline
    sel = (np.asarray(d.form) >= profile.discipline_min_form) & ~np.asarray(d.counted_before)
    c = np.asarray(d.cadre, dtype=np.int64)[sel]
    v = np.asarray(d.violation, dtype=np.int64)[sel]
    if c.size == 0:
        return np.zeros(n, dtype=np.int64)
    v = v - v.min()
    keys = np.unique(c * (int(v.max()) + 1) + v)
    return np.bincount(keys // (int(v.max()) + 1), minlength=n).astype(np.int64)


def _share(num: F64, den: F64, empty: float) -> F64:
    return np.where(den > 0, num / np.where(den > 0, den, 1.0), empty)


@dataclasses.dataclass(frozen=True, slots=True)
class Gated:
    """A year rated through step 5 (the gates): what steps 6-7 start from.

    The leader link and the quota differ between the two ratings of a year (units are
    rated from their members' levels after the gates, then leaders are capped by their
    unit's level), the steps before them do not: :func:`rate_gated` computes them once.
    """

    y: F64
    periods_scored: I64
    worked: I64
    remediation: RemediationCounts
    violations: I64
    done_share: F64
    exceeded_share: F64
    late_share: F64
    level_base: npt.NDArray[np.int8]
    level_overrides: npt.NDArray[np.int8]
    level_caps: npt.NDArray[np.int8]
    level_gates: npt.NDArray[np.int8]
    reasons: npt.NDArray[np.uint32]


def rate_gated(
    org: Org, months: Sequence[PeriodScores], year: YearInputs, profile: Profile
) -> Gated:
    """Steps 1-5 of :func:`rate_year` (which does not use ``leader_link``).

    Raises:
        ValueError: malformed inputs.
    """
    check_org(org)
    n, p = org.n, profile
    for name in ("months_employed", "months_absent", "degradation", "corruption_in_charge"):
        if np.shape(getattr(year, name)) != (n,):
            raise ValueError(f"year.{name}: expected shape {(n,)}")
    if np.shape(year.confidence_low_share) != (n,):
        raise ValueError(f"year.confidence_low_share: expected shape {(n,)}")
    if len(months) == 0:
        raise ValueError("months: at least one period is needed")

    # Step 1: eligibility (Decree 90): whole months worked, absence cap.
    worked = np.asarray(year.months_employed, np.int64) - np.asarray(year.months_absent, np.int64)
    absent = np.asarray(year.months_absent, np.int64)
    not_enough = worked < p.min_months_worked
    cap_abs = (absent >= p.absence_cap_from) & (absent < p.absence_cap_below)
    reasons = _bit("not_enough_months", not_enough)

    # Step 2: Y = mean of M over scored periods (Decree 335 Art. 19).
    m = np.stack([r.m for r in months])
    scored = np.stack([r.scored for r in months]) & ~np.isnan(m)
    cnt = scored.sum(axis=0).astype(np.int64)
    total = np.where(scored, m, 0.0).sum(axis=0)
    y = np.where(cnt > 0, round_half_up(total / np.maximum(cnt, 1), p.rounding_decimals), np.nan)
    reasons |= _bit("insufficient_data", cnt == 0)

    # Step 3: base level; step 1's outcome on it (not rated, or capped at HT).
    base = lv.level_from_score(y, p.level_cuts)
    rated = (base >= 0) & ~not_enough
    lowered = rated & cap_abs & (base > p.absence_cap_level)
    lvl_caps = np.where(lowered, np.int8(p.absence_cap_level), base)
    lvl_caps = np.where(not_enough, np.int8(lv.NOT_RATED), lvl_caps).astype(np.int8)
    reasons |= _bit("absence_cap", lowered)

    # Step 4: KHT overrides (law); each stores its reason whenever it applies.
    leader = np.asarray(org.position) != lv.STAFF
    violations = counted_violations(year, n, p)
    share = np.asarray(year.confidence_low_share, dtype=np.float64)
    rules = {
        "score_below_50": rated & (base == lv.KHT),
        "discipline": rated & (violations > 0),
        "degradation": rated & np.asarray(year.degradation, dtype=bool),
        "corruption_in_charge": rated & leader & np.asarray(year.corruption_in_charge, bool),
        "low_confidence": rated
        & leader
        & ~np.isnan(share)
        & (np.nan_to_num(share) > p.confidence_vote_threshold),
    }
    kht = np.zeros(n, dtype=bool)
    for name, mask in rules.items():
        reasons |= _bit(name, mask)
        kht |= mask
    lvl_over = np.where(kht, np.int8(lv.KHT), lvl_caps).astype(np.int8)

    # Step 5: optional gates (QĐ 366 Art. 11), k-weighted over the task records of the
    # year's active periods (remediation items included; DOMAIN part 3 step 5).
    act = [np.asarray(r.active, dtype=bool) for r in months]
    tot = [r.totals for r in months]

    def year_sum(field: str) -> F64:
        return np.asarray(
            np.sum([np.where(a, getattr(t, field), 0.0) for a, t in zip(act, tot, strict=True)], 0),
            dtype=np.float64,
        )

    a_sum, d_sum = year_sum("assigned"), year_sum("done")
    done_share = _share(d_sum, a_sum, 1.0)
    exceeded_share = _share(year_sum("exceeded"), a_sum, 0.0)
    late_share = _share(year_sum("late"), d_sum, 0.0)
    y0 = int(np.asarray(months[0].period, dtype="datetime64[Y]").astype(np.int64)) + 1970
    rem = remediation_counts(year.remediation, n, f"{y0}-01", f"{y0}-12")
    verified_share = np.where(rem.due > 0, rem.verified / np.maximum(rem.due, 1), 1.0)
    lvl_gates = lvl_over.copy()
    if p.gates:
        eps = 1e-9
        htxs = lvl_gates == lv.HTXS
        g_done = htxs & (done_share < p.gate_htxs_done_share - eps)
        g_exc = htxs & (exceeded_share < p.gate_htxs_exceeded_share - eps)
        g_rem = htxs & (verified_share < p.gate_htxs_remediation_share - eps)
        reasons |= _bit("gate_tasks_done", g_done) | _bit("gate_exceeded", g_exc)
        reasons |= _bit("unremediated", g_rem)
        lvl_gates[g_done | g_exc | g_rem] = lv.HTT
        late_fail = (lvl_gates >= lv.HT) & (late_share > p.gate_ht_late_share_max + eps)
        reasons |= _bit("gate_late_tasks", late_fail)
        lvl_gates[late_fail] = lv.KHT
    return Gated(
        y,
        cnt,
        worked,
        rem,
        violations,
        done_share,
        exceeded_share,
        late_share,
        base,
        lvl_over,
        lvl_caps,
        lvl_gates,
        reasons,
    )


def rate_year(
    org: Org,
    months: Sequence[PeriodScores],
    year: YearInputs,
    profile: Profile,
    unit_level: npt.NDArray[np.int8] | None = None,
    manifestations: Sequence[Manifestations] | None = None,
    n_manifestations: I64 | None = None,
    gated: Gated | None = None,
) -> AnnualResult:
    """Annual rating of every cadre (Decree 335 Art. 19; DOMAIN part 3 steps 1-7).

    Args:
        org: ``n`` cadres, ``u`` units.
        months: the year's :class:`MonthResult` (from ``score_month``) or their carries,
            in period order.
        year: the year's inputs (eligibility, discipline, overrides, remediation items).
        profile: the policy.
        unit_level: ``(u,)`` annual unit levels for the leader link (after the unit
            quota); ``None`` or -1 entries mean no cap.
        manifestations: the periods' confirmed manifestations; ``None`` = those of
            ``year.periods``.
        n_manifestations: their distinct items per cadre, when already counted
            (:func:`year_manifestations`).
        gated: steps 1-5 of the same months, year and profile (:func:`rate_gated`), when
            already computed.

    Returns:
        :class:`AnnualResult`.

    Raises:
        ValueError: malformed inputs.
    """
    g = rate_gated(org, months, year, profile) if gated is None else gated
    n, p = org.n, profile
    reasons = g.reasons.copy()

    # Step 6: leader link (heads only; units are rated before their leaders).
    lvl_link = g.level_gates.copy()
    if p.leader_link != "off" and unit_level is not None:
        ul = np.asarray(unit_level, dtype=np.int64)[np.asarray(org.unit, dtype=np.int64)]
        cap = ul + (1 if p.leader_link == "one_step" else 0)
        is_head = np.asarray(org.position) == lv.HEAD
        capped = is_head & (ul >= 0) & (lvl_link > cap)
        lvl_link = np.where(capped, np.minimum(lvl_link, cap), lvl_link).astype(np.int8)
        reasons |= _bit("leader_cap", capped)

    # Step 7: quota per (agency, peer group), lowest-ranked HTXS demoted first; the ratio
    # is the agency's (outstanding that year: 25 %).
    if n_manifestations is None:
        periods = [p.manifestations for p in year.periods]
        n_manifestations = year_manifestations(
            periods if manifestations is None else manifestations, n
        )
    n_man = n_manifestations
    rate = g.remediation.rate()
    y_key = np.where(np.isnan(g.y), -np.inf, g.y)
    keep = np.lexsort((np.asarray(org.code), n_man, -rate, -y_key))
    agency = cadre_agency(org, p.quota_scope)
    outstanding = np.asarray(org.unit_outstanding, dtype=bool)[agency]
    ratio = np.where(outstanding, p.quota_ratio_outstanding, p.quota_ratio)
    group = quota_group(org, agency)
    q = apply_quota(lvl_link, group, ratio, keep, grows=p.quota_base == "next_level")
    reasons |= _bit("quota", q.demoted)
    return AnnualResult(
        y=g.y,
        periods_scored=g.periods_scored,
        worked=g.worked,
        remediation=g.remediation,
        remediation_rate=rate,
        n_manifestations=n_man,
        violations=g.violations,
        done_share=g.done_share,
        exceeded_share=g.exceeded_share,
        late_share=g.late_share,
        level_base=g.level_base,
        level_overrides=g.level_overrides,
        level_caps=g.level_caps,
        level_gates=g.level_gates,
        level_link=lvl_link,
        level=q.level,
        quota=q,
        agency=agency,
        reasons=reasons,
    )


def empty_year(org: Org, periods: Sequence[Any]) -> YearInputs:
    """A year with no eligibility problems and no overrides, for building inputs."""
    from evalsvc.scoring.inputs import DisciplineRecords, Remediation

    n = org.n
    return YearInputs(
        periods=list(periods),
        remediation=Remediation.empty(),
        unit_remediation=Remediation.empty(),
        months_employed=np.full(n, 12, dtype=np.int64),
        months_absent=np.zeros(n, dtype=np.int64),
        discipline=DisciplineRecords.empty(),
        degradation=np.zeros(n, dtype=bool),
        corruption_in_charge=np.zeros(n, dtype=bool),
        confidence_low_share=np.full(n, np.nan),
    )
