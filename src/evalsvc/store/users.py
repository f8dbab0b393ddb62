"""People's accounts and their login sessions.

Same roles and unit-subtree scopes as API keys. Disabling an account or changing its
password ends its sessions in the same statement.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import asyncpg

from evalsvc.domain.access import Principal, Role
from evalsvc.domain.accounts import (
    DUMMY_HASH,
    check_password_rules,
    hash_password,
    needs_rehash,
    new_session_token,
    normalize_username,
    session_hash,
    verify_password,
)
from evalsvc.domain.errors import Conflict, FieldProblem, NotFound, field_error
from evalsvc.domain.vietnamese import nfc
from evalsvc.store.sqlfiles import queries

Q = queries("users")
QU = queries("units")

SESSION_SECONDS = 12 * 3600
"""A session lasts a working day at most..."""
IDLE_SECONDS = 2 * 3600
"""...and ends after two hours without a page view."""


@dataclass(frozen=True, slots=True)
class SessionUser:
    """The person behind a valid session cookie."""

    user_id: int
    username: str
    full_name: str
    role: Role
    unit_id: int | None
    unit_code: str | None
    must_change_password: bool

    @property
    def principal(self) -> Principal:
        return Principal(
            key_id=0,
            role=self.role,
            scope_unit_id=self.unit_id,
            label=self.username,
            kind="user",
            user_id=self.user_id,
        )


async def _scope_unit(conn: asyncpg.Connection, role: Role, unit_code: str | None) -> int | None:
    if role.scoped:
        if not unit_code:
            raise field_error("unit", f"role {role.value} needs the unit subtree it acts in")
        unit_id: int | None = await conn.fetchval(QU["id_by_code"], unit_code)
        if unit_id is None:
            raise field_error("unit", f"no unit with code {unit_code!r}")
        return unit_id
    if unit_code:
        raise field_error("unit", f"role {role.value} is city-wide and takes no unit")
    return None


async def create_user(
    conn: asyncpg.Connection,
    username: str,
    full_name: str,
    role: Role,
    unit_code: str | None,
    password: str,
    created_by: str,
) -> int:
    """A new account that must change ``password`` at its first login."""
    name = normalize_username(username)
    check_password_rules(password, name)
    unit_id = await _scope_unit(conn, role, unit_code)
    try:
        user_id: int = await conn.fetchval(
            Q["insert"],
            name,
            nfc(full_name.strip()),
            role.value,
            unit_id,
            hash_password(password),
            created_by,
        )
    except asyncpg.UniqueViolationError:
        raise Conflict(f"username {name!r} is taken", [FieldProblem("username", "taken")]) from None
    return user_id


async def list_users(conn: asyncpg.Connection) -> list[dict[str, Any]]:
    return [dict(r) for r in await conn.fetch(Q["list"])]


async def _user_id(conn: asyncpg.Connection, username_or_id: str | int) -> int:
    if isinstance(username_or_id, int):
        row = await conn.fetchrow(Q["by_id"], username_or_id)
    else:
        row = await conn.fetchrow(Q["by_username"], username_or_id.strip().lower())
    if row is None:
        raise NotFound(f"no user {username_or_id!r}")
    return int(row["id"])


async def disable_user(conn: asyncpg.Connection, username_or_id: str | int) -> None:
    """Refuse further logins and end the account's sessions at once."""
    user_id = await _user_id(conn, username_or_id)
    if await conn.fetchval(Q["disable"], user_id) is None:
        raise Conflict(f"user {username_or_id!r} is already disabled")


async def enable_user(conn: asyncpg.Connection, username_or_id: str | int) -> None:
    user_id = await _user_id(conn, username_or_id)
    if await conn.fetchval(Q["enable"], user_id) is None:
        raise Conflict(f"user {username_or_id!r} is not disabled")


async def reset_password(
    conn: asyncpg.Connection, username_or_id: str | int, temporary: str
) -> None:
    """Set a temporary password that must be changed at the next login; ends all sessions."""
    user_id = await _user_id(conn, username_or_id)
    row = await conn.fetchrow(Q["by_id"], user_id)
    assert row is not None
    check_password_rules(temporary, row["username"])
    await conn.execute(Q["set_password"], user_id, hash_password(temporary), True, None)


async def demo_login(conn: asyncpg.Connection, username: str, password: str) -> None:
    """Create or reset a city-wide admin whose password needs no change (demo only)."""
    row = await conn.fetchrow(Q["by_username"], username)
    if row is None:
        user_id = await create_user(
            conn, username, "Quản trị (demo)", Role.ADMIN, None, password, "demo"
        )
    else:
        user_id = int(row["id"])
        await conn.execute(Q["set_password"], user_id, hash_password(password), False, None)
        if row["disabled_at"] is not None:
            await enable_user(conn, user_id)
    await conn.execute(Q["keep_password"], user_id)


async def change_password(
    conn: asyncpg.Connection, user_id: int, current: str, new: str, keep_session: bytes | None
) -> None:
    """The person's own change: the current password must match; other sessions end."""
    row = await conn.fetchrow(Q["by_id"], user_id)
    if row is None:
        raise NotFound("no such user")
    if not verify_password(row["password_hash"], current):
        raise field_error("current_password", "does not match")
    check_password_rules(new, row["username"])
    if new == current:
        raise field_error("password", "must differ from the current one")
    await conn.execute(Q["set_password"], user_id, hash_password(new), False, keep_session)


async def check_login(conn: asyncpg.Connection, username: str, password: str) -> int | None:
    """The account id when the username and password match an enabled account.

    Unknown names are verified against a dummy hash so the answer takes as long either way.
    """
    row = await conn.fetchrow(Q["by_username"], username.strip().lower())
    if row is None:
        verify_password(DUMMY_HASH, password)
        return None
    if not verify_password(row["password_hash"], password) or row["disabled_at"] is not None:
        return None
    if needs_rehash(row["password_hash"]):
        await conn.execute(Q["rehash"], row["id"], hash_password(password))
    return int(row["id"])


async def start_session(conn: asyncpg.Connection, user_id: int) -> str:
    """A new session; returns the cookie value (only its hash is stored)."""
    token = new_session_token()
    async with conn.transaction():
        await conn.execute(Q["session_insert"], session_hash(token), user_id, SESSION_SECONDS)
        await conn.execute(Q["touch_login"], user_id)
        await conn.execute(Q["sessions_purge"])
    return token


async def session_user(conn: asyncpg.Connection, token: str) -> SessionUser | None:
    """The person of a live session (and the session's idle clock restarted), else None."""
    digest = session_hash(token)
    row = await conn.fetchrow(Q["session_get"], digest, IDLE_SECONDS)
    if row is None:
        return None
    await conn.execute(Q["session_touch"], digest)
    return SessionUser(
        user_id=row["user_id"],
        username=row["username"],
        full_name=row["full_name"],
        role=Role(row["role"]),
        unit_id=row["unit_id"],
        unit_code=row["unit_code"],
        must_change_password=row["must_change_password"],
    )


async def end_session(conn: asyncpg.Connection, token: str) -> None:
    await conn.execute(Q["session_delete"], session_hash(token))


async def person_principal(conn: asyncpg.Connection, username: str) -> Principal | None:
    """The enabled account ``username`` as a principal (the CLI acting for a person)."""
    row = await conn.fetchrow(Q["by_username"], normalize_username(username))
    if row is None or row["disabled_at"] is not None:
        return None
    return Principal(
        key_id=0,
        role=Role(row["role"]),
        scope_unit_id=row["unit_id"],
        kind="user",
        user_id=row["id"],
    )
