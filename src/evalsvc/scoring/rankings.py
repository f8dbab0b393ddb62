"""Ranks of units within their block, movement and bootstrap rank intervals (DOMAIN part 5).

Competition ranking ("1, 2, 2, 4"): units are ordered by U descending and the documented
tie-breaks (fewer KHT members, higher U2, fewer confirmed pairs per 100 members, higher
U5); only units equal on every key share a rank.

Rank intervals: the 5th-95th percentile of a unit's rank when its members and ballots
are resampled. Resampling every member of a city 1,000 times is ~10^8 draws, so we use
the normal approximation of the member bootstrap: for unit ``x`` with ``n`` direct
members, the resampled member sums are ``S + sqrt(n) · L z`` with ``L Lᵀ`` the members'
covariance (of the :data:`~evalsvc.scoring.units.COLS` columns) and ``z`` standard normal
(central limit theorem for the sum of ``n`` draws with replacement). Ballots enter as the
variance of each candidate pair's confirmation under resampled ballots,
``q(1 − q)`` with ``q = P(Binomial(m, p̂) > m/2)`` (:func:`confirmation_variance`).
Resampled sums roll up the tree like the real ones, the change of U is added to the
published U, and each resample is ranked within blocks. Seeded with a numpy Generator.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import stats

from evalsvc.scoring.profiles import Profile
from evalsvc.scoring.units import C, total_from_components, unit_score_from_sums

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]


def competition_rank(order: I64, block: npt.NDArray[np.integer[Any]], keys: F64) -> I64:
    """Competition ranks within blocks from a best-first order.

    Args:
        order: ``(u,)`` rows sorted by block, then best first (e.g. from ``np.lexsort``).
        block: ``(u,)`` block per row; rows with block -1 get rank -1.
        keys: ``(u, k)`` the sort keys; rows equal on all keys share a rank.

    Returns:
        ``(u,)`` int ranks starting at 1 within each block.
    """
    u = order.shape[0]
    rank = np.full(u, -1, dtype=np.int64)
    if u == 0:
        return rank
    b = np.asarray(block, dtype=np.int64)[order]
    k = np.asarray(keys, dtype=np.float64)[order]
    new_block = np.concatenate([[True], b[1:] != b[:-1]])
    differs = np.concatenate([[True], np.any(k[1:] != k[:-1], axis=1)]) | new_block
    pos = np.arange(u)
    block_start = np.maximum.accumulate(np.where(new_block, pos, 0))
    run_start = np.maximum.accumulate(np.where(differs, pos, 0))
    r = run_start - block_start + 1
    rank[order] = np.where(b >= 0, r, -1)
    return rank


@dataclasses.dataclass(frozen=True, slots=True)
class Ranking:
    """Ranks within blocks, arrays ``(u,)``.

    Attributes:
        rank: competition rank from 1, -1 when not ranked (no block or no score).
        order: rows in block order, best first (unranked rows last in each block).
        movement: ``previous rank − rank`` (positive = moved up); 0 when new.
        is_new: no previous rank to compare with.
    """

    rank: I64
    order: I64
    movement: I64
    is_new: npt.NDArray[np.bool_]


def rank_units(
    score: F64,
    block: npt.NDArray[np.integer[Any]],
    kht: npt.ArrayLike,
    u2: F64,
    pairs_per_100: F64,
    u5: F64,
    previous_rank: npt.ArrayLike | None = None,
) -> Ranking:
    """Rank units within their block (DOMAIN part 5 "Rank").

    Args:
        score: ``(u,)`` rounded U (NaN = not ranked).
        block: ``(u,)`` ranking block (-1 = not ranked).
        kht: ``(u,)`` KHT members (fewer is better).
        u2: ``(u,)`` U2 points (higher is better).
        pairs_per_100: ``(u,)`` confirmed pairs per 100 members (fewer is better).
        u5: ``(u,)`` U5 points, NaN when missing (higher is better, missing last).
        previous_rank: ``(u,)`` ranks of the previous period, -1 = none.

    Returns:
        :class:`Ranking`.
    """
    s = np.where(np.isnan(score), -np.inf, score)
    s5 = np.where(np.isnan(u5), -np.inf, u5)
    kh = np.asarray(kht, dtype=np.float64)
    blk = np.where(np.isnan(score), -1, np.asarray(block, dtype=np.int64))
    order = np.lexsort((-s5, pairs_per_100, -u2, kh, -s, blk)).astype(np.int64)
    keys = np.stack([-s, kh, -u2, pairs_per_100, -s5], axis=1)
    rank = competition_rank(order, blk, keys)
    prev = (
        np.full(rank.shape, -1, np.int64)
        if previous_rank is None
        else np.asarray(previous_rank, np.int64)
    )
    is_new = (prev < 0) | (rank < 0)
    return Ranking(rank, order, np.where(is_new, 0, prev - rank), is_new)


def confirmation_variance(valid: npt.ArrayLike, observed: npt.ArrayLike, share: float = 0.5) -> F64:
    """Variance of one (cadre, item) pair's confirmation under resampled ballots.

    Args:
        valid: ``(r,)`` ballots judging the item (valid − "no basis").
        observed: ``(r,)`` "observed" marks.
        share: confirmation threshold (DOMAIN part 4: share > 1/2).

    Returns:
        ``(r,)`` ``q(1 − q)`` with ``q = P(Binomial(m, p̂) > share·m)``.
    """
    m = np.asarray(valid, dtype=np.int64)
    p = np.asarray(observed, dtype=np.float64) / np.maximum(m, 1)
    q = np.asarray(stats.binom.sf(np.floor(share * m), m, p), dtype=np.float64)
    return np.where(m > 0, q * (1.0 - q), 0.0)


@dataclasses.dataclass(frozen=True, slots=True)
class RankIntervals:
    """Rank intervals, arrays ``(u,)`` (-1 for unranked units).

    Attributes:
        low: the lower percentile of the resampled rank (default 5th).
        high: the upper percentile (default 95th).
    """

    low: I64
    high: I64


def _disjoint(anc_pub: Any, pub: I64) -> bool:
    """No ranked unit lies in another ranked unit's subtree."""
    inner = anc_pub[:, pub]
    return bool(inner.nnz == pub.size)


def _unit_sums(unit: I64, x: F64, u: int) -> tuple[F64, F64]:
    """Per unit, Σ x (``(u, k)``) and Σ x xᵀ (``(u, k, k)``) over its members' rows.

    k(k+1)/2 weighted bincounts, no ``(n, k, k)`` temporary. A product with a zero factor
    adds ±0.0, which changes no sum: a column that is mostly zero (remediation, ballots)
    is summed over its nonzero rows only, with the same result bit for bit (unless some
    value is not finite: 0 · inf is NaN, so then every row is summed).
    """
    n, k = x.shape
    cols = np.ascontiguousarray(x.T)  # one column per row (a copy unless x is column-major)
    nonzero: list[I64 | None] = [None] * k
    if np.isfinite(cols).all():
        for j in range(k):
            if np.count_nonzero(cols[j]) * 2 < n:
                nonzero[j] = np.flatnonzero(cols[j])

    def summed(weights_of: Any, rows: I64 | None) -> F64:
        if rows is None:
            return np.bincount(unit, weights_of(slice(None)), minlength=u).astype(
                np.float64, copy=False
            )
        return np.bincount(unit[rows], weights_of(rows), minlength=u).astype(np.float64, copy=False)

    own = np.stack([summed(lambda r, j=j: cols[j][r], nonzero[j]) for j in range(k)], axis=1)
    sxx = np.zeros((u, k, k))
    for i in range(k):
        for j in range(i + 1):
            a, b = nonzero[i], nonzero[j]
            rows = a if b is None or (a is not None and a.size <= b.size) else b
            sxx[:, i, j] = sxx[:, j, i] = summed(lambda r, i=i, j=j: cols[i][r] * cols[j][r], rows)
    return own, sxx


def rank_intervals(
    members: F64,
    member_unit: npt.NDArray[np.integer[Any]],
    unit_own: F64,
    anc: Any,
    satisfaction: F64,
    ranking: Ranking,
    score: F64,
    block: npt.NDArray[np.integer[Any]],
    profile: Profile,
    seed: int | np.random.SeedSequence,
    pair_variance: F64 | None = None,
    chunk: int = 100,
) -> RankIntervals:
    """Percentile rank intervals under member and ballot resampling (DOMAIN part 5).

    Args:
        members: ``(n, len(COLS))`` per-member matrix (``units.member_matrix``).
        member_unit: ``(n,)`` the member's own unit.
        unit_own: ``(u, len(COLS))`` the units' own rows (not resampled).
        anc: the sparse :func:`~evalsvc.scoring.units.ancestor_matrix`.
        satisfaction: ``(u,)`` SIPAS % (not resampled).
        ranking: the published :class:`Ranking` (breaks ties inside resamples).
        score: ``(u,)`` the published U.
        block: ``(u,)`` ranking block.
        profile: ``bootstrap_resamples``, ``rank_interval``, unit weights.
        seed: seed of the ``numpy.random.Generator``; the same seed gives the same result.
        pair_variance: ``(n,)`` Σ q(1−q) over each member's candidate pairs (ballots).
        chunk: resamples per vectorised batch (memory ``chunk × u × 9`` floats).

    Returns:
        :class:`RankIntervals`.
    """
    rng = np.random.default_rng(seed)
    x = np.asarray(members, dtype=np.float64)
    k = x.shape[1]
    u = anc.shape[0]
    unit = np.asarray(member_unit, dtype=np.int64)
    cnt = np.bincount(unit, minlength=u).astype(np.float64, copy=False)
    own, sxx = _unit_sums(unit, x, u)
    mean = own / np.maximum(cnt, 1)[:, None]
    # members' covariance per unit: E[x xᵀ] − μ μᵀ, via sums of outer products
    cov = sxx / np.maximum(cnt, 1)[:, None, None] - mean[:, :, None] * mean[:, None, :]
    cov *= cnt[:, None, None]  # variance of the sum of n resampled members
    if pair_variance is not None:
        pv = np.bincount(unit, np.asarray(pair_variance, np.float64), minlength=u)
        cov[:, C["penalty"], C["penalty"]] += profile.unit_pair_penalty**2 * pv
    base = own + np.asarray(unit_own, dtype=np.float64)
    ranked = ranking.rank >= 0
    # units in published order, so a stable sort breaks resample ties by published rank
    pub = ranking.order[ranked[ranking.order]]
    anc_pub = anc[pub]
    sat = np.asarray(satisfaction, dtype=np.float64)
    if _disjoint(anc_pub, pub):
        # Only the ranked units' subtree sums matter. Each is its published sum plus a
        # sum of independent normal terms over its subtree, i.e. one normal draw with
        # the subtree's summed covariance: same distribution, u / m times fewer draws.
        cov_r = np.asarray(anc_pub @ cov.reshape(u, k * k)).reshape(pub.size, k, k)
        base_r = np.asarray(anc_pub @ base)
        anc_r = None
        sat_r = sat[pub]
    else:  # a ranked unit inside another: their sums are correlated, draw every unit
        cov_r, base_r, anc_r, sat_r = cov, base, anc, sat
    w, v = np.linalg.eigh(cov_r)
    lmat = v * np.sqrt(np.clip(w, 0.0, None))[:, None, :]  # L Lᵀ = cov
    # A column without variance (e.g. nothing due) must get no noise at all: rounding in
    # eigh would otherwise leak ~1e-16 into it and a share like on-time / due (0 / 0)
    # would take any value.
    var = np.diagonal(cov_r, axis1=1, axis2=2)
    lmat[var <= 1e-12 * np.maximum(var.max(axis=1, keepdims=True), 1.0)] = 0.0
    n_r = base_r.shape[0]
    sub = base_r if anc_r is None else np.asarray(anc_r @ base_r)
    comp0, _ = unit_score_from_sums(sub, sat_r, profile)
    u0 = total_from_components(comp0, profile)
    if anc_r is not None:
        u0 = u0[pub]

    blk = np.asarray(block, dtype=np.int64)[pub]
    _, blk_id = np.unique(blk, return_inverse=True)
    starts = np.searchsorted(blk_id, blk_id, side="left")  # blk_id is sorted in `pub`
    published = np.asarray(score, dtype=np.float64)[pub]
    b_total = profile.bootstrap_resamples
    ranks = np.empty((b_total, pub.size), dtype=np.int32)
    done = 0
    while done < b_total:
        bc = min(chunk, b_total - done)
        z = rng.standard_normal((n_r, k, bc))
        s_star = base_r[:, :, None] + np.matmul(lmat, z)  # (n_r, k, bc)
        if anc_r is not None:
            s_star = np.asarray(anc_r @ s_star.reshape(u, k * bc)).reshape(u, k, bc)
        comp, _ = unit_score_from_sums(s_star, sat_r, profile)
        total = total_from_components(comp, profile)  # (n_r, bc)
        if anc_r is not None:
            total = total[pub]
        delta = total - u0[:, None]  # (m, bc)
        star = published[:, None] + np.nan_to_num(delta)
        key = blk_id[:, None] * 1e4 - star  # block first, then U* descending
        order = np.argsort(key.T, axis=1, kind="stable")  # (bc, m)
        r = np.empty_like(order)
        np.put_along_axis(r, order, np.arange(pub.size)[None, :], axis=1)
        ranks[done : done + bc] = r - starts[None, :] + 1
        done += bc
    lo_p, hi_p = profile.rank_interval
    q = np.percentile(ranks, [lo_p, hi_p], axis=0, method="inverted_cdf")
    low = np.full(u, -1, dtype=np.int64)
    high = np.full(u, -1, dtype=np.int64)
    low[pub] = q[0].astype(np.int64)
    high[pub] = q[1].astype(np.int64)
    return RankIntervals(low, high)
