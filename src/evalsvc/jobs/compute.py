"""Score a city-period and lay the results out as the columns of the result tables.

Runs in a worker thread (numpy releases the GIL in its kernels), so the event loop keeps
serving requests. No I/O here: arrays in (:class:`~evalsvc.jobs.inputs.City`), columns out.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from datetime import date
from typing import Any

import numpy as np
import numpy.typing as npt

from evalsvc.jobs.inputs import City
from evalsvc.scoring import MonthResult, Profile, rank_units, score_month
from evalsvc.scoring import levels as lv
from evalsvc.scoring.carry import MonthCarry, carry_month
from evalsvc.scoring.pipeline import carried_intervals, rate_carried, score_periods
from evalsvc.scoring.rankings import Ranking, RankIntervals, rank_intervals
from evalsvc.scoring.units import (
    UnitMonthResult,
    ancestor_matrix,
    member_matrix,
    score_units_month,
    unit_own_matrix,
)
from evalsvc.store.results import MONTH_DETAIL, YEAR

Columns = dict[str, tuple[str, Any]]
I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]


@dataclasses.dataclass(slots=True)
class Computed:
    """Result rows of one run.

    ``months`` are the cadre period results of the months read (``city.months``; ``None``
    for a period a year took from a month run; their
    rows are laid out by :func:`month_columns` only for the months that are written, see
    ``jobs/recompute.py``) and ``carries`` what the year needs of each; the other tables
    as ``column -> (pg_type, array)``. ``run_id``
    is added by the writer. Row counts are in ``rows``.

    What the cadre rows do not need is left to :meth:`finish` (a month's unit scores,
    ranking and carry, and the period's rank intervals: the bootstrap, the longest part of
    a month's scoring), so the writer can run it while the cadre rows are stored. It needs
    the rank-interval seed, derived from the input fingerprint computed meanwhile; it calls
    back once the carries exist, before the rank intervals, so they can be stored meanwhile.
    """

    months: list[MonthResult | None]
    cadre_years: Columns | None
    units: Columns
    rows: dict[str, int]
    carries: list[MonthCarry]
    unfinished: Callable[[Computed, int, Callable[[], None]], None] | None = None

    def finish(self, seed: int, carried: Callable[[], None] = lambda: None) -> None:
        """Complete what was left for later (CPU only: off the event loop); ``carried`` is
        called once ``carries`` are complete, before the rank intervals."""
        if self.unfinished is None:
            carried()
            return
        unfinished, self.unfinished = self.unfinished, None
        unfinished(self, seed, carried)

    def fill_intervals(self, iv: RankIntervals) -> None:
        """The period's rank intervals into its unit rows (a year's annual rows first)."""
        for name, values in (("rank_low", iv.low), ("rank_high", iv.high)):
            column = np.array(self.units[name][1], dtype=np.float64)  # a copy
            column[: len(values)] = values
            self.units[name] = ("float8", column)


TOTALS = ("assigned", "done")


def month_columns(city: City, r: MonthResult) -> Columns:
    """The stored cadre columns of one period (store/results.py ``MONTH``)."""
    org = city.org
    detail: Columns = {
        k: ("float8", np.asarray(getattr(r.totals if k in TOTALS else r, k), dtype=np.float64))
        for k in MONTH_DETAIL
    }
    return {
        "cadre_id": ("int8", city.cadre_ids),
        "unit_id": ("int8", city.unit_ids[org.unit]),
        "m": ("float8", r.m),
        "level": ("int2", r.level),
        "reasons": ("int4", r.reasons.astype(np.int64)),
        "n_manifestations": ("int4", r.n_manifestations),
        **detail,
    }


def _concat(parts: list[Columns], n: int) -> Columns:
    """Stack per-month column sets; scalars (the month) are repeated ``n`` times."""
    out: Columns = {}
    for name, (t, _) in parts[0].items():
        out[name] = (t, np.concatenate([np.broadcast_to(p[name][1], (n,)) for p in parts]))
    return out


def _pairs_per_100(pairs: npt.ArrayLike, members: npt.ArrayLike) -> F64:
    p = np.asarray(pairs, dtype=np.float64)
    m = np.asarray(members, dtype=np.float64)
    return np.where(m > 0, p * 100.0 / np.maximum(m, 1.0), 0.0)


def _previous(prev: dict[int, int], unit_ids: I64) -> I64:
    out = np.full(len(unit_ids), -1, dtype=np.int64)
    if prev:
        ids = np.fromiter(prev.keys(), dtype=np.int64, count=len(prev))
        ranks = np.fromiter(prev.values(), dtype=np.int64, count=len(prev))
        pos = np.searchsorted(unit_ids, ids)
        ok = (pos < len(unit_ids)) & (unit_ids[np.minimum(pos, len(unit_ids) - 1)] == ids)
        out[pos[ok]] = ranks[ok]
    return out


def _unit_columns(
    city: City,
    month: np.datetime64,
    annual: bool,
    u: F64,
    comp: F64,
    members: Any,
    kht: Any,
    pairs: Any,
    level_base: Any,
    level: Any,
    ranking: Ranking,
    previous: I64,
    intervals: RankIntervals | None,
) -> Columns:
    nan = np.full(len(city.unit_ids), np.nan)
    return {
        "unit_id": ("int8", city.unit_ids),
        "month": ("date", np.asarray(month).astype("datetime64[D]")),
        "annual": ("bool", annual),
        "u": ("float8", u),
        **{f"u{i + 1}": ("float8", comp[:, i]) for i in range(5)},
        "members": ("int4", np.asarray(members, dtype=np.int64)),
        "kht": ("int4", np.asarray(kht, dtype=np.int64)),
        "pairs": ("int4", np.asarray(pairs, dtype=np.int64)),
        "level_base": ("int2", np.asarray(level_base)),
        "level": ("int2", np.asarray(level)),
        "rank": ("int4", ranking.rank),
        "prev_rank": ("int4", np.where(ranking.rank >= 0, previous, -1)),
        "movement": ("int4", ranking.movement),
        "rank_low": ("float8", intervals.low if intervals is not None else nan),
        "rank_high": ("float8", intervals.high if intervals is not None else nan),
    }


def _month_unit_columns(
    city: City, um: UnitMonthResult, ranking: Ranking, previous: I64, profile: Profile
) -> Columns:
    """A month's unit rows (no quota: the level is the score's; intervals filled later)."""
    level = lv.level_from_score(um.u, profile.level_cuts)
    return _unit_columns(
        city,
        um.period,
        False,
        um.u,
        um.components,
        um.members,
        um.kht,
        um.pairs,
        level,
        level,
        ranking,
        previous,
        None,
    )


def _rank_month(city: City, um: UnitMonthResult, previous: I64) -> Ranking:
    return rank_units(
        um.u,
        city.org.unit_block,
        um.kht,
        um.components[:, 1],
        _pairs_per_100(um.pairs, um.members),
        um.components[:, 4],
        previous,
    )


def compute(
    city: City,
    profile: Profile,
    previous: dict[int, int],
    intervals: bool = True,
    carried: Mapping[date, MonthCarry] | None = None,
) -> Computed:
    """Score ``city``'s cadres for its period and return the result columns; the rest
    follows in :meth:`Computed.finish` (class docstring).

    Args:
        city: inputs with ids.
        profile: the policy.
        previous: the previous period's published ranks, unit id -> rank.
        intervals: compute rank intervals (bootstrap) for the period's ranking.
        carried: a year's periods (by first day) taken from month runs: not scored again,
            their ``months`` entry is ``None``.
    """
    org, year = city.org, city.year
    prev = _previous(previous, city.unit_ids)
    n = org.n
    if city.period.kind != "year":  # one period: a month, or a quarter (qd366)
        mi = year.periods[0]
        mr = score_month(org, mi, profile, year.remediation)

        def units_and_carry(done: Computed, seed: int, carried: Callable[[], None]) -> None:
            anc = ancestor_matrix(org.unit_parent)
            mx = member_matrix(org, mi, mr, year.remediation, profile)
            um = score_units_month(
                org, mi, mr, profile, year.remediation, year.unit_remediation, anc, members=mx
            )
            ranking = _rank_month(city, um, prev)
            done.units = _month_unit_columns(city, um, ranking, prev, profile)
            done.carries = [carry_month(mi, mr, um)]
            carried()
            if intervals and org.u:
                own = unit_own_matrix(org, mr.period, year.unit_remediation, profile)
                unit = np.asarray(org.unit, dtype=np.int64)
                sat = np.asarray(mi.satisfaction, dtype=np.float64)
                done.fill_intervals(
                    rank_intervals(
                        mx, unit, own, anc, sat, ranking, um.u, org.unit_block, profile, seed
                    )
                )

        return Computed([mr], None, {}, {"units": org.u}, [], units_and_carry)

    taken = carried or {}
    fresh_at = [i for i, start in enumerate(city.months) if start not in taken]
    scored, scored_carries = score_periods(
        org, dataclasses.replace(year, periods=[year.periods[i] for i in fresh_at]), profile
    )
    fresh: list[MonthResult | None] = [None] * len(city.months)
    carries = [taken.get(start) for start in city.months]
    for i, r, c in zip(fresh_at, scored, scored_carries, strict=True):
        fresh[i], carries[i] = r, c
    assert all(c is not None for c in carries)
    carries_all = [c for c in carries if c is not None]
    rating = rate_carried(org, carries_all, year, profile, prev)
    a = rating.cadres
    stages = {
        f"level_{s}": getattr(a, f"level_{s}")
        for s in ("base", "overrides", "caps", "gates", "link")
    }
    values = {
        "periods_scored": a.periods_scored,
        "worked": a.worked,
        "rem_due": a.remediation.due,
        "rem_on_time": a.remediation.on_time,
        "rem_verified": a.remediation.verified,
        "remediation_rate": a.remediation_rate,
        "n_manifestations": a.n_manifestations,
        "violations": a.violations,
        "done_share": a.done_share,
        "exceeded_share": a.exceeded_share,
        "late_share": a.late_share,
        **stages,
        "quota_keep_rank": np.where(a.quota.keep_rank > 0, a.quota.keep_rank, -1),
        "agency_id": city.unit_ids[a.agency],
        "quota_cap": a.quota.cap,
        "quota_top_before": a.quota.top_before,
    }
    years: Columns = {
        "cadre_id": ("int8", city.cadre_ids),
        "unit_id": ("int8", city.unit_ids[org.unit]),
        "y": ("float8", a.y),
        "level": ("int2", a.level),
        "reasons": ("int4", a.reasons.astype(np.int64)),
        **{k: (t, np.asarray(values[k])) for k, t in YEAR.columns if k in values},
    }
    anc = ancestor_matrix(org.unit_parent)
    unit = np.asarray(org.unit, dtype=np.int64)

    def kht_members(level: npt.NDArray[np.int8]) -> I64:
        own = np.bincount(unit, level == lv.KHT, minlength=org.u)
        return np.asarray(np.rint(np.asarray(anc @ own)), dtype=np.int64)

    uy = rating.units
    unit_parts = [
        _unit_columns(
            city,
            np.datetime64(f"{city.period.year}-01", "M"),
            True,
            uy.u,
            uy.components,
            uy.members,
            kht_members(a.level),
            uy.pairs,
            uy.level_base,
            uy.level,
            rating.ranking,
            prev,
            rating.intervals,
        )
    ]
    month_prev = np.full(org.u, -1, dtype=np.int64)
    for um in rating.unit_months:
        ranking = _rank_month(city, um, month_prev)
        unit_parts.append(_month_unit_columns(city, um, ranking, month_prev, profile))
        month_prev = ranking.rank
    units = _concat(unit_parts, org.u)
    rows = {"cadre_years": n, "units": org.u * (1 + len(carries_all))}

    def year_intervals(done: Computed, seed: int, carried: Callable[[], None]) -> None:
        carried()
        done.fill_intervals(
            carried_intervals(org, carries_all, year, profile, rating.ranking, rating.units.u, seed)
        )

    later = year_intervals if intervals and carries_all else None
    return Computed(fresh, years, units, rows, carries_all, later)
