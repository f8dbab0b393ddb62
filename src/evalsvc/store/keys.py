"""API keys: create, look up by prefix, list, revoke."""

from __future__ import annotations

from typing import Any

import asyncpg

from evalsvc.domain.access import NewKey, Principal, Role, secret_matches, split_token
from evalsvc.domain.errors import NotFound, field_error
from evalsvc.store.sqlfiles import queries

Q = queries("keys")
QU = queries("units")


async def create_key(
    conn: asyncpg.Connection, key: NewKey, role: Role, unit_code: str | None, label: str
) -> asyncpg.Record:
    """Store a new key; scoped roles need a unit, the others must not have one."""
    unit_id = None
    if role.scoped:
        if not unit_code:
            raise field_error("unit", f"role {role.value} needs the unit subtree it acts in")
        unit_id = await conn.fetchval(QU["id_by_code"], unit_code)
        if unit_id is None:
            raise field_error("unit", f"no unit with code {unit_code!r}")
    elif unit_code:
        raise field_error("unit", f"role {role.value} is city-wide and takes no unit")
    row = await conn.fetchrow(Q["insert"], key.prefix, key.secret_hash, role.value, unit_id, label)
    assert row is not None
    return row


async def authenticate(conn: asyncpg.Connection, token: str) -> Principal | None:
    """The principal of a valid, unrevoked token; None for anything else."""
    parts = split_token(token)
    if parts is None:
        return None
    row = await conn.fetchrow(Q["by_prefix"], parts[0])
    if row is None or row["revoked_at"] is not None:
        return None
    if not secret_matches(parts[1], bytes(row["secret_hash"])):
        return None
    return Principal(
        key_id=row["id"], role=Role(row["role"]), scope_unit_id=row["unit_id"], label=row["label"]
    )


async def list_keys(conn: asyncpg.Connection) -> list[dict[str, Any]]:
    return [dict(r) for r in await conn.fetch(Q["list"])]


async def revoke_key(conn: asyncpg.Connection, prefix_or_id: str) -> None:
    if await conn.fetchrow(Q["revoke"], prefix_or_id) is None:
        raise NotFound(f"no active key {prefix_or_id!r}")
