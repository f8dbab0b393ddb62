"""One call that rates a year: cadre periods, units, annual ratings, rankings.

Order (DOMAIN part 6 "overrides after averaging, quota last; units before their
leaders"): period scores bottom-up → unit period scores → cadre annual stages 1-5 →
unit annual levels and collective quota → cadre leader link and quota → unit ranks.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from evalsvc.scoring import levels as lv
from evalsvc.scoring.annual import (
    AnnualResult,
    rate_gated,
    rate_year,
    year_manifestations,
)
from evalsvc.scoring.carry import MonthCarry, carry_month, summed_member_matrix
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
        months: cadre period results in order (empty from :func:`rate_carried`).
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


def score_periods(
    org: Org, year: YearInputs, profile: Profile
) -> tuple[list[MonthResult], list[MonthCarry]]:
    """Score every period of ``year`` (cadres bottom-up, then units) and carry each."""
    check_org(org)
    anc = ancestor_matrix(org.unit_parent)
    months: list[MonthResult] = []
    carries: list[MonthCarry] = []
    for m in year.periods:
        r = score_month(org, m, profile, year.remediation)
        x = member_matrix(org, m, r, year.remediation, profile)
        um = score_units_month(
            org, m, r, profile, year.remediation, year.unit_remediation, anc, members=x
        )
        months.append(r)
        carries.append(carry_month(m, r, um))
    return months, carries


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
    months, carries = score_periods(org, year, profile)
    rating = rate_carried(org, carries, year, profile, previous_rank, seed, pair_variance)
    return dataclasses.replace(rating, months=months)


def rate_carried(
    org: Org,
    carries: Sequence[MonthCarry],
    year: YearInputs,
    profile: Profile,
    previous_rank: npt.ArrayLike | None = None,
    seed: int | None = None,
    pair_variance: npt.NDArray[np.float64] | None = None,
) -> YearRating:
    """Rate the year from its periods' carries (scored now or earlier); see :func:`rate_all`.

    ``year.periods`` is not read (it may hold only the periods scored now); the
    year-wide inputs are. The result's ``months`` is empty.
    """
    check_org(org)
    anc = ancestor_matrix(org.unit_parent)
    unit_months = [c.units for c in carries]
    manifestations = [c.manifestations for c in carries]
    unit = np.asarray(org.unit, dtype=np.int64)

    def kht_members(level: npt.NDArray[np.int8]) -> npt.NDArray[np.int64]:
        own = np.bincount(unit, level == lv.KHT, minlength=org.u)
        return np.asarray(np.rint(np.asarray(anc @ own)), dtype=np.int64)

    # Units before their leaders: the unit quota's order uses KHT counts from the cadre
    # levels before the leader link (which itself needs the unit levels).
    n_man = year_manifestations(manifestations, org.n)
    gated = rate_gated(org, carries, year, profile)
    # Annual tie-break (DOMAIN part 5): the year's distinct confirmed pairs per members
    # employed in any period of the year.
    employed_any = np.any([c.employed for c in carries], axis=0)
    roll = np.stack(
        [
            np.bincount(unit, n_man, minlength=org.u),
            np.bincount(unit, employed_any, minlength=org.u),
        ],
        axis=1,
    )
    year_pairs, year_members = np.rint(np.asarray(anc @ roll)).astype(np.int64).T
    units = rate_units_year(
        org,
        unit_months,
        profile,
        kht_members(gated.level_gates),
        pairs=year_pairs,
        members=year_members,
    )
    cadres = rate_year(
        org, carries, year, profile, units.level, n_manifestations=n_man, gated=gated
    )
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
    if seed is not None and carries:
        intervals = carried_intervals(
            org, carries, year, profile, ranking, units.u, seed, pair_variance
        )
    return YearRating(profile, [], unit_months, cadres, units, ranking, intervals)


def carried_intervals(
    org: Org,
    carries: Sequence[MonthCarry],
    year: YearInputs,
    profile: Profile,
    ranking: Ranking,
    score: npt.NDArray[np.float64],
    seed: int,
    pair_variance: npt.NDArray[np.float64] | None = None,
) -> RankIntervals:
    """The annual ranking's rank intervals from the year's carries (``rate_carried`` with a
    seed; a caller may run this later, e.g. while the rest of the year is stored)."""
    anc = ancestor_matrix(org.unit_parent)
    unit = np.asarray(org.unit, dtype=np.int64)
    x = summed_member_matrix(org, carries, year.remediation, profile)
    own = sum(unit_own_matrix(org, c.period, year.unit_remediation, profile) for c in carries)
    sats = np.stack([c.satisfaction for c in carries])
    has = ~np.isnan(sats)
    sat = np.where(
        has.any(axis=0),
        np.where(has, sats, 0.0).sum(axis=0) / np.maximum(has.sum(0), 1),
        np.nan,
    )
    return rank_intervals(
        np.asarray(x),
        unit,
        np.asarray(own),
        anc,
        sat,
        ranking,
        score,
        org.unit_block,
        profile,
        seed,
        pair_variance,
    )
