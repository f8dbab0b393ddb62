"""Recomputation and results over HTTP: 202 + progress, one job per scope, /health stays
responsive during scoring, reading, CSV export, comparisons, what-if validation."""

from __future__ import annotations

import asyncio
import csv
import io
import time
from typing import Any

import asyncpg
import pytest
from litestar.testing import AsyncTestClient

from evalsvc.democity.city import load_demo
from evalsvc.domain.access import Role
from evalsvc.jobs import recompute as recompute_module
from evalsvc.store import jobs as job_store
from tests.conftest import make_key

Client = AsyncTestClient  # type: ignore[type-arg]


async def _wait(client: Any, headers: dict[str, str], job_id: int) -> dict[str, Any]:
    for _ in range(400):
        body: dict[str, Any] = (
            await client.get(f"/recomputations/{job_id}", headers=headers)
        ).json()
        if body["state"] in ("succeeded", "failed"):
            return body
        await asyncio.sleep(0.05)
    raise AssertionError("recomputation did not finish")


async def test_recompute_then_read(
    client: Any, conn: asyncpg.Connection, admin_headers: dict[str, str]
) -> None:
    await load_demo(conn)
    r = await client.post("/recomputations", json={"period": "2026-03"}, headers=admin_headers)
    assert r.status_code == 202, r.text
    job = await _wait(client, admin_headers, r.json()["id"])
    assert job["state"] == "succeeded", job["error"]
    assert job["percent"] == 100
    assert job["run_id"] > 0
    assert {"read", "score", "write", "publish", "total"} <= set(job["timings"])

    cadre = await conn.fetchval("select code from cadres order by id limit 1")
    r = await client.get(f"/results/cadres/{cadre}?period=2026-03", headers=admin_headers)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["run"]["id"] == job["run_id"]
    assert body["run"]["profile"]["name"] == "nd335"
    assert [m["period"] for m in body["months"]] == ["2026-03"]

    r = await client.get(
        "/results/units/SNV/members?period=2026-03&subtree=true&limit=5", headers=admin_headers
    )
    assert r.status_code == 200, r.text
    page = r.json()
    assert page["total"] == await conn.fetchval(
        "select count(*) from cadres c join units u on u.id = c.unit_id "
        "where u.code = 'SNV' or u.code like 'SNV-%'"
    )
    assert len(page["items"]) == 5

    r = await client.get(
        "/results/units/SNV/members?period=2026-03&subtree=true&format=csv", headers=admin_headers
    )
    assert r.headers["content-type"] == "text/csv; charset=utf-8"
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert len(rows) == page["total"]
    assert {"code", "full_name", "level", "level_label", "reasons"} <= set(rows[0])

    r = await client.get(
        "/results/rankings?period=2026-03",
        headers={**admin_headers, "Accept": "text/csv"},
    )
    assert r.status_code == 200
    assert r.text.splitlines()[0].startswith("block,rank,code")


async def test_bad_requests_name_the_field(
    client: Any, conn: asyncpg.Connection, admin_headers: dict[str, str]
) -> None:
    await load_demo(conn)
    r = await client.post("/recomputations", json={"period": "2026-13"}, headers=admin_headers)
    assert r.status_code == 400
    r = await client.post(
        "/recomputations", json={"period": "2026", "profile": "nope"}, headers=admin_headers
    )
    assert r.status_code == 422
    assert r.json()["extra"][0]["field"] == "profile"
    r = await client.post(
        "/recomputations", json={"period": "2026", "unit_code": "NOPE"}, headers=admin_headers
    )
    assert r.status_code == 404
    r = await client.post(
        "/recomputations", json={"period": "2026", "colour": "red"}, headers=admin_headers
    )
    assert r.status_code == 400
    r = await client.get("/results/rankings?period=2025", headers=admin_headers)
    assert r.status_code == 404
    r = await client.post(
        "/what-if",
        json={"period": "2026", "changes": {"quota_ratio": 7}},
        headers=admin_headers,
    )
    assert r.status_code == 422
    assert r.json()["extra"][0]["field"].startswith("changes.quota_ratio")


async def test_scoped_keys(client: Any, conn: asyncpg.Connection) -> None:
    await load_demo(conn)
    personnel = await make_key(conn, Role.PERSONNEL, "SNV")
    r = await client.post("/recomputations", json={"period": "2026-03"}, headers=personnel)
    assert r.status_code == 403
    r = await client.post(
        "/recomputations", json={"period": "2026-03", "unit_code": "STC"}, headers=personnel
    )
    assert r.status_code == 404  # as for a unit that does not exist
    assert "no unit with code 'STC'" in r.text
    hr = await make_key(conn, Role.HR_SYSTEM, "SNV")
    r = await client.post("/recomputations", json={"period": "2026-03"}, headers=hr)
    assert r.status_code == 403


async def test_second_request_returns_the_running_job(
    client: Any, conn: asyncpg.Connection, admin_headers: dict[str, str]
) -> None:
    await load_demo(conn)
    job, created = await job_store.request_job(
        conn, period="2026-04", scope_unit_id=None,
        profile={"name": "nd335", "version": "x"}, requested_by=0,
    )  # fmt: skip
    assert created
    # This connection plays the worker: it holds the worker lock and marks the job running.
    await job_store.start_job(conn, job.id)
    r = await client.post("/recomputations", json={"period": "2026-04"}, headers=admin_headers)
    assert r.status_code == 200
    assert r.json()["id"] == job.id
    assert r.json()["state"] == "running"
    # The worker dies (lock released, row still "running"): the next request replaces it.
    await job_store.release(conn, "2026-04", None)
    r = await client.post("/recomputations", json={"period": "2026-04"}, headers=admin_headers)
    assert r.status_code == 202
    assert r.json()["id"] != job.id
    old = (await client.get(f"/recomputations/{job.id}", headers=admin_headers)).json()
    assert old["state"] == "failed"
    await _wait(client, admin_headers, r.json()["id"])


async def test_health_answers_while_scoring(
    client: Any,
    conn: asyncpg.Connection,
    admin_headers: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await load_demo(conn)
    real = recompute_module.compute

    def slow_compute(*args: Any, **kwargs: Any) -> Any:
        time.sleep(1.5)  # CPU-bound stand-in: blocks whatever thread runs it
        return real(*args, **kwargs)

    monkeypatch.setattr(recompute_module, "compute", slow_compute)
    r = await client.post("/recomputations", json={"period": "2026-02"}, headers=admin_headers)
    job_id = r.json()["id"]
    for _ in range(100):
        state = (await client.get(f"/recomputations/{job_id}", headers=admin_headers)).json()
        if state["stage"] == "scoring":
            break
        await asyncio.sleep(0.02)
    assert state["stage"] == "scoring"
    assert 0 < state["percent"] < 100
    t0 = time.perf_counter()
    health = await client.get("/health")
    assert health.status_code == 200
    assert time.perf_counter() - t0 < 0.5
    still = (await client.get(f"/recomputations/{job_id}", headers=admin_headers)).json()
    assert still["state"] == "running"
    assert (await _wait(client, admin_headers, job_id))["state"] == "succeeded"


async def test_compare_runs_and_list_them(
    client: Any, conn: asyncpg.Connection, admin_headers: dict[str, str]
) -> None:
    await load_demo(conn)
    ids = []
    for _ in range(2):
        r = await client.post("/recomputations", json={"period": "2026-03"}, headers=admin_headers)
        ids.append((await _wait(client, admin_headers, r.json()["id"]))["run_id"])
    r = await client.get("/results/runs?period=2026-03", headers=admin_headers)
    assert [x["id"] for x in r.json()["items"]] == ids[::-1]
    assert r.json()["items"][0]["published"] is True
    assert r.json()["items"][1]["published"] is False
    r = await client.get("/results/compare?period=2026-03&what=cadres", headers=admin_headers)
    assert r.status_code == 200, r.text
    assert (r.json()["a"], r.json()["b"]) == (ids[0], ids[1])
    assert r.json()["total"] == 0  # same inputs, same results
    # The earlier run stays readable by id (appeals).
    cadre = await conn.fetchval("select code from cadres order by id limit 1")
    r = await client.get(f"/results/cadres/{cadre}?run={ids[0]}", headers=admin_headers)
    assert r.json()["run"]["id"] == ids[0]
