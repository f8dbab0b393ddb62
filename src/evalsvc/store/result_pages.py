"""Reads of the results pages that must stay cheap for a city-wide unit (issue 14): a page
of a unit's members in name order without sorting (or counting) every member of the city.
The counts by level are ``store.results.member_level_counts`` (one aggregate)."""

from __future__ import annotations

from datetime import date
from typing import Any

import asyncpg

from evalsvc.store import results
from evalsvc.store.sqlfiles import queries

Q = queries("result_pages")


async def member_page(
    conn: asyncpg.Connection,
    *,
    run_id: int,
    annual: bool,
    month: date,
    unit_ids: list[int],
    limit: int,
    offset: int,
    most_of_the_city: bool,
) -> list[dict[str, Any]]:
    """Members of ``unit_ids`` with their score, level and reasons in the run, in
    Vietnamese name order (code breaks ties), as the run's organisation named them.

    ``most_of_the_city``: the subtree holds a large share of the run's cadres, so walking
    every member in name order finds a page's rows at once (else the subtree's rows are
    read by unit and sorted; see ``sql/queries/result_pages.sql``).
    """
    if not annual:
        run_id = await results.month_source(conn, run_id, month)
    org_id = await conn.fetchval(Q["source_org"], run_id)
    plan = "walk" if most_of_the_city else "sort"
    query = Q[f"members_{plan}_{'year' if annual else 'period'}"]
    rows = await conn.fetch(query, run_id, org_id, unit_ids, limit, offset)
    return [{k: results.clean(v) for k, v in dict(r).items()} for r in rows]


async def level_counts(
    conn: asyncpg.Connection, *, run_id: int, annual: bool, month: date, unit_ids: list[int]
) -> dict[int, int]:
    """Level -> members of ``unit_ids`` in the run (every unit: no filter at all)."""
    if not annual:
        run_id = await results.month_source(conn, run_id, month)
    everyone = len(unit_ids) >= await conn.fetchval(Q["unit_count"])
    query = Q["levels_year" if annual else "levels_period"]
    rows = await conn.fetch(query, run_id, None if everyone else unit_ids)
    return {int(r["level"]): int(r["n"]) for r in rows}


async def tally_targets_upto(conn: asyncpg.Connection, round_id: int, most: int) -> int:
    """The people of a round's tallies, counted up to ``most`` (no more is read)."""
    n: int = await conn.fetchval(Q["tally_targets_upto"], round_id, most)
    return n
