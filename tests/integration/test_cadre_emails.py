"""The registry's email field: CSV and JSON, kept when omitted, cleared by an empty cell."""

from __future__ import annotations

import asyncpg
from litestar.testing import AsyncTestClient

from tests.integration.city import build_city, cadre

Client = AsyncTestClient  # type: ignore[type-arg]

HEADER = "code,full_name,personnel_type,position,unit_code,email\n"


async def test_emails_by_csv_and_json(
    client: Client, admin_headers: dict[str, str], conn: asyncpg.Connection
) -> None:
    await build_city(client, admin_headers)
    csv_headers = {**admin_headers, "content-type": "text/csv"}
    body = (
        HEADER
        + "C1,Phạm Thị Hoa,cong_chuc,staff,SNV, hoa@snv.hanoi.gov.vn \n"
        + "C2,Vũ Nam,cong_chuc,staff,SNV,\n"
    )
    first = await client.post("/cadres/bulk", content=body.encode(), headers=csv_headers)
    assert first.json() == {"inserted": 2, "updated": 0, "unchanged": 0}, first.text
    c1 = (await client.get("/cadres/C1", headers=admin_headers)).json()
    assert c1["email"] == "hoa@snv.hanoi.gov.vn"
    assert (await client.get("/cadres/C2", headers=admin_headers)).json()["email"] is None

    # JSON without the field keeps the address; with it, changes it.
    kept = await client.post(
        "/cadres/bulk", json=[cadre("C1", "Phạm Thị Hoa", "SNV")], headers=admin_headers
    )
    assert kept.status_code == 200, kept.text
    assert (
        await conn.fetchval("select email from cadres where code = 'C1'") == "hoa@snv.hanoi.gov.vn"
    )
    changed = await client.post(
        "/cadres/bulk",
        json=[cadre("C1", "Phạm Thị Hoa", "SNV") | {"email": "hoa.pt@snv.hanoi.gov.vn"}],
        headers=admin_headers,
    )
    assert changed.json()["updated"] == 1
    # An empty CSV cell keeps it; "-" removes it (the voter then gets a sealed paper slip).
    empty = HEADER + "C1,Phạm Thị Hoa,cong_chuc,staff,SNV,\n"
    await client.post("/cadres/bulk", content=empty.encode(), headers=csv_headers)
    assert await conn.fetchval("select email from cadres where code = 'C1'") is not None
    cleared = HEADER + "C1,Phạm Thị Hoa,cong_chuc,staff,SNV,-\n"
    await client.post("/cadres/bulk", content=cleared.encode(), headers=csv_headers)
    assert await conn.fetchval("select email from cadres where code = 'C1'") is None

    bad = HEADER + "C3,Lê An,cong_chuc,staff,SNV,not-an-address\n"
    refused = await client.post("/cadres/bulk", content=bad.encode(), headers=csv_headers)
    assert refused.status_code in (400, 422), refused.text
    problem = refused.json()["extra"][0]
    assert problem["row"] == 1
    assert problem["field"] == "email"
    assert await conn.fetchval("select count(*) from cadres where code = 'C3'") == 0
