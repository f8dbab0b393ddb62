"""The HTXS quota per (unit, peer group) and per ranking block (Decree 335; QĐ 366 Art. 11).

DOMAIN part 3 step 7: repeat ``cap = floor(ratio × #HTT)``; while ``#HTXS > cap`` demote
the lowest-ranked HTXS to HTT. Each demotion raises #HTT by one, so after ``j``
demotions the group satisfies ``h − j ≤ floor(r·(t + j))``; the left side falls and the
right side never does, so the loop stops at the *smallest* such ``j``, which is
``max(0, ceil((h − r·t) / (1 + r)))`` (``x ≤ floor(y)`` iff ``x ≤ y`` for integer x).
With ``quota_base = "rated"`` the base does not grow and ``j = max(0, h − floor(r·n))``.
We compute the closed form per group and then correct it by ±1 steps against the
literal condition, so float noise in ``r·t`` cannot move the result.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import numpy.typing as npt

from evalsvc.scoring import levels as lv

I64 = npt.NDArray[np.int64]


def quota_demotions(
    top: npt.ArrayLike, base: npt.ArrayLike, ratio: npt.ArrayLike, grows: bool, eps: float = 1e-9
) -> I64:
    """Number of demotions per group, the fixed point of the repeat-until-converged rule.

    Args:
        top: ``(g,)`` number at the top level (HTXS) before the quota.
        base: ``(g,)`` quota base before the quota (#HTT, or #rated).
        ratio: ``(g,)`` quota ratio per group.
        grows: whether each demotion adds one to the base (``next_level`` base).
        eps: tolerance of ``floor(r·base)``.

    Returns:
        ``(g,)`` int demotions ``j`` (0 ≤ j ≤ top).
    """
    h = np.asarray(top, dtype=np.int64)
    t = np.asarray(base, dtype=np.int64)
    r = np.asarray(ratio, dtype=np.float64)
    inc = 1 if grows else 0

    def ok(j: I64) -> npt.NDArray[np.bool_]:
        return h - j <= np.floor(r * (t + inc * j) + eps)

    j = np.ceil((h - r * t) / (1.0 + r * inc) - eps).astype(np.int64)
    j = np.clip(j, 0, h)
    while True:  # at most a step or two: corrects float rounding of the closed form
        up = ~ok(j) & (j < h)
        if not up.any():
            break
        j = j + up
    while True:
        down = (j > 0) & ok(j - 1)
        if not down.any():
            break
        j = j - down
    return j


@dataclasses.dataclass(frozen=True, slots=True)
class QuotaResult:
    """Outcome of the quota, ``(n,)`` arrays.

    Attributes:
        level: levels after the quota.
        demoted: demoted from the top level by the quota.
        keep_rank: 1-based rank among the group's top-level cadres before the quota
            (0 when not at the top level).
        top_before: the group's number at the top level before the quota.
        cap: the group's final cap ``floor(r · base)`` after convergence.
    """

    level: npt.NDArray[np.int8]
    demoted: npt.NDArray[np.bool_]
    keep_rank: I64
    top_before: I64
    cap: I64


def apply_quota(
    level: npt.NDArray[np.int8],
    group: npt.NDArray[np.integer[Any]],
    ratio: npt.NDArray[np.float64],
    keep_order: npt.NDArray[np.integer[Any]],
    grows: bool = True,
    top: int = lv.HTXS,
    eps: float = 1e-9,
) -> QuotaResult:
    """Demote the lowest-ranked top-level members of each group down to the cap.

    Args:
        level: ``(n,)`` int8 levels (-1 not rated is ignored).
        group: ``(n,)`` int quota group (e.g. a combined (unit, peer group) key).
        ratio: ``(n,)`` the quota ratio of the member's group (constant within a group).
        keep_order: ``(n,)`` permutation of rows, best first (who keeps the top level).
        grows: ``True`` for a base of #(top − 1) recomputed after each demotion,
            ``False`` for a base of all rated members.
        top: the capped level.
        eps: tolerance of ``floor``.

    Returns:
        :class:`QuotaResult`.
    """
    n = level.shape[0]
    _, gid = np.unique(np.asarray(group), return_inverse=True)
    gid = gid.reshape(-1)
    ng = int(gid.max()) + 1 if n else 0
    is_top = level == top
    h = np.bincount(gid, is_top, minlength=ng).astype(np.int64)
    base_mask = (level == top - 1) if grows else (level >= 0)
    t = np.bincount(gid, base_mask, minlength=ng).astype(np.int64)
    g_ratio = np.zeros(ng)
    g_ratio[gid] = ratio
    j = quota_demotions(h, t, g_ratio, grows, eps)
    # top-level rows in keep order, grouped (stable sort keeps the order within a group)
    order = np.asarray(keep_order, dtype=np.int64)
    rows = order[is_top[order]]
    rows = rows[np.argsort(gid[rows], kind="stable")]
    starts = np.concatenate([[0], np.cumsum(h)[:-1]]) if ng else np.zeros(0, dtype=np.int64)
    pos = np.arange(rows.size) - starts[gid[rows]]
    keep_rank = np.zeros(n, dtype=np.int64)
    keep_rank[rows] = pos + 1
    demote_rows = rows[pos >= (h - j)[gid[rows]]]
    demoted = np.zeros(n, dtype=bool)
    demoted[demote_rows] = True
    new_level = level.copy()
    new_level[demote_rows] = top - 1
    cap = np.floor(g_ratio * (t + (j if grows else 0)) + eps).astype(np.int64)
    return QuotaResult(new_level, demoted, keep_rank, h[gid], cap[gid])
