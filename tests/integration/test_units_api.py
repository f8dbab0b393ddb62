from __future__ import annotations

import asyncpg
from litestar.testing import AsyncTestClient

Client = AsyncTestClient  # type: ignore[type-arg]

CSV_HEADER = "code,name,kind,parent_code,ranking_block,outstanding_years\n"


async def count_units(conn: asyncpg.Connection) -> int:
    return int(await conn.fetchval("select count(*) from units"))


async def test_bulk_csv_creates_a_tree_and_resending_changes_nothing(
    client: Client, admin_headers: dict[str, str], conn: asyncpg.Connection
) -> None:
    # Children before their parent: parents may be anywhere in the upload.
    body = (
        CSV_HEADER
        + "SNV-VP,Văn phòng Sở Nội vụ,division,SNV,,\n"
        + "SNV,Sở Nội vụ,department,HN,Khối Sở,2025\n"
        + "HN,Thành phố Hà Nội,city,,,\n"
    ).encode()
    headers = {**admin_headers, "content-type": "text/csv"}
    first = await client.post("/units/bulk", content=body, headers=headers)
    assert first.status_code == 200, first.text
    assert first.json() == {"inserted": 3, "updated": 0, "unchanged": 0}
    again = await client.post("/units/bulk", content=body, headers=headers)
    assert again.json() == {"inserted": 0, "updated": 0, "unchanged": 3}

    unit = (await client.get("/units/SNV", headers=admin_headers)).json()
    assert unit["parent_code"] == "HN"
    assert unit["ranking_block"] == "Khối Sở"
    assert unit["outstanding_years"] == [2025]
    children = (await client.get("/units", params={"parent": "SNV"}, headers=admin_headers)).json()
    assert [u["code"] for u in children["items"]] == ["SNV-VP"]


async def test_a_bad_row_rejects_the_whole_upload(
    client: Client, admin_headers: dict[str, str], conn: asyncpg.Connection
) -> None:
    rows = [
        {"code": "HN", "name": "Hà Nội", "kind": "city"},
        {"code": "A", "name": "A", "kind": "department", "parent_code": "NOPE"},
        {"code": "HN", "name": "again", "kind": "city"},
    ]
    response = await client.post("/units/bulk", json=rows, headers=admin_headers)
    assert response.status_code == 422
    body = response.json()
    assert body["status_code"] == 422
    assert {(p["row"], p["field"]) for p in body["extra"]} == {(2, "parent_code"), (3, "code")}
    assert await count_units(conn) == 0


async def test_unknown_field_wrong_type_and_bad_bytes_are_4xx_and_store_nothing(
    client: Client, admin_headers: dict[str, str], conn: asyncpg.Connection
) -> None:
    unknown = await client.post(
        "/units/bulk",
        json=[{"code": "HN", "name": "x", "kind": "city", "size": 3}],
        headers=admin_headers,
    )
    assert unknown.status_code == 422
    assert unknown.json()["extra"][0] == {
        "field": "size",
        "reason": "unknown field",
        "row": 1,
    }
    wrong_type = await client.post(
        "/units/bulk", json=[{"code": "HN", "name": 12, "kind": "city"}], headers=admin_headers
    )
    assert wrong_type.status_code == 422
    assert wrong_type.json()["extra"][0]["field"] == "name"
    # A legacy 8-bit export (TCVN3-era files still circulate): "Hà" in Windows-1258.
    latin1 = CSV_HEADER.encode() + "HN,Hà Noi,city,,,\n".encode("cp1258")
    bad_bytes = await client.post(
        "/units/bulk", content=latin1, headers={**admin_headers, "content-type": "text/csv"}
    )
    assert bad_bytes.status_code == 400
    assert bad_bytes.json()["extra"][0]["field"] == "body"
    malformed = await client.post(
        "/units/bulk", content=b"[{", headers={**admin_headers, "content-type": "application/json"}
    )
    assert malformed.status_code == 400
    assert await count_units(conn) == 0


async def test_a_cycle_is_refused_and_the_tree_is_left_as_it_was(
    client: Client, admin_headers: dict[str, str], conn: asyncpg.Connection
) -> None:
    tree = [
        {"code": "A", "name": "A", "kind": "x"},
        {"code": "B", "name": "B", "kind": "x", "parent_code": "A"},
    ]
    assert (await client.post("/units/bulk", json=tree, headers=admin_headers)).status_code == 200
    cycle = [{"code": "A", "name": "A", "kind": "x", "parent_code": "B"}]
    response = await client.post("/units/bulk", json=cycle, headers=admin_headers)
    assert response.status_code == 422
    assert "cycle" in response.json()["extra"][0]["reason"]
    assert await conn.fetchval("select parent_id from units where code = 'A'") is None


async def test_create_one_then_conflict_and_not_found(
    client: Client, admin_headers: dict[str, str]
) -> None:
    unit = {"code": "HN", "name": "Thành phố Hà Nội", "kind": "city"}
    created = await client.post("/units", json=unit, headers=admin_headers)
    assert created.status_code == 201
    assert created.json()["name"] == "Thành phố Hà Nội"
    again = await client.post("/units", json=unit, headers=admin_headers)
    assert again.status_code == 409
    assert again.json()["extra"] == [{"field": "code", "reason": "already exists"}]
    missing = await client.get("/units/NOPE", headers=admin_headers)
    assert missing.status_code == 404


async def test_list_is_in_vietnamese_order_and_paginates(
    client: Client, admin_headers: dict[str, str]
) -> None:
    names = [
        "Phường Ô Chợ Dừa",
        "Phường Đống Đa",
        "Phường Dịch Vọng",
        "Phường Ba Đình",
        "Phường Ông Ích Khiêm",
        "Phường Ơ",
    ]
    rows = [{"code": f"U{i}", "name": n, "kind": "ward"} for i, n in enumerate(names)]
    await client.post("/units/bulk", json=rows, headers=admin_headers)
    first = (await client.get("/units", params={"limit": 4}, headers=admin_headers)).json()
    rest = (
        await client.get("/units", params={"limit": 4, "offset": 4}, headers=admin_headers)
    ).json()
    ordered = [u["name"] for u in first["items"] + rest["items"]]
    assert ordered == [
        "Phường Ba Đình",
        "Phường Dịch Vọng",
        "Phường Đống Đa",
        "Phường Ô Chợ Dừa",
        "Phường Ông Ích Khiêm",
        "Phường Ơ",
    ]
    assert first["total"] == 6
    bad_limit = await client.get("/units", params={"limit": 0}, headers=admin_headers)
    assert bad_limit.status_code == 400


async def test_a_body_over_the_limit_is_refused_with_413(
    db_dsn: str, tmp_path: object, conn: asyncpg.Connection
) -> None:
    from evalsvc.api.app import create_app
    from evalsvc.domain.access import Role
    from evalsvc.settings import Settings
    from tests.conftest import make_key

    headers = await make_key(conn, Role.ADMIN)
    app = create_app(Settings(database_url=db_dsn, max_body_bytes=2048), db_dsn)
    async with AsyncTestClient(app=app) as small:
        rows = [{"code": f"U{i}", "name": "x" * 50, "kind": "ward"} for i in range(100)]
        response = await small.post("/units/bulk", json=rows, headers=headers)
    assert response.status_code == 413
    assert await count_units(conn) == 0


async def test_changing_only_the_outstanding_years_counts_as_an_update(
    client: Client, admin_headers: dict[str, str], conn: asyncpg.Connection
) -> None:
    unit = {"code": "HN", "name": "Hà Nội", "kind": "city", "outstanding_years": [2025]}
    await client.post("/units/bulk", json=[unit], headers=admin_headers)
    changed = await client.post(
        "/units/bulk",
        json=[{**unit, "outstanding_years": [2025, 2026, 2026]}],
        headers=admin_headers,
    )
    assert changed.json() == {"inserted": 0, "updated": 1, "unchanged": 0}
    same = await client.post(
        "/units/bulk", json=[{**unit, "outstanding_years": [2026, 2025]}], headers=admin_headers
    )
    assert same.json() == {"inserted": 0, "updated": 0, "unchanged": 1}
    kept = await client.post(
        "/units/bulk",
        json=[{"code": "HN", "name": "Hà Nội", "kind": "city"}],
        headers=admin_headers,
    )
    assert kept.json()["unchanged"] == 1
    years = await conn.fetchval("select array_agg(year order by year) from unit_outstanding_years")
    assert years == [2025, 2026]


async def test_framework_validation_errors_have_the_same_shape(
    client: Client, admin_headers: dict[str, str]
) -> None:
    bad_query = await client.get("/units", params={"limit": 5000}, headers=admin_headers)
    assert bad_query.status_code == 400
    problem = bad_query.json()["extra"][0]
    assert problem["field"] == "limit"
    assert problem["source"] == "query"
    assert "reason" in problem
    bad_body = await client.post(
        "/units", json={"code": "HN", "name": "x", "kind": "city", "size": 1}, headers=admin_headers
    )
    assert bad_body.status_code == 400
    assert bad_body.json()["extra"][0]["field"] in ("size", "body")
