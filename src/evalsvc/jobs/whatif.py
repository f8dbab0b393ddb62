"""What-if: rate a year or a quarter under a profile and under changed settings, store
nothing."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
import numpy as np

from evalsvc.domain.errors import field_error
from evalsvc.domain.recompute import parse_period
from evalsvc.jobs import inputs
from evalsvc.jobs.recompute import check_period_fits, resolve_profile
from evalsvc.published.results import Labels
from evalsvc.scoring import what_if as score_what_if
from evalsvc.scoring.profiles import variant_changes, variant_digest


async def what_if(
    conn: asyncpg.Connection,
    period: str,
    profile_name: str,
    changes: dict[str, Any],
    limit: int,
) -> dict[str, Any]:
    """Rate the year under the profile and under the changed profile; store nothing."""
    span = parse_period(period)
    if span.kind == "month":
        raise field_error(
            "period", "what-if compares ratings of a year 'YYYY' or a quarter 'YYYY-Qn'"
        )
    profile = resolve_profile(profile_name, None)
    changed = resolve_profile(profile_name, changes)
    check_period_fits(span, profile)
    city = await inputs.read_city(conn, span, profile)
    try:
        result = await asyncio.to_thread(score_what_if, city.org, city.year, profile, changed)
    except ValueError as exc:
        raise field_error("changes", str(exc)) from exc
    labels = Labels(profile.to_dict())
    names = [labels.code(lvl) for lvl in range(-1, 4)]
    trans = result.transitions
    shifts = [
        {"from": names[i], "to": names[j], "cadres": int(trans[i, j])}
        for i in range(5)
        for j in range(5)
        if i != j and trans[i, j]
    ]
    rows = result.cadre_levels.rows[:limit]
    codes = await conn.fetch(
        "select id, code from cadres where id = any($1::bigint[])", city.cadre_ids[rows].tolist()
    )
    code_of = {r["id"]: r["code"] for r in codes}
    return {
        "period": span.text,
        "profile": {"name": profile.name, "version": profile.version},
        "changes": changes,
        "variant_digest": variant_digest(variant_changes(profile, changed)),
        "cadres_changed": int(result.cadre_levels.rows.size),
        "transitions": shifts,
        "units_level_changed": int(result.unit_levels.rows.size),
        "units_rank_changed": int(result.unit_ranks.rows.size),
        "examples": [
            {
                "code": code_of.get(int(city.cadre_ids[r])),
                "from": labels.code(int(result.base.cadres.level[r])),
                "to": labels.code(int(result.alt.cadres.level[r])),
            }
            for r in rows
        ],
        "stored": False,
        "level_counts": {
            "before": _counts(result.base.cadres.level, labels),
            "after": _counts(result.alt.cadres.level, labels),
        },
    }


def _counts(level: np.ndarray[Any, Any], labels: Labels) -> dict[str, int]:
    values, counts = np.unique(level, return_counts=True)
    return {labels.code(int(v)): int(c) for v, c in zip(values, counts, strict=True)}
