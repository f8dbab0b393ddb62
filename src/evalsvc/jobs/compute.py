"""Score a city-period and lay the results out as the columns of the result tables.

Runs in a worker thread (numpy releases the GIL in its kernels), so the event loop keeps
serving requests. No I/O here: arrays in (:class:`~evalsvc.jobs.inputs.City`), columns out.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import numpy.typing as npt

from evalsvc.jobs.inputs import City
from evalsvc.scoring import MonthResult, Profile, rank_units, rate_all, score_month
from evalsvc.scoring import levels as lv
from evalsvc.scoring.rankings import Ranking, RankIntervals, rank_intervals
from evalsvc.scoring.units import (
    UnitMonthResult,
    ancestor_matrix,
    member_matrix,
    score_units_month,
    unit_own_matrix,
)

Columns = dict[str, tuple[str, Any]]
I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]


@dataclasses.dataclass(slots=True)
class Computed:
    """Result rows of one run, as ``column -> (pg_type, array)`` per table.

    ``run_id`` is added by the writer. Row counts are in ``rows``.
    """

    cadre_months: Columns
    cadre_years: Columns | None
    units: Columns
    rows: dict[str, int]


def _month_columns(city: City, r: MonthResult) -> Columns:
    org = city.org
    return {
        "cadre_id": ("int8", city.cadre_ids),
        "month": ("date", np.asarray(r.period).astype("datetime64[D]")),
        "unit_id": ("int8", city.unit_ids[org.unit]),
        "assigned": ("float8", r.totals.assigned),
        "done": ("float8", r.totals.done),
        **{k: ("float8", getattr(r, k)) for k in ("a", "b", "c", "d", "dd", "e", "kq", "t")},
        **{k: ("float8", getattr(r, k)) for k in ("g_raw", "deduction", "g", "bonus", "m")},
        "n_manifestations": ("int4", r.n_manifestations),
        "level": ("int2", r.level),
        "reasons": ("int4", r.reasons.astype(np.int64)),
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
    city: City, profile: Profile, seed: int, previous: dict[int, int], intervals: bool = True
) -> Computed:
    """Score ``city`` for its period and return the result columns.

    Args:
        city: inputs with ids.
        profile: the policy.
        seed: rank-interval bootstrap seed (derived from the input fingerprint).
        previous: the previous period's published ranks, unit id -> rank.
        intervals: compute rank intervals (bootstrap) for the period's ranking.
    """
    org, year = city.org, city.year
    prev = _previous(previous, city.unit_ids)
    n = org.n
    if city.period.kind == "month":
        anc = ancestor_matrix(org.unit_parent)
        mi = year.periods[0]
        mr = score_month(org, mi, profile, year.remediation)
        um = score_units_month(org, mi, mr, profile, year.remediation, year.unit_remediation, anc)
        ranking = _rank_month(city, um, prev)
        iv = None
        if intervals and org.u:
            iv = rank_intervals(
                member_matrix(org, mi, mr, year.remediation, profile),
                np.asarray(org.unit, dtype=np.int64),
                unit_own_matrix(org, mr.period, year.unit_remediation, profile),
                anc,
                np.asarray(mi.satisfaction, dtype=np.float64),
                ranking,
                um.u,
                org.unit_block,
                profile,
                seed,
            )
        ulevel = lv.level_from_score(um.u, profile.level_cuts)
        units = _unit_columns(
            city,
            mr.period,
            False,
            um.u,
            um.components,
            um.members,
            um.kht,
            um.pairs,
            ulevel,
            ulevel,
            ranking,
            prev,
            iv,
        )
        cm = _month_columns(city, mr)
        cm["month"] = ("date", np.full(n, np.asarray(mr.period).astype("datetime64[D]")))
        return Computed(cm, None, units, {"cadre_months": n, "units": org.u})

    rating = rate_all(org, year, profile, prev, seed if intervals else None)
    cm = _concat([_month_columns(city, r) for r in rating.months], n)
    a = rating.cadres
    years: Columns = {
        "cadre_id": ("int8", city.cadre_ids),
        "unit_id": ("int8", city.unit_ids[org.unit]),
        "y": ("float8", a.y),
        "periods_scored": ("int4", a.periods_scored),
        "worked": ("int4", a.worked),
        "rem_due": ("int4", a.remediation.due),
        "rem_on_time": ("int4", a.remediation.on_time),
        "rem_verified": ("int4", a.remediation.verified),
        "remediation_rate": ("float8", a.remediation_rate),
        "n_manifestations": ("int4", a.n_manifestations),
        "violations": ("int4", a.violations),
        "done_share": ("float8", a.done_share),
        "exceeded_share": ("float8", a.exceeded_share),
        "late_share": ("float8", a.late_share),
        **{
            f"level_{s}": ("int2", getattr(a, f"level_{s}"))
            for s in ("base", "overrides", "caps", "gates", "link")
        },
        "level": ("int2", a.level),
        "quota_keep_rank": ("int4", np.where(a.quota.keep_rank > 0, a.quota.keep_rank, -1)),
        "reasons": ("int4", a.reasons.astype(np.int64)),
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
    for r, um in zip(rating.months, rating.unit_months, strict=True):
        ranking = _rank_month(city, um, month_prev)
        ulevel = lv.level_from_score(um.u, profile.level_cuts)
        unit_parts.append(
            _unit_columns(
                city,
                r.period,
                False,
                um.u,
                um.components,
                um.members,
                um.kht,
                um.pairs,
                ulevel,
                ulevel,
                ranking,
                month_prev,
                None,
            )
        )
        month_prev = ranking.rank
    units = _concat(unit_parts, org.u)
    rows = {"cadre_months": n * len(rating.months), "cadre_years": n, "units": org.u * 13}
    return Computed(cm, years, units, rows)
