"""Unit subtrees: the scope of personnel and HR-system keys."""

from __future__ import annotations

import asyncpg

from evalsvc.domain.access import Principal
from evalsvc.domain.errors import DomainError, Forbidden, NotFound
from evalsvc.store.sqlfiles import queries

QU = queries("units")


async def unit_in_subtree(conn: asyncpg.Connection, root_id: int, unit_id: int) -> bool:
    return bool(await conn.fetchval(QU["in_subtree"], root_id, unit_id))


async def subtree_ids(conn: asyncpg.Connection, root_id: int) -> list[int]:
    ids: list[int] | None = await conn.fetchval(QU["subtree_ids"], root_id)
    return ids or []


async def allowed_units(conn: asyncpg.Connection, principal: Principal) -> set[int] | None:
    """The unit ids a scoped key may act on; None for city-wide keys."""
    if principal.scope_unit_id is None:
        return None
    return set(await subtree_ids(conn, principal.scope_unit_id))


async def ensure_in_scope(
    conn: asyncpg.Connection,
    principal: Principal,
    unit_ids: list[int] | set[int],
    unknown: DomainError | None = None,
) -> None:
    """Refuse when any unit lies outside the caller's subtree.

    ``unknown``: the error the caller gives for a code that does not exist; raised instead
    of a 403, so a scoped key cannot tell another subtree's codes from unknown ones.
    """
    if principal.city_wide or not unit_ids:
        return
    allowed = set(await subtree_ids(conn, principal.scope_unit_id))  # type: ignore[arg-type]
    outside = sorted(set(unit_ids) - allowed)
    if outside:
        if unknown is not None:
            raise unknown
        raise Forbidden(f"{len(outside)} unit(s) lie outside the unit subtree of this API key")


async def ensure_visible(
    conn: asyncpg.Connection, principal: Principal, unit_id: int, not_found: NotFound
) -> None:
    """Reads outside a scoped key's subtree answer "not found": a key must not learn which
    codes exist elsewhere."""
    if principal.scope_unit_id is not None and not await unit_in_subtree(
        conn, principal.scope_unit_id, unit_id
    ):
        raise not_found
