"""Units, rankings, rank intervals and the whole-year pipeline (DOMAIN part 5)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from evalsvc.scoring import levels as lv
from evalsvc.scoring import rankings
from evalsvc.scoring.annual import empty_year
from evalsvc.scoring.monthly import score_month
from evalsvc.scoring.pipeline import rate_all
from evalsvc.scoring.profiles import ND335
from evalsvc.scoring.rankings import competition_rank, confirmation_variance, rank_units
from evalsvc.scoring.units import ancestor_matrix, score_units_month

from .helpers import manifestations, month, org, tasks


def test_competition_ranking_1_2_2_4() -> None:
    score = np.array([90.0, 80.0, 80.0, 70.0, 95.0])
    block = np.array([0, 0, 0, 0, 1])
    z = np.zeros(5)
    r = rank_units(score, block, z, z, z, z)
    assert r.rank.tolist() == [1, 2, 2, 4, 1]


def test_ranking_tie_breaks_in_documented_order() -> None:
    score = np.full(6, 80.0)
    block = np.zeros(6, dtype=np.int64)
    kht = np.array([1, 0, 0, 0, 0, 0])
    u2 = np.array([15.0, 15.0, 10.0, 15.0, 15.0, 15.0])
    per100 = np.array([0.0, 0.0, 0.0, 5.0, 0.0, 0.0])
    u5 = np.array([15.0, 15.0, 15.0, 15.0, 12.0, np.nan])
    r = rank_units(score, block, kht, u2, per100, u5, previous_rank=[1, 1, 2, -1, 3, 4])
    # best: row 1; then 4 (lower U5), 5 (missing U5), 3 (more pairs), 2 (lower U2), 0 (KHT)
    assert r.rank.tolist() == [6, 1, 5, 4, 2, 3]
    assert r.movement.tolist() == [-5, 0, -3, 0, 1, 1]
    assert r.is_new.tolist() == [False, False, False, True, False, False]


def test_competition_rank_unranked() -> None:
    order = np.array([0, 1, 2])
    rank = competition_rank(order, np.array([-1, 0, 0]), np.array([[1.0], [2.0], [2.0]]))
    assert rank.tolist() == [-1, 1, 1]


def test_unit_score_components_and_subtree() -> None:
    # unit 0 root (block 0) with child unit 1 (block 0); staff rows 0 (unit 0), 1, 2 (unit 1)
    o = org([0, 0, 0], [0, 1, 1], [-1, 0])
    m = month(
        o,
        tasks=tasks([(0, 1, 10, 10, 0, 0), (1, 1, 10, 5, 0, 0), (2, 1, 10, 10, 0, 0)]),
        manifestations=manifestations([(1, 3, 1), (1, 3, 1)]),
        discipline=np.array([0, 0, 1]),
        satisfaction=np.array([80.0, np.nan]),
    )
    r = score_month(o, m, ND335)
    u = score_units_month(o, m, r, ND335)
    # unit 1: a=b=c=15/20 -> U1 = 33.75; U2 = 15; U3 per capita over 2 members employed:
    # 15 - 5 * 1/2 - 30 * 1/2 < 0 -> 0; U4: row 2 KHT -> 1/2
    assert u.components[1, :4].tolist() == [33.75, 15.0, 0.0, 5.0]
    assert u.u[1] == round((33.75 + 15 + 0.0 + 5) * 100 / 85, 2)
    # unit 0 subtree: a = 25/30; U3 = 15 - 5 * 1/3 - 30 * 1/3 over its 3 members
    assert u.components[0, 0] == 45 * 25 / 30
    assert u.components[0, 2] == pytest.approx(15 - 5 / 3 - 10)
    assert u.components[0, 4] == 12.0
    assert u.members.tolist() == [3, 2]
    assert u.pairs.tolist() == [1, 1]


def test_ancestor_matrix() -> None:
    a = ancestor_matrix(np.array([-1, 0, 1, 0])).toarray()
    assert a[0].tolist() == [1, 1, 1, 1]
    assert a[1].tolist() == [0, 1, 1, 0]


def test_confirmation_variance() -> None:
    v = confirmation_variance([10, 10, 0], [10, 5, 0])
    assert v[0] == 0.0
    assert 0.2 < v[1] <= 0.25
    assert v[2] == 0.0


def _city(seed: int):  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(seed)
    u = 12
    parent = np.array([-1] + [0] * 3 + list(rng.integers(1, 4, u - 4)))
    n = 120
    unit = rng.integers(0, u, n)
    pos = np.zeros(n, dtype=int)
    o = org(pos.tolist(), unit.tolist(), parent.tolist(), unit_block=[-1] + [0] * (u - 1))
    periods = []
    for k in range(1, 13):
        recs = [(i, 1, 10, int(rng.integers(3, 11)), int(rng.integers(0, 2)), 0) for i in range(n)]
        periods.append(
            month(o, f"2026-{k:02d}", tasks=tasks(recs), satisfaction=rng.uniform(60, 100, u))
        )
    return o, dataclasses.replace(empty_year(o, periods))


def test_rate_all_and_intervals_are_seeded() -> None:
    o, year = _city(1)
    a = rate_all(o, year, ND335, seed=7)
    b = rate_all(o, year, ND335, seed=7)
    assert a.intervals is not None
    assert b.intervals is not None
    assert np.array_equal(a.intervals.low, b.intervals.low)
    assert np.array_equal(a.intervals.high, b.intervals.high)
    ranked = a.ranking.rank > 0
    assert (a.intervals.low[ranked] <= a.intervals.high[ranked]).all()
    assert a.ranking.rank[0] == -1
    assert a.intervals.low[0] == -1
    assert set(np.unique(a.cadres.level)) <= {lv.KHT, lv.HT, lv.HTT, lv.HTXS}


def test_intervals_draw_ranked_subtrees_only_with_the_same_distribution(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Disjoint ranked subtrees: one draw per ranked unit ≈ drawing every unit."""
    rng = np.random.default_rng(3)
    u, n = 40, 1200
    # city -> 8 ranked units (two blocks) -> unranked divisions below them
    parent = np.array([-1] + [0] * 8 + list(rng.integers(1, 9, u - 9)))
    unit = rng.integers(1, u, n)
    blocks = [-1] + [0, 0, 0, 0, 1, 1, 1, 1] + [-1] * (u - 9)
    o = org(np.zeros(n, dtype=int).tolist(), unit.tolist(), parent.tolist(), unit_block=blocks)
    periods = []
    for k in range(1, 4):
        recs = [(i, 1, 10, int(rng.integers(6, 11)), int(rng.integers(0, 2)), 0) for i in range(n)]
        periods.append(
            month(o, f"2026-{k:02d}", tasks=tasks(recs), satisfaction=rng.uniform(60, 100, u))
        )
    year = empty_year(o, periods)
    profile = ND335.replace(bootstrap_resamples=4000)
    fast = rate_all(o, year, profile, seed=11)
    monkeypatch.setattr(rankings, "_disjoint", lambda *_: False)
    full = rate_all(o, year, profile, seed=11)
    assert fast.intervals is not None
    assert full.intervals is not None
    ranked = fast.ranking.rank > 0
    assert ranked.sum() == 8
    assert np.array_equal(fast.ranking.rank, full.ranking.rank)
    # different random streams, same distribution: percentiles agree within one rank
    assert np.abs(fast.intervals.low - full.intervals.low)[ranked].max() <= 1
    assert np.abs(fast.intervals.high - full.intervals.high)[ranked].max() <= 1
    for iv in (fast.intervals, full.intervals):  # within the block (4 units each)
        assert ((iv.low[ranked] >= 1) & (iv.high[ranked] <= 4)).all()
        assert (iv.low[ranked] <= fast.ranking.rank[ranked]).all()
        assert (iv.high[ranked] >= fast.ranking.rank[ranked]).all()
    # and the intervals are not degenerate (the test would pass trivially otherwise)
    assert (fast.intervals.high - fast.intervals.low)[ranked].max() >= 1


@pytest.mark.parametrize("poison", [None, np.inf, np.nan])
def test_unit_sums_skip_zero_rows_with_the_same_bits(poison: float | None) -> None:
    """Per-unit Σx and Σxxᵀ equal plain bincounts over every row, bit for bit, whether a
    column is dense, mostly zero or all zero (and every row counts once a value is not
    finite: 0 · inf is NaN)."""
    rng = np.random.default_rng(7)
    n, u = 5_000, 40
    unit = rng.integers(0, u, n)
    x = rng.normal(size=(n, 4)) * 1e3
    x[rng.random(n) < 0.97, 1] = 0.0  # mostly zero
    x[:, 2] = 0.0  # all zero
    x[rng.random(n) < 0.5, 3] = -0.0
    if poison is not None:
        x[17, 0] = poison
    with np.errstate(invalid="ignore"):  # 0 · inf
        own, sxx = rankings._unit_sums(unit, x, u)
        ref_own = np.stack([np.bincount(unit, x[:, j], minlength=u) for j in range(4)], axis=1)
        ref = np.zeros((u, 4, 4))
        for i in range(4):
            for j in range(4):
                ref[:, i, j] = np.bincount(unit, x[:, i] * x[:, j], minlength=u)
    assert own.tobytes() == ref_own.tobytes()
    assert sxx.tobytes() == ref.tobytes()
