"""Issue 15 end to end: the agency flag, variants that say they are variants, quarters,
units without task basis listed as not ranked, reasons and numbers as people see them."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg

from evalsvc.democity.city import load_demo
from evalsvc.domain.access import Role
from tests.conftest import make_key


async def _add_task_data(conn: asyncpg.Connection) -> None:
    """Monthly task totals for every cadre (k-weighted, in millionths)."""
    await conn.execute(
        """
        insert into task_month_totals (cadre_id, month, records, k_assigned, k_done,
            k_done_quality, k_done_timely, exceeded_records, late_records, k_done_exceeded,
            k_done_late)
        select c.id, 202600 + m, 20, 20000000, 20000000 - (c.id % 7) * 1000000,
               20000000 - (c.id % 7) * 1000000 - (c.id % 3) * 500000,
               20000000 - (c.id % 7) * 1000000 - ((c.id + m) % 4) * 500000, 0, (c.id % 4),
               0, (c.id % 4) * 1000000
        from cadres c cross join generate_series(1, 12) m
        """
    )


async def _run(client: Any, headers: dict[str, str], body: dict[str, Any]) -> dict[str, Any]:
    r = await client.post("/recomputations", json=body, headers=headers)
    assert r.status_code in (200, 202), r.text
    job_id = r.json()["id"]
    for _ in range(600):
        job: dict[str, Any] = (
            await client.get(f"/recomputations/{job_id}", headers=headers)
        ).json()
        if job["state"] in ("succeeded", "failed"):
            assert job["state"] == "succeeded", job["error"]
            return job
        await asyncio.sleep(0.05)
    raise AssertionError("recomputation did not finish")


async def test_agency_flag_in_json_and_csv(
    client: Any, conn: asyncpg.Connection, admin_headers: dict[str, str]
) -> None:
    await load_demo(conn)
    units = (await client.get("/units?limit=1000", headers=admin_headers)).json()["items"]
    by_code = {u["code"]: u for u in units}
    # default: a unit of a ranking block is an agency, others are not
    for u in units:
        assert u["agency"] == (u["ranking_block"] is not None), u
    division = next(u for u in units if u["ranking_block"] is None and u["parent_code"])
    csv_body = (
        "code,name,kind,parent_code,agency\n"
        f"{division['code']},{division['name']},{division['kind']},{division['parent_code']},true\n"
    )
    r = await client.post(
        "/units/bulk",
        content=csv_body.encode(),
        headers={**admin_headers, "content-type": "text/csv"},
    )
    assert r.status_code == 200, r.text
    assert r.json()["updated"] == 1
    got = (await client.get(f"/units/{division['code']}", headers=admin_headers)).json()
    assert got["agency"] is True
    r = await client.post(
        "/units/bulk",
        json=[{"code": division["code"], "name": division["name"], "kind": division["kind"],
               "parent_code": division["parent_code"], "agency": None}],
        headers=admin_headers,
    )  # fmt: skip
    assert r.status_code == 200, r.text
    assert (await client.get(f"/units/{division['code']}", headers=admin_headers)).json()[
        "agency"
    ] is False
    bad = "code,name,kind,agency\nX1,X,division,maybe\n"
    r = await client.post(
        "/units/bulk", content=bad.encode(), headers={**admin_headers, "content-type": "text/csv"}
    )
    assert r.status_code in (400, 422), r.text
    assert "agency" in r.text
    assert by_code  # the registry was listed


async def test_a_variant_is_recorded_and_not_published(
    client: Any, conn: asyncpg.Connection, admin_headers: dict[str, str]
) -> None:
    await load_demo(conn)
    official = await _run(client, admin_headers, {"period": "2026-03"})
    assert official["variant"] is None
    assert official["variant_digest"] is None
    variant = await _run(
        client, admin_headers, {"period": "2026-03", "changes": {"quota_ratio": 0.5}}
    )
    assert variant["variant"] == {"quota_ratio": 0.5}
    assert len(variant["variant_digest"]) == 16
    # the period's official set is still the run without changes
    published = await conn.fetchval("select run_id from result_published where period = '2026-03'")
    assert published == official["run_id"] != variant["run_id"]
    run = (await client.get(f"/results/runs/{variant['run_id']}", headers=admin_headers)).json()
    assert run["published"] is False
    assert run["profile"]["variant"] == {"quota_ratio": 0.5}
    assert run["profile"]["variant_digest"] == variant["variant_digest"]
    # readable by run id, every row saying which variant it is
    page = (
        await client.get(f"/results/rankings?run={variant['run_id']}", headers=admin_headers)
    ).json()
    assert page["items"]
    assert {i["variant_digest"] for i in page["items"]} == {variant["variant_digest"]}
    cadre = await conn.fetchval("select code from cadres order by id limit 1")
    body = (
        await client.get(f"/results/cadres/{cadre}?run={variant['run_id']}", headers=admin_headers)
    ).json()
    assert body["run"]["profile"]["variant_digest"] == variant["variant_digest"]
    # publishing a variant takes an admin's explicit ask
    personnel = await make_key(conn, Role.PERSONNEL, "SNV")
    r = await client.post(
        "/recomputations",
        json={
            "period": "2026-03",
            "unit_code": "SNV",
            "changes": {"quota_ratio": 0.5},
            "publish": True,
        },
        headers=personnel,
    )
    assert r.status_code == 403, r.text
    assert "admin" in r.json()["detail"]
    chosen = await _run(
        client,
        admin_headers,
        {"period": "2026-03", "changes": {"quota_ratio": 0.5}, "publish": True},
    )
    published = await conn.fetchval("select run_id from result_published where period = '2026-03'")
    assert published == chosen["run_id"]
    run = (await client.get(f"/results/runs/{published}", headers=admin_headers)).json()
    assert run["published"] is True
    assert run["profile"]["variant"] == {"quota_ratio": 0.5}


async def test_quarters_under_qd366(
    client: Any, conn: asyncpg.Connection, admin_headers: dict[str, str]
) -> None:
    await load_demo(conn)
    await _add_task_data(conn)
    r = await client.post("/recomputations", json={"period": "2026-Q5"}, headers=admin_headers)
    assert r.status_code == 400
    assert "regex" not in r.text
    assert "YYYY-Qn" in r.text
    r = await client.post("/recomputations", json={"period": "2026-Q2"}, headers=admin_headers)
    assert r.status_code == 422
    assert "quarterly profile" in r.text
    r = await client.post(
        "/recomputations", json={"period": "2026-05", "profile": "qd366"}, headers=admin_headers
    )
    assert r.status_code == 422
    assert "2026-Q2" in r.text
    job = await _run(client, admin_headers, {"period": "2026-Q2", "profile": "qd366"})
    run = (await client.get(f"/results/runs/{job['run_id']}", headers=admin_headers)).json()
    assert run["period"] == "2026-Q2"
    assert run["profile"]["name"] == "qd366"
    page = (await client.get("/results/rankings?period=2026-Q2", headers=admin_headers)).json()
    assert page["total"] > 0
    ranked = [i for i in page["items"] if i["ranked"]]
    assert ranked, page["items"][:3]
    assert all(isinstance(i["rank"], int) for i in ranked)
    cadre = await conn.fetchval("select code from cadres order by id limit 1")
    body = (
        await client.get(f"/results/cadres/{cadre}?period=2026-Q2", headers=admin_headers)
    ).json()
    assert [m["period"] for m in body["months"]] == ["2026-Q2"]
    r = await client.post(
        "/what-if",
        json={"period": "2026-Q2", "profile": "qd366", "changes": {"quota_ratio": 0.5}},
        headers=admin_headers,
    )
    assert r.status_code == 200, r.text
    assert r.json()["stored"] is False
    assert len(r.json()["variant_digest"]) == 16
    r = await client.post(
        "/what-if", json={"period": "2026-Q2", "changes": {}}, headers=admin_headers
    )
    assert r.status_code == 422  # nd335 rates months and years
    # the year under qd366: four quarters, the annual rating their mean
    year = await _run(client, admin_headers, {"period": "2026", "profile": "qd366"})
    body = (
        await client.get(f"/results/cadres/{cadre}?run={year['run_id']}", headers=admin_headers)
    ).json()
    assert [m["period"] for m in body["months"]] == ["2026-Q1", "2026-Q2", "2026-Q3", "2026-Q4"]
    scores = [m["score"] for m in body["months"] if m["score"] is not None]
    if scores and body["annual"]["score"] is not None:
        mean = sum(scores) / len(scores)
        assert abs(body["annual"]["score"] - mean) <= 0.0051
    kinds = await conn.fetch(
        "select kind, period from result_runs where job_id = $1 order by id", year["id"]
    )
    # Q2's quarter run (same inputs, profile and code) is taken as it is; the job wrote the
    # other three quarters as quarter runs of its own.
    assert [k["period"] for k in kinds if k["kind"] == "quarter"] == [
        "2026-Q1", "2026-Q3", "2026-Q4"
    ]  # fmt: skip
    sources = await conn.fetchval(
        "select month_runs from result_runs where id = $1", year["run_id"]
    )
    assert sources[1] == job["run_id"]
    assert year["counts"]["months_reused"] == 1


async def test_people_facing_numbers_reasons_and_not_ranked_units(
    client: Any, conn: asyncpg.Connection, admin_headers: dict[str, str]
) -> None:
    await load_demo(conn)
    await _add_task_data(conn)
    block = await conn.fetchval(
        "select ranking_block from units where ranking_block is not null limit 1"
    )
    r = await client.post(
        "/units",
        json={"code": "EMPTY", "name": "Đơn vị mới", "kind": "department", "parent_code": "HN",
              "ranking_block": block},
        headers=admin_headers,
    )  # fmt: skip
    assert r.status_code in (200, 201), r.text
    await _run(client, admin_headers, {"period": "2026-03"})
    page = (
        await client.get("/results/rankings?period=2026-03&limit=1000", headers=admin_headers)
    ).json()
    assert set(page) >= {"items", "total", "limit", "offset"}
    empty = [i for i in page["items"] if i["code"] == "EMPTY"]
    assert empty == [empty[0]]
    assert empty[0]["ranked"] is False
    assert empty[0]["status"] == "chưa xếp hạng"
    assert empty[0]["rank"] is None
    assert empty[0]["reasons"] == ["no_task_basis"]
    assert empty[0]["reason_labels"]
    for item in page["items"]:
        for k in ("u", "u1", "u2", "u3", "u4", "u5"):
            v = item[k]
            assert v is None or round(v, 2) == v
        for k in ("rank", "rank_low", "rank_high"):
            assert item[k] is None or isinstance(item[k], int)
    members = (
        await client.get(
            "/results/units/SNV/members?period=2026-03&subtree=true&limit=1000",
            headers=admin_headers,
        )
    ).json()
    for m in members["items"]:
        assert isinstance(m["reasons"], list)
        assert len(m["reason_labels"]) == len(m["reasons"])
        assert m["score"] is None or round(m["score"], 2) == m["score"]
    cadre = members["items"][0]["code"]
    body = (
        await client.get(f"/results/cadres/{cadre}?period=2026-03", headers=admin_headers)
    ).json()
    month = body["months"][0]
    if month["score"] is not None:
        points = [c["points"] for c in month["components"]]
        assert all(round(p, 2) == p for p in points)
        assert abs(sum(points) - month["score"]) < 1e-6
