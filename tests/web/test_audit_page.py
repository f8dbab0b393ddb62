"""The audit trail page: admins and auditors filter and page through it; others are refused."""

from __future__ import annotations

import asyncpg

from evalsvc.domain.access import Role
from tests.conftest import make_key
from tests.web.helpers import Client, login, make_user


async def seed_changes(client: Client, conn: asyncpg.Connection) -> None:
    """60 units created and one renamed through the API, by a key labelled 'test admin'."""
    headers = await make_key(conn, Role.ADMIN)
    units = [{"code": "HN", "name": "Hà Nội", "kind": "city"}] + [
        {"code": f"P{i:02d}", "name": f"Phường {i}", "kind": "ward", "parent_code": "HN"}
        for i in range(59)
    ]
    response = await client.post("/units/bulk", json=units, headers=headers)
    assert response.status_code == 200, response.text
    renamed = [{"code": "P07", "name": "Phường Bảy", "kind": "ward", "parent_code": "HN"}]
    response = await client.post("/units/bulk", json=renamed, headers=headers)
    assert response.json()["updated"] == 1


async def test_admin_filters_and_pages_the_audit_trail(
    client: Client, conn: asyncpg.Connection
) -> None:
    await seed_changes(client, conn)
    await make_user(conn, "quantri", Role.ADMIN)
    await login(client, "quantri")
    home = await client.get("/rankings")
    assert 'href="/admin/audit"' in home.text
    n = await conn.fetchval("select count(*) from audit_log where object_type = 'unit'")
    assert n > 100  # 60 creations, 59 parents set, a rename
    first = await client.get("/admin/audit", params={"object_type": "unit"})
    assert first.status_code == 200, first.text
    assert "Nhật ký thay đổi" in first.text
    assert f"Mục thứ 1 đến 50 trong số {n}" in first.text
    assert first.text.count("<tr>") == 51  # the header row and 50 entries
    assert "Phường 7 → Phường Bảy" in first.text  # newest first: the rename leads
    last = 50 * ((n - 1) // 50)
    end = await client.get("/admin/audit", params={"object_type": "unit", "offset": str(last)})
    assert f"Mục thứ {last + 1} đến {n} trong số {n}" in end.text
    assert "Trang trước" in end.text
    assert "Trang sau" not in end.text
    assert "Phường Bảy" not in end.text  # the oldest entries: creations

    p07 = {"object_type": "unit", "object_key": "P07"}
    one = await client.get("/admin/audit", params={**p07, "action": "unit.insert"})
    assert "trong số 1" in one.text
    assert "Phường 7" in one.text
    who = await client.get("/admin/audit", params={"actor": "test admin", "object_key": "P07"})
    p07_entries = await conn.fetchval("select count(*) from audit_log where object_key = 'P07'")
    assert f"trong số {p07_entries}" in who.text
    nobody = await client.get("/admin/audit", params={"actor": "someone else"})
    assert "Không có mục nào khớp" in nobody.text
    later = await client.get("/admin/audit", params={"since": "2999-01-01"})
    assert "Không có mục nào khớp" in later.text
    hn = await conn.fetchval("select count(*) from audit_log where object_key = 'HN'")
    until = await client.get("/admin/audit", params={"until": "2999-01-01", "object_key": "HN"})
    assert f"trong số {hn}" in until.text

    bad = await client.get("/admin/audit", params={"since": "hôm qua", "actor": "a" * 201})
    assert bad.status_code == 422
    assert "Ngày theo dạng YYYY-MM-DD." in bad.text
    assert "Giá trị lọc không dùng được." in bad.text
    hostile = await client.get("/admin/audit", params={"actor": "a\x00b"})
    assert hostile.status_code == 400  # the app's hostile-input check, before the page


async def test_auditors_may_read_it_and_others_are_refused(
    client: Client, conn: asyncpg.Connection
) -> None:
    await seed_changes(client, conn)
    await make_user(conn, "kiemtoan", Role.AUDITOR)
    await login(client, "kiemtoan")
    page = await client.get("/admin/audit")
    assert page.status_code == 200
    assert "Phường Bảy" in page.text
    await client.post("/logout", data={}, follow_redirects=False)

    client.cookies.clear()
    await make_user(conn, "lan", Role.PERSONNEL, "HN")
    await login(client, "lan")
    refused = await client.get("/admin/audit")
    assert refused.status_code == 403
    assert "Không có quyền" in refused.text
    assert "Phường Bảy" not in refused.text
    assert 'href="/admin/audit"' not in (await client.get("/rankings")).text
