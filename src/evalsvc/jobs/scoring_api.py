"""Score cadre-periods sent by an HR system with the scoring core; nothing is stored.

The same functions as a recomputation (``score_month`` on the period's inputs), so the
same inputs give the same numbers (tested against a published month).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import numpy as np

from evalsvc.domain.errors import field_error
from evalsvc.domain.recompute import parse_period
from evalsvc.domain.scoring_api import CadrePeriodIn, ScoringRequest
from evalsvc.jobs.recompute import check_period_fits, resolve_profile
from evalsvc.jobs.results import Labels, r2, reasons_view
from evalsvc.scoring import Profile, explain_month, score_month
from evalsvc.scoring.inputs import (
    Manifestations,
    MonthInputs,
    Org,
    Remediation,
    TaskRecords,
    TaskSums,
)
from evalsvc.scoring.profiles import PROFILES, variant_changes, variant_digest
from evalsvc.scoring.tasks import task_sums

_POSITION = {"staff": 0, "deputy": 1, "head": 2}


def _org(items: list[CadrePeriodIn]) -> Org:
    units = sorted({c.unit or "" for c in items})
    row = {code: i for i, code in enumerate(units)}
    n, u = len(items), len(units)
    return Org(
        position=np.array([_POSITION[c.position] for c in items], dtype=np.int8),
        unit=np.array([row[c.unit or ""] for c in items], dtype=np.int64),
        peer_group=np.zeros(n, dtype=np.int64),
        code=np.array([c.code for c in items]),
        unit_parent=np.full(u, -1, dtype=np.int64),
        unit_block=np.full(u, -1, dtype=np.int64),
        unit_outstanding=np.zeros(u, dtype=bool),
    )


def _tasks(items: list[CadrePeriodIn], profile: Profile) -> TaskSums:
    rows, sums = [], []
    for i, c in enumerate(items):
        if c.totals is not None:
            t = c.totals
            rows.append(i)
            sums.append((t.assigned, t.done, t.quality, t.timely, t.exceeded, t.late))
    recs = [(i, t) for i, c in enumerate(items) for t in (c.tasks or [])]
    if recs:
        raw = TaskRecords(
            cadre=np.array([i for i, _ in recs], dtype=np.int64),
            k=np.array([t.k for _, t in recs]),
            assigned=np.array([t.assigned for _, t in recs]),
            done=np.array([t.done for _, t in recs]),
            errors=np.array([t.errors for _, t in recs], dtype=np.int64),
            delays=np.array([t.delays for _, t in recs], dtype=np.int64),
            exceeded=np.array([t.exceeded for _, t in recs], dtype=bool),
        )
        agg = task_sums(raw, profile)
        rows += agg.cadre.tolist()
        sums += list(
            zip(
                agg.assigned, agg.done, agg.quality, agg.timely, agg.exceeded, agg.late, strict=True
            )
        )
    cols = np.array(sums, dtype=np.float64).reshape(-1, 6)
    return TaskSums(
        np.array(rows, dtype=np.int64),
        cols[:, 0],
        cols[:, 1],
        cols[:, 2],
        cols[:, 3],
        cols[:, 4],
        cols[:, 5],
        error_penalty=profile.error_penalty,
        delay_penalty=profile.delay_penalty,
    )


def _inputs(items: list[CadrePeriodIn], org: Org, start: Any, profile: Profile) -> MonthInputs:
    n, full = len(items), profile.sub_criterion_max
    scale = full / 10.0  # sent on the decree's 0-10 scale, as stored
    sub = np.full((n, 3), full)
    has = np.zeros(n, dtype=bool)
    for i, c in enumerate(items):
        if c.assessment is not None:
            a = c.assessment
            sub[i] = np.array([a.politics, a.capacity, a.innovation]) * scale
            has[i] = True
    man = [(i, m.item, m.group) for i, c in enumerate(items) for m in c.manifestations]
    arr = np.array(man, dtype=np.int64).reshape(-1, 3)

    def opt(values: list[float | None]) -> Any:
        return np.array([np.nan if v is None else v for v in values], dtype=np.float64)

    return MonthInputs(
        period=np.datetime64(start, "M"),
        tasks=_tasks(items, profile),
        active=np.array([c.active for c in items], dtype=bool),
        sub_criteria=sub,
        has_assessment=has,
        capacity=opt([c.dd for c in items]),
        cohesion=opt([c.e for c in items]),
        manifestations=Manifestations(arr[:, 0], arr[:, 1], arr[:, 2]),
        discipline=np.array([c.discipline for c in items], dtype=np.int64),
        low_confidence=np.array([c.low_confidence for c in items], dtype=bool),
        bonus=np.zeros(n),
        satisfaction=np.full(org.u, np.nan),
        leader_d=opt([c.d for c in items]),
    )


def _remediation(items: list[CadrePeriodIn]) -> Remediation:
    rem = [(i, r) for i, c in enumerate(items) for r in c.remediation]
    return Remediation(
        subject=np.array([i for i, _ in rem], dtype=np.int64),
        due=np.array([r.due for _, r in rem], dtype="datetime64[D]"),
        verified=np.array(
            [np.datetime64("NaT") if r.verified is None else r.verified for _, r in rem],
            dtype="datetime64[D]",
        ),
        cancelled=np.zeros(len(rem), dtype=bool),
    )


def score_periods(req: ScoringRequest) -> dict[str, Any]:
    """Scores, levels and explanations of every cadre-period of ``req`` (stores nothing).

    Raises:
        RuleViolation: a bad period, profile or change, naming the field.
    """
    profile = resolve_profile(req.profile, req.changes)
    changes = variant_changes(PROFILES[req.profile], profile)
    labels = Labels(profile.to_dict())
    groups: dict[str, list[int]] = defaultdict(list)
    for i, c in enumerate(req.cadres):
        groups[c.period or req.period].append(i)
    out: list[dict[str, Any] | None] = [None] * len(req.cadres)
    for text, idx in groups.items():
        span = parse_period(text, "period")
        if span.kind == "year":
            raise field_error("period", "scores a month 'YYYY-MM' or a quarter 'YYYY-Qn'")
        check_period_fits(span, profile)
        items = [req.cadres[i] for i in idx]
        org = _org(items)
        month = _inputs(items, org, span.first_month, profile)
        res = score_month(org, month, profile, _remediation(items))
        for j, c in enumerate(items):
            ex = explain_month(org, month, res, j, profile)
            shown: list[dict[str, Any]] = [
                {"name": k.name, "points": r2(k.points), "detail": k.detail}
                for k in ex.components
                if k.name != "rounding"
            ]
            if not np.isnan(ex.score):
                total = sum(float(x["points"] or 0.0) for x in shown)
                shown.append(
                    {"name": "rounding", "points": r2(ex.score - total), "detail": "half-up"}
                )
            ratios = {k: getattr(res, k)[j] for k in ("a", "b", "c", "d", "dd", "e", "kq")}
            out[idx[j]] = {
                "code": c.code,
                "period": span.text,
                "score": r2(res.m[j]),
                "level": labels.view(int(res.level[j])),
                **reasons_view(int(res.reasons[j])),
                "task": {k: None if np.isnan(v) else round(float(v), 4) for k, v in ratios.items()}
                | {"t": r2(res.t[j])},
                "general": {
                    "g_raw": r2(res.g_raw[j]),
                    "deduction": r2(res.deduction[j]),
                    "g": r2(res.g[j]),
                    "n_manifestations": int(res.n_manifestations[j]),
                },
                "components": shown,
            }
    return {
        "profile": {
            "name": profile.name,
            "version": profile.version,
            "variant": changes or None,
            "variant_digest": variant_digest(changes),
        },
        "items": out,
        "total": len(out),
        "stored": False,
    }
