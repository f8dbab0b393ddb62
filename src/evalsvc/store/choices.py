"""Short lists for the pages' pickers: the units a person may act on, usable catalogs."""

from __future__ import annotations

from typing import Any

import asyncpg

from evalsvc.domain.access import Principal
from evalsvc.store.scope import subtree_ids
from evalsvc.store.sqlfiles import queries

Q = queries("choices")


async def units_for(conn: asyncpg.Connection, principal: Principal) -> list[dict[str, Any]]:
    scope = None
    if not principal.city_wide:
        assert principal.scope_unit_id is not None
        scope = await subtree_ids(conn, principal.scope_unit_id)
    return [dict(r) for r in await conn.fetch(Q["units"], scope)]


async def published_catalogs(conn: asyncpg.Connection) -> list[dict[str, Any]]:
    return [dict(r) for r in await conn.fetch(Q["published_catalogs"])]
