"""One call that rates a year: cadre periods, units, annual ratings, rankings.

Order (DOMAIN part 6 "overrides after averaging, quota last; units before their
leaders"): period scores bottom-up → unit period scores → cadre annual stages 1-5 →
unit annual levels and collective quota → cadre leader link and quota → unit ranks.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import numpy.typing as npt

from evalsvc.scoring import levels as lv
from evalsvc.scoring.annual import AnnualResult, rate_year
from evalsvc.scoring.inputs import Org, YearInputs, check_org
from evalsvc.scoring.monthly import MonthResult, score_month
from evalsvc.scoring.profiles import Profile
from evalsvc.scoring.rankings import Ranking, RankIntervals, rank_intervals, rank_units
from evalsvc.scoring.units import (
    UnitMonthResult,
    UnitYearResult,
    ancestor_matrix,
    member_matrix,
    rate_units_year,
    score_units_month,
    unit_own_matrix,
)


@dataclasses.dataclass(frozen=True, slots=True)
class YearRating:
    """Everything computed for one year under one profile.

    Attributes:
        profile: the profile used (published results record name and version).
        months: cadre period results in order.
        unit_months: unit period results in order.
        cadres: the cadres' annual rating.
        units: the units' annual scores and levels.
        ranking: annual ranks within blocks.
        intervals: rank intervals, ``None`` unless a seed was given.
    """

    profile: Profile
    months: list[MonthResult]
    unit_months: list[UnitMonthResult]
    cadres: AnnualResult
    units: UnitYearResult
    ranking: Ranking
    intervals: RankIntervals | None


def rate_all(
    org: Org,
    year: YearInputs,
    profile: Profile,
    previous_rank: npt.ArrayLike | None = None,
    seed: int | None = None,
    pair_variance: npt.NDArray[np.float64] | None = None,
) -> YearRating:
    """Rate cadres and units for a year (DOMAIN parts 3 and 5). Pure; stores nothing.

    Args:
        org: ``n`` cadres, ``u`` units.
        year: the year's inputs with its periods in order.
        profile: the policy.
        previous_rank: ``(u,)`` last year's ranks for movement, -1 = none.
        seed: seed of the rank-interval bootstrap; ``None`` skips the intervals.
        pair_variance: ``(n,)`` ballot variance per member for the intervals.

    Returns:
        :class:`YearRating`.
    """
    check_org(org)
    anc = ancestor_matrix(org.unit_parent)
    months = [score_month(org, m, profile, year.remediation) for m in year.periods]
    mats = [
        member_matrix(org, m, r, year.remediation, profile)
        for m, r in zip(year.periods, months, strict=True)
    ]
    unit_months = [
        score_units_month(
            org, m, r, profile, year.remediation, year.unit_remediation, anc, members=x
        )
        for m, r, x in zip(year.periods, months, mats, strict=True)
    ]
    unit = np.asarray(org.unit, dtype=np.int64)

    def kht_members(level: npt.NDArray[np.int8]) -> npt.NDArray[np.int64]:
        own = np.bincount(unit, level == lv.KHT, minlength=org.u)
        return np.asarray(np.rint(np.asarray(anc @ own)), dtype=np.int64)

    # Units before their leaders: the unit quota's order uses KHT counts from the cadre
    # levels before the leader link (which itself needs the unit levels).
    pre = rate_year(org, months, year, profile.replace(leader_link="off"))
    units = rate_units_year(org, unit_months, profile, kht_members(pre.level_gates))
    cadres = rate_year(org, months, year, profile, units.level)
    kht = kht_members(cadres.level)
    ranking = rank_units(
        units.u,
        org.unit_block,
        kht,
        units.components[:, 1],
        units.pairs_per_100,
        units.components[:, 4],
        previous_rank,
    )
    intervals = None
    if seed is not None and year.periods:
        x = np.sum(mats, axis=0)
        own = sum(unit_own_matrix(org, r.period, year.unit_remediation, profile) for r in months)
        sats = np.stack([np.asarray(m.satisfaction, dtype=np.float64) for m in year.periods])
        has = ~np.isnan(sats)
        sat = np.where(
            has.any(axis=0),
            np.where(has, sats, 0.0).sum(axis=0) / np.maximum(has.sum(0), 1),
            np.nan,
        )
        intervals = rank_intervals(
            np.asarray(x),
            unit,
            np.asarray(own),
            anc,
            sat,
            ranking,
            units.u,
            org.unit_block,
            profile,
            seed,
            pair_variance,
        )
    return YearRating(profile, months, unit_months, cadres, units, ranking, intervals)
