"""Change markers of the recomputation's inputs (``0005_input_versions.sql``).

Triggers give a month a new version at the commit of every transaction that changed its rows
(month ``0``: a change that can affect every month). A month whose version and month 0's
version both equal those of an earlier run has had no change to its inputs since; any other
outcome means "maybe changed". Read the versions in the same snapshot as the inputs, or
before reading them: a change committed in between then shows as a new version next time.
"""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg

from evalsvc.store.sqlfiles import queries

Q = queries("input_versions")
EVERY_MONTH = 0
"""The marker of changes that can affect every month (registry, year-wide tables)."""
REGISTRY = -1
"""The marker of the registry tables alone (0008): cadres, units, peer groups,
outstanding years, employment spells."""


async def versions(conn: asyncpg.Connection, months: Sequence[int]) -> dict[int, int]:
    """The version of each of ``months`` (yyyymm) and of month 0; never changed reads 0."""
    wanted = sorted({EVERY_MONTH, *months})
    rows = await conn.fetch(Q["versions"], wanted)
    found = {int(r["month"]): int(r["version"]) for r in rows}
    return {m: found.get(m, 0) for m in wanted}
