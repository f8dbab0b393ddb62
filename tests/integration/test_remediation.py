"""Remediation items: open, idempotent bulk opening, verify, cancel, derived overdue."""

from __future__ import annotations

from datetime import date, timedelta

import asyncpg
import pytest
from litestar.testing import AsyncTestClient

from evalsvc.domain.access import Role
from evalsvc.domain.remediation import NewItem
from evalsvc.store.remediation import open_items
from tests.conftest import make_key
from tests.integration.tasks_helpers import make_city

Client = AsyncTestClient  # type: ignore[type-arg]
TODAY = date.today()


def item(**kw: object) -> dict[str, object]:
    base: dict[str, object] = {
        "cadre_code": "A1",
        "origin": "inspection",
        "description": "Chậm trả lời công dân",
        "identified_on": str(TODAY - timedelta(days=60)),
        "due_on": str(TODAY - timedelta(days=1)),
    }
    return base | kw


async def test_open_verify_cancel_and_overdue(
    client: Client, conn: asyncpg.Connection, admin_headers: dict[str, str]
) -> None:
    await make_city(conn)
    created = await client.post("/remediation", json=item(), headers=admin_headers)
    assert created.status_code == 201, created.text
    first = created.json()
    assert first["status"] == "open"
    assert first["overdue"] is True
    later = await client.post(
        "/remediation",
        json=item(unit_code="DEP-B", cadre_code=None, due_on=str(TODAY + timedelta(days=30))),
        headers=admin_headers,
    )
    assert later.json()["overdue"] is False
    overdue = await client.get("/remediation", params={"overdue": "true"}, headers=admin_headers)
    assert [i["id"] for i in overdue.json()["items"]] == [first["id"]]

    verified = await client.post(
        f"/remediation/{first['id']}/verify",
        json={"verified_by": "Trưởng phòng", "verified_on": str(TODAY)},
        headers=admin_headers,
    )
    assert verified.status_code == 200
    assert verified.json()["status"] == "done"
    assert verified.json()["verified_late"] is True
    assert verified.json()["overdue"] is False
    again = await client.post(
        f"/remediation/{first['id']}/cancel", json={"reason": "x"}, headers=admin_headers
    )
    assert again.status_code == 409
    cancelled = await client.post(
        f"/remediation/{later.json()['id']}/cancel",
        json={"reason": "trùng lặp"},
        headers=admin_headers,
    )
    assert cancelled.json()["status"] == "cancelled"
    assert cancelled.json()["cancel_reason"] == "trùng lặp"
    future = await client.post("/remediation", json=item(), headers=admin_headers)
    response = await client.post(
        f"/remediation/{future.json()['id']}/verify",
        json={"verified_by": "A", "verified_on": str(TODAY + timedelta(days=1))},
        headers=admin_headers,
    )
    assert response.status_code == 422


@pytest.mark.parametrize(
    "bad",
    [
        {"cadre_code": None},  # no subject
        {"unit_code": "DEP-A"},  # two subjects
        {"due_on": "2000-01-01"},  # due before identified
        {"origin": "rumour"},
        {"colour": "red"},
    ],
)
async def test_invalid_items(
    client: Client, conn: asyncpg.Connection, admin_headers: dict[str, str], bad: dict[str, object]
) -> None:
    await make_city(conn)
    response = await client.post("/remediation", json=item(**bad), headers=admin_headers)
    assert response.status_code in (400, 422)
    assert await conn.fetchval("select count(*) from remediation_items") == 0


async def test_bulk_is_idempotent_per_origin_reference(
    client: Client, conn: asyncpg.Connection, admin_headers: dict[str, str]
) -> None:
    await make_city(conn)
    rows = [
        item(origin="ballot_round", origin_ref="round-7", item_code="G1.3"),
        item(origin="ballot_round", origin_ref="round-7", item_code="G2.1"),
        item(cadre_code="A2", origin="ballot_round", origin_ref="round-7", item_code="G1.3"),
    ]
    first = await client.post("/remediation/bulk", json=rows, headers=admin_headers)
    assert first.json() == {"inserted": 3, "updated": 0, "unchanged": 0}
    again = await client.post("/remediation/bulk", json=rows, headers=admin_headers)
    assert again.json() == {"inserted": 0, "updated": 0, "unchanged": 3}
    dup = await client.post("/remediation/bulk", json=[rows[0], rows[0]], headers=admin_headers)
    assert dup.status_code == 422
    assert dup.json()["extra"][0]["row"] == 2


async def test_open_items_store_function(conn: asyncpg.Connection) -> None:
    await make_city(conn)
    a1 = await conn.fetchval("select id from cadres where code = 'A1'")
    unit = await conn.fetchval("select id from units where code = 'DEP-A'")
    items = [
        NewItem(
            "ballot_round",
            "Có biểu hiện G1.3",
            TODAY,
            TODAY,
            cadre_id=a1,
            origin_ref="r1",
            item_code="G1.3",
        ),
        NewItem("ballot_round", "Đơn vị", TODAY, TODAY, unit_id=unit, origin_ref="r1"),
    ]
    assert len(await open_items(conn, items)) == 2
    assert await open_items(conn, items) == []
    assert await conn.fetchval("select count(*) from remediation_items") == 2


async def test_scoped_personnel(client: Client, conn: asyncpg.Connection) -> None:
    await make_city(conn)
    personnel_a = await make_key(conn, Role.PERSONNEL, "DEP-A")
    auditor = await make_key(conn, Role.AUDITOR)
    assert (await client.post("/remediation", json=item(), headers=personnel_a)).status_code == 201
    outside = item(cadre_code="B1")
    # Another subtree's cadre answers as an unknown code would (no probing).
    refused = await client.post("/remediation", json=outside, headers=personnel_a)
    assert refused.status_code == 422
    assert "no cadre with code 'B1'" in refused.text
    assert (await client.post("/remediation", json=item(), headers=auditor)).status_code == 403
    assert (await client.get("/remediation", headers=auditor)).json()["total"] == 1
