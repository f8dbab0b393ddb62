"""The administrators' accounts page."""

from __future__ import annotations

import re

import asyncpg

from evalsvc.domain.access import Role
from tests.integration.ballots_seed import add_unit
from tests.web.helpers import Client, form_post, login, make_user


async def test_admin_creates_resets_and_disables(client: Client, conn: asyncpg.Connection) -> None:
    await add_unit(conn, "UB")
    await make_user(conn, "quantri", Role.ADMIN)
    await login(client, "quantri")
    page = await client.get("/admin/users")
    assert page.status_code == 200
    assert "Tài khoản mới" in page.text

    bad = await form_post(
        client, "/admin/users", {"username": "Lan Anh", "role": "personnel", "unit": "UB"}
    )
    assert bad.status_code == 422
    assert "chữ a-z không dấu" in bad.text
    assert await conn.fetchval("select count(*) from users") == 1
    no_unit = await form_post(client, "/admin/users", {"username": "lan", "role": "personnel"})
    assert no_unit.status_code == 422
    assert "vai trò này cần chọn đơn vị" in no_unit.text

    made = await form_post(
        client,
        "/admin/users",
        {"username": "lan.tccb", "full_name": "Trần Thị Lan", "role": "personnel", "unit": "UB"},
    )
    assert made.status_code == 200, made.text
    match = re.search(r'data-testid="temporary-password">([^<]+)<', made.text)
    assert match
    row = await conn.fetchrow("select * from users where username = 'lan.tccb'")
    assert row["created_by"].startswith("user:")
    assert row["must_change_password"]

    await form_post(client, f"/admin/users/{row['id']}/disable", {}, page=made.text)
    assert await conn.fetchval("select disabled_at is not null from users where id = $1", row["id"])


async def test_personnel_may_not_open_the_accounts_page(
    client: Client, conn: asyncpg.Connection
) -> None:
    await add_unit(conn, "UB")
    await make_user(conn, "lan", Role.PERSONNEL, "UB")
    await login(client, "lan")
    response = await client.get("/admin/users")
    assert response.status_code == 403
    assert "Không có quyền" in response.text
    rounds = await client.get("/rounds", follow_redirects=False)
    assert rounds.status_code == 200
    assert "Chưa có đợt lấy phiếu nào." in rounds.text
