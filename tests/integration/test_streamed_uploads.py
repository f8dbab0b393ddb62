"""Bulk uploads streamed in batches stay all or nothing across batches (repeats, bad rows
far into the body) and keep their body limits."""

from __future__ import annotations

import asyncpg
import msgspec
import pytest
from litestar.testing import AsyncTestClient

from evalsvc.api.app import create_app
from evalsvc.domain import upload_stream
from evalsvc.settings import Settings
from tests.integration.city import build_city

Client = AsyncTestClient  # type: ignore[type-arg]
CSV = {"content-type": "text/csv"}
HEADER = "code,full_name,personnel_type,position,unit_code,peer_group\n"


@pytest.fixture(autouse=True)
def small_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(upload_stream, "CUT_CHARS", 300)
    monkeypatch.setattr(upload_stream, "BATCH_ROWS", 7)


def cadres_csv(n: int, first: int = 0) -> str:
    return HEADER + "".join(
        f"C{i},Nguyễn Văn {i},cong_chuc,staff,SNV,cv\n" for i in range(first, first + n)
    )


async def test_many_batches_are_written_and_counted(
    client: Client, admin_headers: dict[str, str], conn: asyncpg.Connection
) -> None:
    await build_city(client, admin_headers)
    body = cadres_csv(40).encode()
    first = await client.post("/cadres/bulk", content=body, headers=admin_headers | CSV)
    assert first.json() == {"inserted": 40, "updated": 0, "unchanged": 0}, first.text
    again = body.replace(b"Nguy\xe1\xbb\x85n V\xc4\x83n 33,", b"Tr\xe1\xba\xa7n 33,")
    second = await client.post("/cadres/bulk", content=again, headers=admin_headers | CSV)
    assert second.json() == {"inserted": 0, "updated": 1, "unchanged": 39}, second.text
    assert await conn.fetchval("select full_name from cadres where code = 'C33'") == "Trần 33"


async def test_a_repeat_in_a_later_batch_stores_nothing(
    client: Client, admin_headers: dict[str, str], conn: asyncpg.Connection
) -> None:
    await build_city(client, admin_headers)
    body = (
        cadres_csv(30) + "C2,Lê Thị Hai,cong_chuc,staff,SNV,cv\n" + cadres_csv(5, 30)[len(HEADER) :]
    )
    response = await client.post("/cadres/bulk", content=body.encode(), headers=admin_headers | CSV)
    assert response.status_code == 422, response.text
    problems = response.json()["extra"]
    assert {"field": "code", "reason": "'C2' already appears in row 3", "row": 31} in problems
    assert await conn.fetchval("select count(*) from cadres") == 0


async def test_a_bad_row_far_into_the_body_stores_nothing(
    client: Client, admin_headers: dict[str, str], conn: asyncpg.Connection
) -> None:
    await build_city(client, admin_headers)
    body = cadres_csv(30).replace(
        "C25,Nguyễn Văn 25,cong_chuc,staff,SNV", "C25,Nguyễn Văn 25,cong_chuc,staff,NOWHERE"
    )
    response = await client.post("/cadres/bulk", content=body.encode(), headers=admin_headers | CSV)
    assert response.status_code == 422, response.text
    assert response.json()["extra"] == [
        {"field": "unit_code", "reason": "no unit with code 'NOWHERE'", "row": 26}
    ]
    assert await conn.fetchval("select count(*) from cadres") == 0
    assert await conn.fetchval("select count(*) from audit_log where object_type = 'cadre'") == 0


async def test_ndjson_uploads_stream_too(
    client: Client, admin_headers: dict[str, str], conn: asyncpg.Connection
) -> None:
    await build_city(client, admin_headers)
    rows = [
        {"cadre_code": f"C{i}", "month": "2026-05", "politics": 8, "capacity": 9, "innovation": 7}
        for i in range(20)
    ]
    await client.post("/cadres/bulk", content=cadres_csv(20).encode(), headers=admin_headers | CSV)
    body = b"".join(msgspec.json.encode(r) + b"\n" for r in rows)
    headers = admin_headers | {"content-type": "application/x-ndjson"}
    response = await client.post("/assessments/bulk", content=body, headers=headers)
    assert response.json() == {"inserted": 20, "updated": 0, "unchanged": 0}, response.text
    assert await conn.fetchval("select count(*) from supervisor_assessments") == 20


async def test_body_limits_answer_413(
    settings: Settings, db_dsn: str, admin_headers: dict[str, str]
) -> None:
    small = msgspec.structs.replace(settings, max_body_bytes=4096, json_max_body_bytes=2048)
    async with AsyncTestClient(app=create_app(small, db_dsn)) as client:
        big = cadres_csv(200).encode()
        assert len(big) > 4096
        streamed = await client.post("/cadres/bulk", content=big, headers=admin_headers | CSV)
        assert streamed.status_code == 413, streamed.text
        assert "4096" in streamed.json()["detail"]
        whole = await client.post("/cadres", json={"code": "X" * 3000}, headers=admin_headers)
        assert whole.status_code == 413, whole.text
