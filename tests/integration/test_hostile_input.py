"""Hostile input gets a 4xx naming the field, never a 5xx; logs stay one event per line."""

from __future__ import annotations

import json
import logging

import asyncpg
import pytest
from litestar.testing import AsyncTestClient

from evalsvc.domain.access import Role
from evalsvc.logs import JsonFormatter, request_id
from tests.conftest import make_key
from tests.integration.tasks_helpers import make_city

Client = AsyncTestClient  # type: ignore[type-arg]
BIG = "9223372036854775808"  # int8's largest value + 1


def fields(response: object) -> list[str]:
    return [p["field"] for p in response.json()["extra"]]  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        (f"/ballot-rounds/{BIG}", {}, "round_id"),
        (f"/ballot-rounds/-{BIG}0", {}, "round_id"),
        (f"/recomputations/{BIG}", {}, "job_id"),
        ("/units", {"offset": BIG}, "offset"),
        ("/cadres", {"limit": "1", "offset": BIG + "000"}, "offset"),
        ("/cadres", {"q": "a\x00b"}, "q"),
        ("/discipline", {"offset": "¹"}, "offset"),  # found by schemathesis (was a 500)
        ("/cadres", {"q": "x" * 5000}, "q"),
        ("/units/x%00%0AERROR%20FORGED%20LINE", {}, "code"),
        ("/audit", {"actor_label": "a\x1bb"}, "actor_label"),
    ],
)
async def test_bad_path_and_query_values_are_400_naming_the_field(
    client: Client,
    admin_headers: dict[str, str],
    path: str,
    params: dict[str, str],
    field: str,
) -> None:
    response = await client.get(path, params=params, headers=admin_headers)
    assert response.status_code == 400, response.text
    assert field in fields(response)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"code": "U1", "name": "a\u0000b", "kind": "department"}, "name"),
        ({"code": "U1", "name": "x" * 20_000, "kind": "department"}, "name"),
        (
            {"code": "U1", "name": "n", "kind": "department", "outstanding_years": [2**64]},
            "outstanding_years[0]",
        ),
    ],
)
async def test_bad_json_values_are_400_naming_the_field(
    client: Client,
    conn: asyncpg.Connection,
    admin_headers: dict[str, str],
    body: dict[str, object],
    field: str,
) -> None:
    response = await client.post("/units", json=body, headers=admin_headers)
    assert response.status_code == 400, response.text
    assert field in fields(response)
    assert await conn.fetchval("select count(*) from units") == 0


async def test_deep_json_is_400(client: Client, admin_headers: dict[str, str]) -> None:
    for depth in (40, 5000):
        body = "[" * depth + "]" * depth
        for path in ("/units", "/units/bulk", "/catalogs"):
            response = await client.post(
                path, content=body, headers=admin_headers | {"content-type": "application/json"}
            )
            assert response.status_code in (400, 422), (path, depth, response.text)
            assert "nested" in response.text


async def test_bulk_rows_with_bad_values_name_row_and_field(
    client: Client, conn: asyncpg.Connection, admin_headers: dict[str, str]
) -> None:
    await make_city(conn)
    rows = [
        {"cadre_code": "A1", "month": "2026-06", "politics": 9, "capacity": 8, "innovation": 7},
        {
            "cadre_code": "A\u0000",
            "month": "2026-06",
            "politics": 9,
            "capacity": 8,
            "innovation": 7,
        },
    ]
    response = await client.post("/assessments/bulk", json=rows, headers=admin_headers)
    assert response.status_code in (400, 422), response.text
    assert {"field": "cadre_code", "row": 2}.items() <= response.json()["extra"][0].items()
    csv = "code,full_name,personnel_type,position,unit_code\nZ1,Nul\x00l,cong_chuc,staff,DEP-A\n"
    response = await client.post(
        "/cadres/bulk", content=csv, headers=admin_headers | {"content-type": "text/csv"}
    )
    assert response.status_code in (400, 422), response.text
    assert response.json()["extra"][0]["row"] == 1
    assert await conn.fetchval("select count(*) from supervisor_assessments") == 0


async def test_a_scoped_writer_cannot_tell_other_subtrees_codes_from_unknown_ones(
    client: Client, conn: asyncpg.Connection
) -> None:
    await make_city(conn)
    scoped = await make_key(conn, Role.PERSONNEL, "DEP-A")

    def row(code: str) -> dict[str, object]:
        return {
            "cadre_code": code,
            "month": "2026-06",
            "politics": 9,
            "capacity": 8,
            "innovation": 7,
        }

    elsewhere = await client.post("/assessments/bulk", json=[row("B1")], headers=scoped)
    unknown = await client.post("/assessments/bulk", json=[row("ZZ")], headers=scoped)
    assert elsewhere.status_code == unknown.status_code == 422
    assert elsewhere.json()["extra"] == [
        {"field": "cadre_code", "reason": "no cadre with code 'B1'", "row": 1}
    ]


def test_log_lines_cannot_be_forged() -> None:
    record = logging.makeLogRecord(
        {
            "name": "t",
            "levelname": "ERROR",
            "msg": "path %s",
            "args": ("/units/x\x00\nERROR 2026 FORGED LINE\u2028again",),
        }
    )
    token = request_id.set("abc")
    try:
        line = JsonFormatter().format(record)
    finally:
        request_id.reset(token)
    assert len(line.splitlines()) == 1
    event = json.loads(line)
    assert event["event"].endswith("FORGED LINE\u2028again")
    assert event["request_id"] == "abc"
    assert event["level"] == "error"


async def test_security_headers_and_cors_is_off(
    client: Client, admin_headers: dict[str, str]
) -> None:
    response = await client.get("/units", headers=admin_headers)
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert response.headers["x-request-id"]
    preflight = await client.options(
        "/units",
        headers={"origin": "https://elsewhere.example", "access-control-request-method": "GET"},
    )
    assert "access-control-allow-origin" not in preflight.headers


async def test_scoped_keys_see_only_their_subtrees_jobs(
    client: Client, conn: asyncpg.Connection
) -> None:
    await make_city(conn)
    ids = {r["code"]: r["id"] for r in await conn.fetch("select code, id from units")}
    job_ids = [
        await conn.fetchval(
            "insert into recompute_jobs (period, scope_unit_id, profile_name, profile_version,"
            " profile, state) values ('2026-05', $1, 'nd335', '1', '{}', 'failed') returning id",
            unit,
        )
        for unit in (ids["DEP-A"], ids["DEP-B"], None)
    ]
    scoped = await make_key(conn, Role.PERSONNEL, "DEP-A")
    listed = await client.get("/recomputations", headers=scoped)
    assert [j["id"] for j in listed.json()["items"]] == [job_ids[0]]
    assert (await client.get(f"/recomputations/{job_ids[0]}", headers=scoped)).status_code == 200
    other = await client.get(f"/recomputations/{job_ids[1]}", headers=scoped)
    unknown = await client.get("/recomputations/999999", headers=scoped)
    assert other.status_code == unknown.status_code == 404
    assert other.json()["extra"] == unknown.json()["extra"]


async def test_scoped_keys_see_only_their_subtrees_runs(
    client: Client, conn: asyncpg.Connection
) -> None:
    await make_city(conn)
    ids = {r["code"]: r["id"] for r in await conn.fetch("select code, id from units")}
    run_ids = [
        await conn.fetchval(
            "insert into result_runs (period, kind, first_month, months, scope_unit_id,"
            " profile_name, profile_version, profile, fingerprint, seed)"
            " values ('2026-05', 'month', '2026-05-01', 1, $1, 'nd335', '1', '{}', 'f', 1)"
            " returning id",
            unit,
        )
        for unit in (ids["DEP-A"], ids["DEP-B"], None)
    ]
    scoped = await make_key(conn, Role.HR_SYSTEM, "DEP-A")
    listed = await client.get("/results/runs", headers=scoped)
    assert [r["id"] for r in listed.json()["items"]] == [run_ids[0]]
    assert (await client.get(f"/results/runs/{run_ids[0]}", headers=scoped)).status_code == 200
    for other in run_ids[1:]:
        assert (await client.get(f"/results/runs/{other}", headers=scoped)).status_code == 404
    admin = await make_key(conn, Role.ADMIN)
    assert (await client.get("/results/runs", headers=admin)).json()["total"] == 3
