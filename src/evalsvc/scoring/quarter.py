"""A quarter's inputs pooled from its three months (DOMAIN part 3, "Quarterly tracking").

Decree 335 allows tracking "hằng tháng hoặc quý" and QĐ 366 rates quarterly. A quarter is
scored exactly like a month over pooled inputs, so the scoring itself is
:func:`~evalsvc.scoring.monthly.score_month` on what :func:`pool_quarter` returns:

* a cadre is active in the quarter when active in at least one (whole) month of it;
* the task records of the cadre's **active** months are pooled (A, a, b, c over their
  sums); remediation items due in those months are added by the core
  (``active_months``);
* the general sub-criteria, đ and e are the mean over the active months of each month's
  values (a month without an assessment counts as full; with the profile's
  ``missing_assessment = "skip"`` only assessed months are averaged);
* the confirmed manifestations of every month's covering rounds (the same item once);
* discipline effective in any month; a low-confidence round covering any month;
* the unit satisfaction index: mean of the months that have one.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from evalsvc.scoring.inputs import Manifestations, MonthInputs, TaskRecords, TaskSums
from evalsvc.scoring.profiles import Profile
from evalsvc.scoring.tasks import as_month

F64 = npt.NDArray[np.float64]


def _pooled_tasks(months: Sequence[MonthInputs]) -> TaskRecords | TaskSums:
    """The records (or sums) of each month whose cadre is active in that month."""
    kinds = {type(m.tasks) for m in months}
    if len(kinds) != 1:
        raise ValueError("months.tasks: all months must hold raw records or all sums")
    parts = []
    for m in months:
        t = m.tasks
        keep = np.asarray(m.active, dtype=bool)[np.asarray(t.cadre, dtype=np.int64)]
        parts.append((t, keep))
    first = months[0].tasks
    names = [f.name for f in dataclasses.fields(first)]
    values = {}
    for name in names:
        if name in ("error_penalty", "delay_penalty"):
            pens = {getattr(t, name) for t, _ in parts}
            if len(pens) != 1:
                raise ValueError(f"months.tasks.{name}: the months' sums differ")
            values[name] = pens.pop()
            continue
        values[name] = np.concatenate([np.asarray(getattr(t, name))[k] for t, k in parts])
    return type(first)(**values)


def _mean_over(values: F64, use: npt.NDArray[np.bool_]) -> F64:
    """Mean over axis 0 where ``use`` (``(p, n)``), NaN where nothing is used."""
    w = use.reshape(use.shape + (1,) * (values.ndim - use.ndim)).astype(np.float64)
    cnt = w.sum(axis=0)
    total = np.where(w > 0, values, 0.0).sum(axis=0)
    return np.where(cnt > 0, total / np.maximum(cnt, 1.0), np.nan)


def pool_quarter(months: Sequence[MonthInputs], profile: Profile) -> MonthInputs:
    """The quarter's :class:`MonthInputs` from its months' (module docstring).

    Args:
        months: the quarter's months in order (1 to 3: months outside a cadre's
            employment are simply inactive).
        profile: ``sub_criterion_max`` and ``missing_assessment``.

    Raises:
        ValueError: no months, or mixed task forms.
    """
    if not months:
        raise ValueError("months: a quarter needs at least one month")
    active = np.stack([np.asarray(m.active, dtype=bool) for m in months])  # (p, n)
    employed = np.stack([m.employed_or_active for m in months])
    has = np.stack([np.asarray(m.has_assessment, dtype=bool) for m in months])
    full = profile.sub_criterion_max
    subs = np.stack(
        [
            np.where(h[:, None], np.asarray(m.sub_criteria, dtype=np.float64), full)
            for m, h in zip(months, has, strict=True)
        ]
    )  # (p, n, 3)
    use = active & has if profile.missing_assessment == "skip" else active
    sub = _mean_over(subs, use)
    sub = np.where(np.isnan(sub), full, sub)

    def leader_mean(name: str) -> F64:
        x = np.stack([np.asarray(getattr(m, name), dtype=np.float64) for m in months])
        return _mean_over(np.where(np.isnan(x), 1.0, x), active)

    sats = np.stack([np.asarray(m.satisfaction, dtype=np.float64) for m in months])
    sat = _mean_over(np.nan_to_num(sats), ~np.isnan(sats))
    act_any: npt.NDArray[np.bool_] = np.asarray(active.any(axis=0), dtype=bool)
    mf = [m.manifestations for m in months]
    bonus = _mean_over(np.stack([np.asarray(m.bonus, dtype=np.float64) for m in months]), active)
    return MonthInputs(
        period=as_month(months[0].period),
        tasks=_pooled_tasks(months),
        active=act_any,
        sub_criteria=sub,
        has_assessment=np.asarray(use.any(axis=0) | ~act_any, dtype=bool),
        capacity=leader_mean("capacity"),
        cohesion=leader_mean("cohesion"),
        manifestations=Manifestations(
            np.concatenate([np.asarray(x.cadre, dtype=np.int64) for x in mf]),
            np.concatenate([np.asarray(x.item, dtype=np.int64) for x in mf]),
            np.concatenate([np.asarray(x.group, dtype=np.int64) for x in mf]),
        ),
        discipline=np.sum([np.asarray(m.discipline, dtype=np.int64) for m in months], axis=0),
        low_confidence=np.any([np.asarray(m.low_confidence, dtype=bool) for m in months], 0),
        bonus=np.nan_to_num(bonus),
        satisfaction=sat,
        employed=np.asarray(employed.any(axis=0), dtype=bool),
        active_months=active.T.copy(),
    )
