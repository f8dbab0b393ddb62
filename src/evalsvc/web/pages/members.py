"""One page of a unit's members for the unit page: read in name order from the index, not
by sorting or counting the whole subtree (the city's root unit holds every cadre)."""

from __future__ import annotations

from typing import Any

import asyncpg

from evalsvc.domain.units import Unit
from evalsvc.published import results as published
from evalsvc.store import result_pages
from evalsvc.store import results as result_store
from evalsvc.store.scope import subtree_ids

WALK_SHARE = 5
"""A subtree with at least 1/5 of the run's cadres is paged by walking the city's members
in name order (a page then reads about 5 rows per row shown, at worst)."""


async def member_page(
    conn: asyncpg.Connection,
    unit: Unit,
    period: str,
    *,
    members: int,
    limit: int,
    offset: int,
) -> list[dict[str, Any]]:
    """Members of ``unit``'s subtree (the caller read ``unit`` within the reader's scope)
    with the fields of the API's member list (``published.results.unit_members``);
    ``members``: how many the subtree holds (its counts by level)."""
    run_id, _, annual, month = await published.resolve(conn, period, None)
    run = await result_store.get_run(conn, run_id)
    labels = published.Labels(run.get("profile"))
    city = int((run.get("counts") or {}).get("cadres") or 0)
    rows = await result_pages.member_page(
        conn,
        run_id=run_id,
        annual=annual,
        month=month,
        unit_ids=await subtree_ids(conn, unit.id),
        limit=limit,
        offset=offset,
        most_of_the_city=members * WALK_SHARE >= city,
    )
    for r in rows:
        level = r.pop("level")
        r["score"] = published.r2(r["score"])
        r["level"] = labels.code(level)
        r["level_label"] = labels.title(level)
        r.update(published.reasons_view(r["reasons"]))
    return rows


LEVELS_SHOWN = (3, 2, 1, 0, -1)
"""Level numbers, highest first, then not rated (-1)."""


async def level_counts(conn: asyncpg.Connection, unit: Unit, period: str) -> list[dict[str, Any]]:
    """How many members of ``unit``'s subtree hold each level (one aggregate), with the
    run's level codes and labels."""
    run_id, _, annual, month = await published.resolve(conn, period, None)
    labels = published.Labels((await result_store.get_run(conn, run_id)).get("profile"))
    counts = await result_pages.level_counts(
        conn, run_id=run_id, annual=annual, month=month, unit_ids=await subtree_ids(conn, unit.id)
    )
    return [
        {"code": labels.code(k), "label": labels.title(k), "count": counts.get(k, 0)}
        for k in LEVELS_SHOWN
    ]
