"""Page test helpers: the CSRF field of a page, logging in through the form."""

from __future__ import annotations

import re
from typing import Any

import asyncpg
from litestar.testing import AsyncTestClient

from evalsvc.domain.access import Role
from evalsvc.store import users

Client = AsyncTestClient  # type: ignore[type-arg]
PASSWORD = "mat-khau-thu-nghiem"


def csrf_of(html: str) -> str:
    match = re.search(r'name="_csrf" value="([0-9a-f]+)"', html)
    assert match, "no CSRF field on the page"
    return match.group(1)


async def form_post(client: Client, path: str, data: dict[str, Any], page: str = "") -> Any:
    """POST a form with the CSRF token read from ``page`` (default: GET ``path`` first)."""
    html = page or (await client.get(path)).text
    return await client.post(path, data={"_csrf": csrf_of(html), **data}, follow_redirects=False)


async def make_user(
    conn: asyncpg.Connection,
    username: str,
    role: Role,
    unit: str | None = None,
    must_change: bool = False,
) -> int:
    user_id = await users.create_user(
        conn, username, f"Người {username}", role, unit, PASSWORD, "test"
    )
    if not must_change:
        await conn.execute("update users set must_change_password = false where id = $1", user_id)
    return user_id


async def login(client: Client, username: str, password: str = PASSWORD) -> Any:
    response = await form_post(client, "/login", {"username": username, "password": password})
    return response
