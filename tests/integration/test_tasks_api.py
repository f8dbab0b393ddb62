"""The streaming task endpoint and the task reads, over HTTP."""

from __future__ import annotations

import asyncpg
from litestar.testing import AsyncTestClient

from evalsvc.domain.access import Role
from tests.conftest import make_key
from tests.integration.tasks_helpers import HEADER, make_city, recount, row, stored_totals

Client = AsyncTestClient  # type: ignore[type-arg]
CSV = {"Content-Type": "text/csv"}


async def test_csv_upload_then_reads(
    client: Client, conn: asyncpg.Connection, admin_headers: dict[str, str]
) -> None:
    await make_city(conn)
    body = HEADER + row("e1", "A1") + row("e2", "A2", done="10", exceeded="true", dc="1")
    response = await client.post("/tasks/batches", content=body, headers=admin_headers | CSV)
    assert response.status_code == 201, response.text
    assert response.json() | {"batch_id": 0} == {
        "batch_id": 0,
        "rows": 2,
        "inserted": 2,
        "updated": 0,
        "unchanged": 0,
    }
    again = await client.post("/tasks/batches", content=body, headers=admin_headers | CSV)
    assert again.json()["unchanged"] == 2
    listed = await client.get("/tasks", params={"month": "2026-05"}, headers=admin_headers)
    assert [r["external_id"] for r in listed.json()["items"]] == ["e1", "e2"]
    assert listed.json()["total"] == 2
    for path in ("/tasks", "/tasks/totals"):  # a page past the end still reports the total
        params = {"month": "2026-05", "limit": "1", "offset": "5"}
        past = await client.get(path, params=params, headers=admin_headers)
        assert past.json() == {"items": [], "total": 2, "limit": 1, "offset": 5}, path
    totals = await client.get(
        "/tasks/totals", params={"month": "2026-05", "cadre": "A2"}, headers=admin_headers
    )
    [a2] = totals.json()["items"]
    assert a2["quantity"] == 1.0
    assert a2["timeliness"] == 0.75
    assert a2["late_share"] == 1.0
    assert a2["exceeded_share"] == 1.0
    assert await stored_totals(conn) == await recount(conn)


async def test_ndjson_with_default_source(
    client: Client, conn: asyncpg.Connection, admin_headers: dict[str, str]
) -> None:
    await make_city(conn)
    line = (
        '{"external_id":"n1","cadre_code":"B1","month":"2026-05","product_code":"P",'
        '"k":2,"assigned":3,"done":3}\n'
    )
    response = await client.post(
        "/tasks/batches",
        params={"source": "dms"},
        content=line,
        headers=admin_headers | {"Content-Type": "application/x-ndjson"},
    )
    assert response.status_code == 201, response.text
    assert await conn.fetchval("select source_system from task_records") == "dms"


async def test_bad_rows_are_422_with_row_field_reason(
    client: Client, conn: asyncpg.Connection, admin_headers: dict[str, str]
) -> None:
    await make_city(conn)
    body = HEADER + row("e1", k="0") + row("e2", "NOPE")
    response = await client.post("/tasks/batches", content=body, headers=admin_headers | CSV)
    assert response.status_code == 422
    extra = response.json()["extra"]
    assert {"field": "k", "reason": "conversion factor k must be greater than 0", "row": 1} in extra
    assert await conn.fetchval("select count(*) from task_records") == 0


async def test_non_utf8_and_truncated_bodies_are_400(
    client: Client, conn: asyncpg.Connection, admin_headers: dict[str, str]
) -> None:
    await make_city(conn)
    bad = (HEADER + row("e1")).encode() + b"hr,e2,A1,2026-05,P\xc3\x28,1,1,1,,0,0,,0,0,\n"
    response = await client.post("/tasks/batches", content=bad, headers=admin_headers | CSV)
    assert response.status_code == 400
    assert response.json()["extra"][0]["row"] == 2
    cut = (HEADER + row("e1") + row("e2"))[:-9]
    response = await client.post("/tasks/batches", content=cut, headers=admin_headers | CSV)
    assert response.status_code == 400
    assert "truncated" in response.json()["detail"]
    assert await conn.fetchval("select count(*) from task_records") == 0


async def test_unsupported_media_type(client: Client, admin_headers: dict[str, str]) -> None:
    response = await client.post(
        "/tasks/batches", content=b"x", headers=admin_headers | {"Content-Type": "text/plain"}
    )
    assert response.status_code == 415


async def test_roles_and_scope(client: Client, conn: asyncpg.Connection) -> None:
    await make_city(conn)
    auditor = await make_key(conn, Role.AUDITOR)
    hr_a = await make_key(conn, Role.HR_SYSTEM, "DEP-A")
    body = HEADER + row("e1", "A1")
    response = await client.post("/tasks/batches", content=body, headers=auditor | CSV)
    assert response.status_code == 403
    response = await client.post("/tasks/batches", content=body, headers=hr_a | CSV)
    assert response.status_code == 201
    response = await client.post(
        "/tasks/batches", content=HEADER + row("e2", "B1"), headers=hr_a | CSV
    )
    assert response.status_code == 422  # as for a cadre code that does not exist
    listed = await client.get("/tasks", params={"month": "2026-05"}, headers=auditor)
    assert len(listed.json()["items"]) == 1
    assert (
        await client.get("/tasks", params={"month": "05-2026"}, headers=auditor)
    ).status_code == 400
