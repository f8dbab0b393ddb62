from __future__ import annotations

import unicodedata

import asyncpg
from litestar.testing import AsyncTestClient

from evalsvc.domain.access import Role
from tests.conftest import make_key
from tests.integration.city import build_city, cadre

Client = AsyncTestClient  # type: ignore[type-arg]


async def test_names_are_stored_nfc_and_listed_by_given_name(
    client: Client, admin_headers: dict[str, str], conn: asyncpg.Connection
) -> None:
    await build_city(client, admin_headers)
    rows = [
        cadre("C1", unicodedata.normalize("NFD", "Nguyễn Văn Bình"), "SNV"),
        cadre("C2", "Trần  Thị   An", "SNV"),
        cadre("C3", "Lê Đức Anh", "SNV", "head"),
        cadre("C4", "Đỗ Thị Ánh", "PLB"),
    ]
    response = await client.post("/cadres/bulk", json=rows, headers=admin_headers)
    assert response.json() == {"inserted": 4, "updated": 0, "unchanged": 0}
    stored = await conn.fetchval("select full_name from cadres where code = 'C1'")
    assert stored == "Nguyễn Văn Bình"
    assert unicodedata.is_normalized("NFC", stored)
    listed = (await client.get("/cadres", headers=admin_headers)).json()
    assert [c["full_name"] for c in listed["items"]] == [
        "Trần Thị An",
        "Lê Đức Anh",
        "Đỗ Thị Ánh",
        "Nguyễn Văn Bình",
    ]
    in_snv = (
        await client.get(
            "/cadres", params={"unit": "SNV", "position": "head"}, headers=admin_headers
        )
    ).json()
    assert [c["code"] for c in in_snv["items"]] == ["C3"]


async def test_csv_upload_with_employment_and_idempotent_resend(
    client: Client, admin_headers: dict[str, str], conn: asyncpg.Connection
) -> None:
    await build_city(client, admin_headers)
    body = (
        "code,full_name,personnel_type,position,unit_code,peer_group,party_member,"
        "employment_start,employment_end\n"
        "C1,Phạm Thị Hoa,vien_chuc,staff,SNV-VP,cv,true,2020-03-01,\n"
        "C2,Vũ Văn Nam,cong_chuc,deputy,SNV,ld,false,2019-01-01,2026-06-30\n"
    ).encode()
    headers = {**admin_headers, "content-type": "text/csv"}
    first = await client.post("/cadres/bulk", content=body, headers=headers)
    assert first.json() == {"inserted": 2, "updated": 0, "unchanged": 0}, first.text
    second = await client.post("/cadres/bulk", content=body, headers=headers)
    assert second.json() == {"inserted": 0, "updated": 0, "unchanged": 2}
    c2 = (await client.get("/cadres/C2", headers=admin_headers)).json()
    assert c2["employment"] == [{"start": "2019-01-01", "end": "2026-06-30"}]
    assert c2["party_member"] is False
    assert c2["position"] == "deputy"


async def test_unknown_unit_and_peer_group_and_bad_dates_store_nothing(
    client: Client, admin_headers: dict[str, str], conn: asyncpg.Connection
) -> None:
    await build_city(client, admin_headers)
    rows = [
        cadre("C1", "Phạm Thị Hoa", "SNV"),
        cadre("C2", "Vũ Văn Nam", "NOWHERE"),
        {**cadre("C3", "Hà Văn Tú", "SNV"), "peer_group": "xx"},
        cadre(
            "C4", "Mai Thị Lan", "SNV", employment=[{"start": "2024-05-01", "end": "2024-01-01"}]
        ),
        {**cadre("C5", "Kiều Văn Sơn", "SNV"), "position": "boss"},
    ]
    response = await client.post("/cadres/bulk", json=rows, headers=admin_headers)
    assert response.status_code == 422
    problems = [(p["row"], p["field"]) for p in response.json()["extra"]]
    # Every problem at once, in row order: shape problems do not hide reference problems.
    assert problems == [(2, "unit_code"), (3, "peer_group"), (4, "employment[0]"), (5, "position")]
    assert await conn.fetchval("select count(*) from cadres") == 0


async def test_move_records_history_and_changes_the_unit(
    client: Client, admin_headers: dict[str, str], conn: asyncpg.Connection
) -> None:
    await build_city(client, admin_headers)
    await client.post(
        "/cadres/bulk", json=[cadre("C1", "Phạm Thị Hoa", "SNV")], headers=admin_headers
    )
    moved = await client.post(
        "/cadres/C1/move",
        json={"unit_code": "PLB", "effective_date": "2026-07-01"},
        headers=admin_headers,
    )
    assert moved.status_code == 200, moved.text
    assert moved.json()["unit_code"] == "PLB"
    history = await conn.fetchrow(
        "select f.code as from_code, t.code as to_code, m.effective_date::text as day "
        "from cadre_unit_moves m join units f on f.id = m.from_unit_id "
        "join units t on t.id = m.to_unit_id"
    )
    assert dict(history) == {"from_code": "SNV", "to_code": "PLB", "day": "2026-07-01"}
    same = await client.post(
        "/cadres/C1/move",
        json={"unit_code": "PLB", "effective_date": "2026-08-01"},
        headers=admin_headers,
    )
    assert same.status_code == 422


async def test_personnel_key_acts_only_in_its_subtree(
    client: Client, admin_headers: dict[str, str], conn: asyncpg.Connection
) -> None:
    await build_city(client, admin_headers)
    await client.post(
        "/cadres/bulk",
        json=[cadre("C1", "Phạm Thị Hoa", "SNV-VP"), cadre("C2", "Vũ Văn Nam", "PLB")],
        headers=admin_headers,
    )
    snv = await make_key(conn, Role.PERSONNEL, "SNV")
    listed = (await client.get("/cadres", headers=snv)).json()
    assert [c["code"] for c in listed["items"]] == ["C1"]
    # Outside the subtree reads as "not found": a scoped key cannot probe other units.
    assert (await client.get("/cadres/C2", headers=snv)).status_code == 404
    assert (await client.get("/cadres", params={"subtree": "PLB"}, headers=snv)).status_code == 404
    assert (await client.get("/units/PLB", headers=snv)).status_code == 404
    inside = await client.post("/cadres/bulk", json=[cadre("C3", "Hà Văn Tú", "SNV")], headers=snv)
    assert inside.status_code == 200
    outside = await client.post(
        "/cadres/bulk", json=[cadre("C4", "Mai Thị Lan", "PLB")], headers=snv
    )
    assert outside.status_code == 422  # as for a unit that does not exist
    assert outside.json()["extra"] == [
        {"field": "unit_code", "reason": "no unit with code 'PLB'", "row": 1}
    ]
    steal = await client.post(
        "/cadres/C2/move", json={"unit_code": "SNV", "effective_date": "2026-07-01"}, headers=snv
    )
    assert steal.status_code == 404  # another subtree's cadre reads as unknown
    unknown = await client.post(
        "/cadres/NOPE/move", json={"unit_code": "SNV", "effective_date": "2026-07-01"}, headers=snv
    )
    assert unknown.status_code == 404
    assert steal.json()["extra"] == unknown.json()["extra"]
    assert await conn.fetchval("select count(*) from cadres") == 3


async def test_search_ignores_accents_and_case(
    client: Client, admin_headers: dict[str, str]
) -> None:
    await build_city(client, admin_headers)
    rows = [cadre("C1", "Nguyễn Đình Thắng", "SNV"), cadre("C2", "Đặng Thị Hằng", "SNV")]
    await client.post("/cadres/bulk", json=rows, headers=admin_headers)
    for query, expected in (
        ("nguyen dinh", ["C1"]),
        ("ĐẶNG", ["C2"]),
        ("thi hang", ["C2"]),
        ("thang", ["C1"]),
        ("xyz", []),
    ):
        found = (await client.get("/cadres", params={"q": query}, headers=admin_headers)).json()
        assert [c["code"] for c in found["items"]] == expected, query
    units = (await client.get("/units", params={"q": "long bien"}, headers=admin_headers)).json()
    assert [u["code"] for u in units["items"]] == ["PLB"]


async def test_lists_export_as_csv(client: Client, admin_headers: dict[str, str]) -> None:
    await build_city(client, admin_headers)
    await client.post(
        "/cadres/bulk", json=[cadre("C1", "Đặng Thị Hằng", "SNV")], headers=admin_headers
    )
    response = await client.get("/cadres", params={"format": "csv"}, headers=admin_headers)
    assert response.headers["content-type"] == "text/csv; charset=utf-8"  # once
    assert response.headers["x-total-count"] == "1"
    header, row = response.text.splitlines()[:2]
    assert header.startswith("id,code,full_name,")
    assert "Đặng Thị Hằng" in row
    units = await client.get("/units", headers={**admin_headers, "accept": "text/csv"})
    assert units.text.splitlines()[0].startswith("id,code,name,")
    assert len(units.text.splitlines()) == 1 + 4
