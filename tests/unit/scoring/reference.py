"""Slow, obviously-correct reference of DOMAIN part 3, in plain Python loops.

Written straight from the text, independently of the vectorised core, for comparison
on random inputs. Supports staff and leaders, remediation-free months, manifestations,
discipline and low-confidence flags, and the annual Y, base level, discipline override
and the literal one-at-a-time quota loop.
"""

from __future__ import annotations

import math
from typing import Any

from evalsvc.scoring.profiles import Profile


def rhu(x: float) -> float:
    return math.floor(x * 100 + 0.5 + 1e-9) / 100


def level_of(score: float, cuts: tuple[float, float, float]) -> int:
    if score >= cuts[2]:
        return 3
    if score >= cuts[1]:
        return 2
    if score >= cuts[0]:
        return 1
    return 0


def month_scores(org: dict[str, Any], m: dict[str, Any], p: Profile) -> dict[int, Any]:
    """Returns row -> (M or None, level)."""
    n = len(org["position"])
    agg = {i: [0.0, 0.0, 0.0, 0.0] for i in range(n)}
    for cadre, k, assigned, done, errors, delays in m["tasks"]:
        agg[cadre][0] += k * assigned
        agg[cadre][1] += k * done
        agg[cadre][2] += k * done * max(0.0, 1 - p.error_penalty * errors)
        agg[cadre][3] += k * done * max(0.0, 1 - p.delay_penalty * delays)
    seen = set()
    ded = dict.fromkeys(range(n), 0.0)
    for cadre, item, group in m["manifestations"]:
        if (cadre, item) not in seen:
            seen.add((cadre, item))
            ded[cadre] += p.group_deductions[group - 1]
    scores: dict[int, float | None] = {}

    def depth(unit: int) -> int:
        d = 0
        while org["parent"][unit] >= 0:
            unit = org["parent"][unit]
            d += 1
        return d

    def score(i: int) -> float | None:
        if i in scores:
            return scores[i]
        a_, d_, q_, t_ = agg[i]
        if not m["active"][i] or a_ == 0:
            scores[i] = None
            return None
        a = min(1.0, d_ / a_)
        b = min(1.0, q_ / a_)
        c = min(1.0, t_ / a_)
        if org["position"][i] == 0:
            kq = (a + b + c) / 3
        else:
            x = org["unit"][i]
            managed = [
                j
                for j in range(n)
                if (org["unit"][j] == x and org["position"][j] == 0)
                or (org["position"][j] == 2 and org["parent"][org["unit"][j]] == x)
            ]
            d = 1.0
            for j in managed:
                sj = score(j)
                if sj is not None and sj < p.leader_d_threshold:
                    d = p.leader_d_low
            dd = 1.0 if math.isnan(m["capacity"][i]) else m["capacity"][i]
            e = 1.0 if math.isnan(m["cohesion"][i]) else m["cohesion"][i]
            kq = (a + b + c + d + dd + e) / 6
        t = p.task_points * min(kq, 1.0)
        g = max(0.0, sum(m["sub"][i]) * p.general_points / (3 * p.sub_criterion_max) - ded[i])
        scores[i] = rhu(g + t)
        return scores[i]

    out = {}
    for i in sorted(range(n), key=lambda i: -depth(org["unit"][i])):
        s = score(i)
        if s is None:
            lvl = 0 if (m["active"][i] and m["discipline"][i]) else -1
        else:
            lvl = level_of(s, p.level_cuts)
            if m["low_confidence"][i]:
                lvl = min(lvl, p.ballot_cap_level)
            if m["discipline"][i]:
                lvl = 0
        out[i] = (s, lvl)
    return out


def annual(
    org: dict[str, Any], months: list[dict[int, Any]], disc: set[int], p: Profile
) -> dict[int, Any]:
    """Y, final level per row (no eligibility issues, no gates, no leader link)."""
    n = len(org["position"])
    res = {}
    for i in range(n):
        ms = [mo[i][0] for mo in months if mo[i][0] is not None]
        if not ms:
            res[i] = [None, -1]
            continue
        y = rhu(sum(ms) / len(ms))
        lvl = level_of(y, p.level_cuts)
        if i in disc:
            lvl = 0
        res[i] = [y, lvl]
    groups: dict[tuple[int, int], list[int]] = {}
    for i in range(n):
        groups.setdefault((org["unit"][i], org["peer"][i]), []).append(i)
    for (unit, _), rows in groups.items():
        ratio = p.quota_ratio_outstanding if org["outstanding"][unit] else p.quota_ratio
        while True:
            top = [i for i in rows if res[i][1] == 3]
            htt = [i for i in rows if res[i][1] == 2]
            if len(top) <= math.floor(ratio * len(htt) + 1e-9):
                break
            # lowest-ranked: lowest Y, then (all rates 1, manifestations) more, then code
            worst = min(top, key=lambda i: (res[i][0], -org["nman"][i], -i))
            res[worst][1] = 2
    return res
