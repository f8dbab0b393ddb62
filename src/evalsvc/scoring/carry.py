"""A scored month reduced to what the year needs of it.

The annual steps only average, sum and count a month's scores: Y averages M over scored
months, the gates and the unit member matrix sum the task totals, the quota counts the
year's distinct manifestations, the unit year averages the unit months. A
:class:`MonthCarry` holds exactly those arrays, so a year can be rated from months scored
earlier (a month run keeps its carry) without their inputs: :func:`rate_carried` gives
the same rating as scoring the months again (tested).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from evalsvc.scoring.inputs import Manifestations, MonthInputs, Org, Remediation
from evalsvc.scoring.monthly import MonthResult
from evalsvc.scoring.profiles import Profile
from evalsvc.scoring.tasks import TaskTotals
from evalsvc.scoring.units import (
    COLS,
    UnitMonthResult,
    period_member_columns,
)

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]


@dataclasses.dataclass(frozen=True, slots=True)
class MonthCarry:
    """What the year uses of one scored period, arrays ``(n,)`` unless stated.

    Attributes:
        period: ``datetime64[M]`` first month of the period.
        m: M (NaN when not scored).
        scored: M exists.
        active: active in the period (the gates' shares read only active periods).
        employed: employed in the period (U3's members).
        level: the period's level (-1 none).
        n_manifestations: distinct confirmed items of the period.
        discipline: discipline records effective in the period.
        totals: k-weighted task sums including remediation items.
        manifestations: the period's confirmed (cadre, item, group) rows.
        satisfaction: ``(u,)`` the units' satisfaction index (NaN missing).
        units: the period's unit scores.
    """

    period: np.datetime64
    m: F64
    scored: npt.NDArray[np.bool_]
    active: npt.NDArray[np.bool_]
    employed: npt.NDArray[np.bool_]
    level: npt.NDArray[np.int8]
    n_manifestations: I64
    discipline: I64
    totals: TaskTotals
    manifestations: Manifestations
    satisfaction: F64
    units: UnitMonthResult


def carry_month(month: MonthInputs, res: MonthResult, units: UnitMonthResult) -> MonthCarry:
    """The carry of a month scored by ``score_month`` and ``score_units_month``."""
    return MonthCarry(
        period=res.period,
        m=res.m,
        scored=res.scored,
        active=res.active,
        employed=res.employed,
        level=res.level,
        n_manifestations=np.asarray(res.n_manifestations, dtype=np.int64),
        discipline=np.asarray(month.discipline, dtype=np.int64),
        totals=res.totals,
        manifestations=month.manifestations,
        satisfaction=np.asarray(month.satisfaction, dtype=np.float64),
        units=units,
    )


def summed_member_matrix(
    org: Org, carries: Sequence[MonthCarry], remediation: Remediation, profile: Profile
) -> F64:
    """The sum over ``carries`` of their member matrices, accumulated column by column.

    The same additions in the same order as summing :func:`carry_member_matrix` of each
    period (equal floats), without twelve ``(n, 9)`` temporaries.
    """
    out = np.zeros((org.n, len(COLS)), order="F")  # column-major, as ``member_matrix``
    for c in carries:
        for k, col in enumerate(_columns(org, c, remediation, profile)):
            out[:, k] += col
    return out


def carry_member_matrix(
    org: Org, carry: MonthCarry, remediation: Remediation, profile: Profile
) -> F64:
    """The period's ``units.member_matrix`` rebuilt from its carry."""
    return np.stack(_columns(org, carry, remediation, profile), axis=0).T


def _columns(org: Org, c: MonthCarry, remediation: Remediation, profile: Profile) -> list[F64]:
    return period_member_columns(
        org.n,
        c.period,
        c.totals,
        c.n_manifestations,
        c.level,
        c.discipline,
        remediation,
        profile,
        c.employed,
    )
