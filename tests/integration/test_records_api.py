"""Discipline, supervisor assessments, formal confidence votes and unit indicators over HTTP."""

from __future__ import annotations

import asyncpg
from litestar.testing import AsyncTestClient

from evalsvc.domain.access import Role
from tests.conftest import make_key
from tests.integration.tasks_helpers import make_city

Client = AsyncTestClient  # type: ignore[type-arg]
CSV = {"Content-Type": "text/csv"}


async def make_leader(conn: asyncpg.Connection) -> None:
    await conn.execute(
        "insert into cadres (code, full_name, name_key, search_text, personnel_type, position, "
        "unit_id) select 'H1', 'Head', 'h', 'h', 'cong_chuc', 'head', id from units "
        "where code = 'DEP-A'"
    )


async def test_discipline_bulk_upsert_is_idempotent_and_all_or_nothing(
    client: Client, conn: asyncpg.Connection, admin_headers: dict[str, str]
) -> None:
    await make_city(conn)
    body = (
        "cadre_code,form,track,violation_id,decided_on,effective_on,decision_no\n"
        "A1,khien_trach,party,V-1,2026-03-01,2026-03-05,12/QĐ\n"
        "A1,canh_cao,administrative,V-1,2026-03-02,2026-03-10,\n"
    )
    first = await client.post("/discipline/bulk", content=body, headers=admin_headers | CSV)
    assert first.status_code == 200, first.text
    assert first.json() == {"inserted": 2, "updated": 0, "unchanged": 0}
    again = await client.post("/discipline/bulk", content=body, headers=admin_headers | CSV)
    assert again.json() == {"inserted": 0, "updated": 0, "unchanged": 2}
    changed = body.replace("canh_cao", "ha_bac_luong")
    third = await client.post("/discipline/bulk", content=changed, headers=admin_headers | CSV)
    assert third.json() == {"inserted": 0, "updated": 1, "unchanged": 1}
    bad = body + "NOPE,canh_cao,party,V-2,2026-03-01,2026-03-01,\n"
    rejected = await client.post("/discipline/bulk", content=bad, headers=admin_headers | CSV)
    assert rejected.status_code == 422
    assert rejected.json()["extra"] == [
        {"field": "cadre_code", "reason": "no cadre with code 'NOPE'", "row": 3}
    ]
    backwards = [
        {
            "cadre_code": "A2",
            "form": "canh_cao",
            "track": "party",
            "violation_id": "V-9",
            "decided_on": "2026-03-10",
            "effective_on": "2026-03-01",
        }
    ]
    response = await client.post("/discipline/bulk", json=backwards, headers=admin_headers)
    assert response.status_code in (400, 422)
    assert await conn.fetchval("select count(*) from discipline_records") == 2
    listed = await client.get("/discipline", params={"track": "party"}, headers=admin_headers)
    assert listed.json()["total"] == 1
    assert listed.json()["items"][0]["form"] == "khien_trach"


async def test_assessments_leader_factors_and_limits(
    client: Client, conn: asyncpg.Connection, admin_headers: dict[str, str]
) -> None:
    await make_city(conn)
    await make_leader(conn)
    ok = [
        {"cadre_code": "A1", "month": "2026-05", "politics": 9, "capacity": 8.5, "innovation": 10},
        {
            "cadre_code": "H1",
            "month": "2026-05",
            "politics": 10,
            "capacity": 10,
            "innovation": 9,
            "organising": 0.5,
            "cohesion": 1,
        },
    ]
    response = await client.post("/assessments/bulk", json=ok, headers=admin_headers)
    assert response.json() == {"inserted": 2, "updated": 0, "unchanged": 0}
    staff_with_factor = [ok[0] | {"organising": 1}]
    response = await client.post("/assessments/bulk", json=staff_with_factor, headers=admin_headers)
    assert response.status_code == 422
    assert response.json()["extra"][0]["field"] == "organising"
    for bad in ({"politics": 11}, {"organising": 0.7}, {"month": "2026-13"}, {"colour": 1}):
        response = await client.post("/assessments/bulk", json=[ok[1] | bad], headers=admin_headers)
        assert response.status_code in (400, 422), bad
    listed = await client.get("/assessments", params={"month": "2026-05"}, headers=admin_headers)
    items = {i["cadre_code"]: i for i in listed.json()["items"]}
    assert items["A1"]["general_total"] == 27.5
    assert items["H1"]["organising"] == 0.5
    one = await client.post("/assessments", json=ok[0] | {"politics": 7}, headers=admin_headers)
    assert one.status_code == 201
    assert one.json()["politics"] == 7


async def test_confidence_votes_derive_shares(
    client: Client, conn: asyncpg.Connection, admin_headers: dict[str, str]
) -> None:
    await make_city(conn)
    body = "cadre_code,vote_date,eligible,present,high,medium,low\nA1,2026-06-01,30,21,5,5,11\n"
    response = await client.post(
        "/confidence-votes/bulk", content=body, headers=admin_headers | CSV
    )
    assert response.json() == {"inserted": 1, "updated": 0, "unchanged": 0}
    [vote] = (await client.get("/confidence-votes", headers=admin_headers)).json()["items"]
    assert vote["low_share"] == 11 / 21
    assert vote["low_over_half"] is True
    assert vote["quorum_two_thirds"] is True
    too_many = body.replace("30,21,5,5,11", "30,21,5,5,12")
    response = await client.post(
        "/confidence-votes/bulk", content=too_many, headers=admin_headers | CSV
    )
    assert response.status_code == 422


async def test_unit_indicators_and_scope(
    client: Client, conn: asyncpg.Connection, admin_headers: dict[str, str]
) -> None:
    await make_city(conn)
    personnel_a = await make_key(conn, Role.PERSONNEL, "DEP-A")
    rows = [
        {
            "unit_code": "DEP-A",
            "month": "2026-05",
            "satisfaction_pct": 92.5,
            "dossiers_received": 200,
            "dossiers_late": 10,
        },
        {"unit_code": "DEP-B", "month": "2026-05", "satisfaction_pct": 80},
    ]
    response = await client.post("/unit-indicators/bulk", json=rows, headers=personnel_a)
    # Another subtree's unit answers as an unknown one would (no probing of codes).
    assert response.status_code == 422
    assert response.json()["extra"] == [
        {"field": "unit_code", "reason": "no unit with code 'DEP-B'", "row": 2}
    ]
    response = await client.post("/unit-indicators/bulk", json=rows[:1], headers=personnel_a)
    assert response.json() == {"inserted": 1, "updated": 0, "unchanged": 0}
    response = await client.post("/unit-indicators/bulk", json=rows[1:], headers=admin_headers)
    assert response.status_code == 200
    seen = await client.get("/unit-indicators", headers=personnel_a)
    assert [i["unit_code"] for i in seen.json()["items"]] == ["DEP-A"]
    assert seen.json()["items"][0]["late_share"] == 0.05
    late = [rows[0] | {"dossiers_late": 201}]
    response = await client.post("/unit-indicators/bulk", json=late, headers=admin_headers)
    assert response.status_code in (400, 422)
