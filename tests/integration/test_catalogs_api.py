from __future__ import annotations

import asyncpg
import pytest
from litestar.testing import AsyncTestClient

from evalsvc.democity.common import load_sample_catalog, sample_catalog

Client = AsyncTestClient  # type: ignore[type-arg]


def test_sample_catalog_has_41_leader_and_36_staff_items_and_says_it_is_a_sample() -> None:
    sample = sample_catalog()
    assert sample.is_sample
    assert "không phải văn bản chính thức" in sample.title
    assert sum("leader" in i.forms for i in sample.items) == 41
    assert sum("staff" in i.forms for i in sample.items) == 36
    assert {i.group for i in sample.items} == {1, 2, 3}


async def test_json_load_gets_version_numbers_and_publish_freezes(
    client: Client, admin_headers: dict[str, str], conn: asyncpg.Connection
) -> None:
    doc = {
        "name": "longbien",
        "title": "Bộ biểu hiện",
        "items": [
            {"code": "1.1", "text": "Đi muộn", "group": 1, "forms": ["leader", "staff"]},
            {"code": "3.1", "text": "Không bảo vệ cán bộ", "group": 3, "forms": ["leader"]},
        ],
        "points": {"group1": 4, "group2": 2, "group3": 1.5},
    }
    first = await client.post("/catalogs", json=doc, headers=admin_headers)
    assert first.status_code == 201, first.text
    body = first.json()
    assert (body["version"], body["status"], body["leader_items"], body["staff_items"]) == (
        1,
        "draft",
        2,
        1,
    )
    assert body["points"] == {"group1": 4.0, "group2": 2.0, "group3": 1.5}
    same = await client.post("/catalogs", json=doc, headers=admin_headers)
    assert same.status_code == 200  # identical content: no new version
    assert same.json()["version"] == 1
    changed = {**doc, "title": "Bộ biểu hiện (sửa)"}
    second = (await client.post("/catalogs", json=changed, headers=admin_headers)).json()
    assert second["version"] == 2

    published = await client.post(f"/catalogs/{body['id']}/publish", headers=admin_headers)
    assert published.json()["status"] == "published"
    again = await client.post(f"/catalogs/{body['id']}/publish", headers=admin_headers)
    assert again.status_code == 409
    gone = await client.delete(f"/catalogs/{body['id']}", headers=admin_headers)
    assert gone.status_code == 409
    with pytest.raises(asyncpg.RaiseError, match="immutable"):
        await conn.execute(
            "update catalog_items set text = 'changed' where code = '1.1' and catalog_id = $1",
            body["id"],
        )
    draft_deleted = await client.delete(f"/catalogs/{second['id']}", headers=admin_headers)
    assert draft_deleted.status_code == 204
    items = (await client.get(f"/catalogs/{body['id']}", headers=admin_headers)).json()["items"]
    assert [(i["code"], i["forms"]) for i in items] == [
        ("1.1", ["leader", "staff"]),
        ("3.1", ["leader"]),
    ]


async def test_csv_load_and_its_errors(
    client: Client, admin_headers: dict[str, str], conn: asyncpg.Connection
) -> None:
    headers = {**admin_headers, "content-type": "text/csv"}
    params = {"name": "csv-cat", "title": "Từ CSV", "publish": "true"}
    good = "code,text,group,forms\n1.1,Đi muộn,1,leader;staff\n2.1,Đùn đẩy,2,staff\n"
    loaded = await client.post(
        "/catalogs/csv", content=good.encode(), params=params, headers=headers
    )
    assert loaded.status_code == 201, loaded.text
    assert loaded.json()["status"] == "published"
    bad = "code,text,group,forms\n1.1,Đi muộn,4,leader\n1.1,Lặp,1,boss\n"
    refused = await client.post(
        "/catalogs/csv", content=bad.encode(), params=params, headers=headers
    )
    assert refused.status_code == 422
    assert {(p["row"], p["field"]) for p in refused.json()["extra"]} == {
        (1, "group"),
        (2, "forms"),
    }
    assert await conn.fetchval("select count(*) from catalogs") == 1


async def test_sample_catalog_loads_once(conn: asyncpg.Connection) -> None:
    await load_sample_catalog(conn)
    await load_sample_catalog(conn)
    row = await conn.fetchrow(
        "select count(*) as n, bool_and(is_sample) as sample, min(status) as status from catalogs"
    )
    assert dict(row) == {"n": 1, "sample": True, "status": "published"}
