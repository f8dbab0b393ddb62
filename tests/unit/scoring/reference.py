"""Slow, obviously-correct reference of DOMAIN part 3, in plain Python loops.

Written straight from the text, independently of the vectorised core, for comparison
on random inputs. Supports staff and leaders, remediation-free months, manifestations,
discipline and low-confidence flags, and the annual Y, base level, discipline override
and the literal one-at-a-time quota loop per (agency, peer group) (agency: the nearest
unit at or above flagged as one); U3 per capita (part 5); the qd366 gates' shares
(part 3 step 5); a quarter pooled from its months (part 3, "Quarterly tracking").
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
        groups.setdefault((agency_of(org, i, p.quota_scope), org["peer"][i]), []).append(i)
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


def agency_of(org: dict[str, Any], i: int, scope: str = "agency") -> int:
    """The cadre's agency: nearest unit at or above their unit flagged as an agency
    (``org["agency"]``, default: units of a ranking block); none -> their own unit."""
    own = org["unit"][i]
    if scope == "unit":
        return int(own)
    flags = org.get("agency") or [b >= 0 for b in org["block"]]
    x = own
    while x >= 0:
        if flags[x]:
            return int(x)
        x = org["parent"][x]
    return int(own)


def subtree_members(org: dict[str, Any], unit: int) -> list[int]:
    def inside(x: int) -> bool:
        while x >= 0:
            if x == unit:
                return True
            x = org["parent"][x]
        return False

    return [i for i in range(len(org["unit"])) if inside(org["unit"][i])]


def unit_u3(org: dict[str, Any], m: dict[str, Any], p: Profile) -> list[float]:
    """U3 of every unit: 15 − 5 × pairs ÷ employed − 30 × discipline ÷ employed, floor 0."""
    out = []
    pairs = {(c, it) for c, it, _ in m["manifestations"]}
    for x in range(len(org["parent"])):
        members = [i for i in subtree_members(org, x) if m["employed"][i]]
        if not members:
            out.append(15.0)
            continue
        npairs = sum(1 for c, _ in pairs if c in members)
        ndisc = sum(m["discipline"][i] for i in members)
        out.append(max(0.0, 15 - 5 * npairs / len(members) - 30 * ndisc / len(members)))
    return out


def gate_shares(months: list[dict[str, Any]], i: int) -> tuple[float, float, float]:
    """(done, exceeded, late) shares of cadre ``i`` over the records of their active
    months, k-weighted (tasks as ``(cadre, k, assigned, done, errors, delays, exceeded)``)."""
    assigned = done = exceeded = late = 0.0
    for m in months:
        if not m["active"][i]:
            continue
        for cadre, k, a, d, _, delays, exc in m["tasks7"]:
            if cadre != i:
                continue
            assigned += k * a
            done += k * d
            exceeded += k * d if exc else 0.0
            late += k * d if delays > 0 else 0.0
    return (
        done / assigned if assigned else 1.0,
        exceeded / assigned if assigned else 0.0,
        late / done if done else 0.0,
    )


def pool_quarter(months: list[dict[str, Any]], p: Profile) -> dict[str, Any]:
    """A quarter as one period (DOMAIN part 3), in the ``month_scores`` input format."""
    n = len(months[0]["active"])
    out: dict[str, Any] = {"tasks": [], "manifestations": []}
    out["active"] = [any(m["active"][i] for m in months) for i in range(n)]
    for m in months:
        out["tasks"] += [t for t in m["tasks"] if m["active"][t[0]]]
        out["manifestations"] += m["manifestations"]
    sub, cap, coh = [], [], []
    for i in range(n):
        act = [m for m in months if m["active"][i]]
        if not act:
            sub.append([p.sub_criterion_max] * 3)
            cap.append(math.nan)
            coh.append(math.nan)
            continue
        sub.append([sum(m["sub"][i][j] for m in act) / len(act) for j in range(3)])
        cap.append(
            sum(1.0 if math.isnan(m["capacity"][i]) else m["capacity"][i] for m in act) / len(act)
        )
        coh.append(
            sum(1.0 if math.isnan(m["cohesion"][i]) else m["cohesion"][i] for m in act) / len(act)
        )
    out["sub"], out["capacity"], out["cohesion"] = sub, cap, coh
    out["discipline"] = [sum(m["discipline"][i] for m in months) for i in range(n)]
    out["low_confidence"] = [any(m["low_confidence"][i] for m in months) for i in range(n)]
    return out
