"""The result views read with plain SQL (no evalsvc code), checked against the API; the
organisation a run used; the read-only role for BI tools."""

from __future__ import annotations

import asyncio
import math
import uuid
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

from evalsvc.democity.city import load_demo
from evalsvc.keyring import ballot_keys
from evalsvc.settings import Settings
from evalsvc.store.readers import grant_reader

MONTH_VIEW_COLUMNS = {
    "period", "run_id", "profile_name", "profile_version", "variant", "variant_digest",
    "cadre_code", "full_name", "unit_code", "unit_name", "agency_code", "peer_group",
    "position", "score", "level_code", "level_label", "reasons", "a", "b", "c", "d", "đ",
    "e", "kq", "t", "g", "deductions",
}  # fmt: skip
UNIT_VIEW_COLUMNS = {
    "period", "run_id", "unit_code", "unit_name", "ranking_block", "score", "level_code",
    "level_label", "rank", "rank_low", "rank_high", "previous_rank", "movement",
}  # fmt: skip


async def _recompute(client: Any, headers: dict[str, str], period: str) -> dict[str, Any]:
    r = await client.post("/recomputations", json={"period": period}, headers=headers)
    assert r.status_code in (200, 202), r.text
    for _ in range(600):
        job: dict[str, Any] = (
            await client.get(f"/recomputations/{r.json()['id']}", headers=headers)
        ).json()
        if job["state"] in ("succeeded", "failed"):
            assert job["state"] == "succeeded", job["error"]
            return job
        await asyncio.sleep(0.05)
    raise AssertionError("recomputation did not finish")


def _close(a: float | None, b: float | None, decimals: int = 2) -> bool:
    """The view's full precision against the API's people-facing rounding (points to 2
    decimals, ratios to 4)."""
    if a is None or b is None:
        return a is b
    return math.isclose(a, b, rel_tol=0, abs_tol=0.51 * 10**-decimals)


async def test_every_view_matches_the_api(
    client: Any, conn: asyncpg.Connection, admin_headers: dict[str, str], settings: Settings
) -> None:
    await load_demo(conn, ballot_keys(settings))  # a year of activity; publishes 2026
    year = await _recompute(client, admin_headers, "2026")
    may = await _recompute(client, admin_headers, "2026-05")
    cadres = await conn.fetchval("select count(*) from cadres")

    # ratings_year: one row per cadre of the published year run.
    rows = await conn.fetch("select * from ratings_year where period = '2026'")
    assert len(rows) == cadres
    assert {r["run_id"] for r in rows} == {year["run_id"]}
    sample = [r for r in rows if r["score"] is not None][:3] + [r for r in rows if r["reasons"]][:3]
    assert len(sample) >= 4
    for row in sample:
        api = (
            await client.get(f"/results/cadres/{row['cadre_code']}?period=2026",
                             headers=admin_headers)
        ).json()  # fmt: skip
        annual = api["annual"]
        assert row["full_name"] == api["cadre"]["full_name"]
        assert row["unit_code"] == api["cadre"]["unit_code"]
        assert _close(row["score"], annual["score"])
        assert row["level_code"] == annual["level"]["code"]
        assert row["level_label"] == annual["level"]["label"]
        assert list(row["reasons"]) == annual["reasons"]
        assert row["months_worked"] == annual["months_worked"]
        assert row["profile_name"] == "nd335"
        # ratings_month of the year's months: March from the year run's month runs.
        march = await conn.fetchrow(
            "select * from ratings_month where period = '2026-03' and cadre_code = $1",
            row["cadre_code"],
        )
        api_march = next(m for m in api["months"] if m["period"] == "2026-03")
        assert _close(march["score"], api_march["score"])
        assert march["level_code"] == api_march["level"]["code"]
        assert list(march["reasons"]) == api_march["reasons"]
        for key in ("a", "b", "c", "kq"):
            assert _close(march[key], api_march["task"][key], 4), key
        assert _close(march["t"], api_march["task"]["t"])
        assert _close(march["g"], api_march["general"]["g"])
        assert _close(march["deductions"], api_march["general"]["deduction"])

    # ratings_month of May: the month run published after the year.
    month_rows = await conn.fetch("select * from ratings_month where period = '2026-05'")
    assert len(month_rows) == cadres
    assert {r["run_id"] for r in month_rows} == {may["run_id"]}
    assert set(month_rows[0].keys()) >= MONTH_VIEW_COLUMNS
    code = month_rows[0]["cadre_code"]
    api = (await client.get(f"/results/cadres/{code}?period=2026-05", headers=admin_headers)).json()
    assert _close(month_rows[0]["score"], api["months"][0]["score"])

    # The agency of each period row is the organisation's (scoring.inputs.agency_units,
    # none -> own unit): under nd335's quota scope, the one the year's quota used.
    mismatched = await conn.fetchval(
        "select count(*) from ratings_month m join ratings_year y using (cadre_code)"
        " where m.period = '2026-05' and y.period = '2026'"
        " and (m.agency_code is null or m.agency_code is distinct from y.agency_code)"
    )
    assert mismatched == 0
    assert await conn.fetchval(
        "select count(distinct agency_code) from ratings_month where period = '2026-05'"
    ) < await conn.fetchval(
        "select count(distinct unit_code) from ratings_month where period = '2026-05'"
    )

    # unit_results: the annual ranking, rank by rank, as GET /results/rankings lists it.
    ranked = await conn.fetch(
        "select * from unit_results where period = '2026' and rank is not null"
        " order by ranking_block, rank, unit_code"
    )
    api_rank = (
        await client.get("/results/rankings?period=2026&limit=1000", headers=admin_headers)
    ).json()["items"]
    assert len(ranked) == len(api_rank) > 0
    assert set(ranked[0].keys()) >= UNIT_VIEW_COLUMNS
    for row, item in zip(ranked, api_rank, strict=True):
        assert (row["unit_code"], row["rank"]) == (item["code"], item["rank"])
        assert _close(row["score"], item["u"])
        assert row["level_code"] == item["level"]
        assert _close(row["rank_low"], item["rank_low"])
        assert _close(row["rank_high"], item["rank_high"])
    may_units = await conn.fetch(
        "select unit_code, rank, score from unit_results where period = '2026-05'"
        " and rank is not null order by ranking_block, rank, unit_code"
    )
    api_may = (
        await client.get("/results/rankings?period=2026-05&limit=1000", headers=admin_headers)
    ).json()["items"]
    assert [(r["unit_code"], r["rank"]) for r in may_units] == [
        (i["code"], i["rank"]) for i in api_may
    ]

    # *_by_run: any run by id; the year run holds its twelve months.
    periods = await conn.fetch(
        "select period, count(*) from ratings_month_by_run where run_id = $1 group by period"
        " order by period",
        year["run_id"],
    )
    assert [r["period"] for r in periods] == [f"2026-{m:02d}" for m in range(1, 13)]
    assert {r["count"] for r in periods} == {cadres}
    assert (
        await conn.fetchval(
            "select count(*) from ratings_year_by_run where run_id = $1", year["run_id"]
        )
        == cadres
    )
    assert await conn.fetchval(
        "select count(*) from unit_results_by_run where run_id = $1 and period = '2026'",
        year["run_id"],
    ) == await conn.fetchval("select count(*) from units")


async def test_an_old_run_shows_the_organisation_it_used(
    client: Any, conn: asyncpg.Connection, admin_headers: dict[str, str]
) -> None:
    await load_demo(conn)
    first = await _recompute(client, admin_headers, "2026-05")
    cadre = await conn.fetchrow(
        "select c.id, c.code, c.full_name, c.position, u.code as unit_code, u.name as unit_name"
        " from cadres c join units u on u.id = c.unit_id where c.position = 'head'"
        " order by c.id limit 1"
    )
    await conn.execute(
        "update cadres set full_name = 'Tên Mới', position = 'staff' where id = $1", cadre["id"]
    )
    second = await _recompute(client, admin_headers, "2026-05")

    async def name_in(run_id: int) -> str:
        name: str = await conn.fetchval(
            "select full_name from ratings_month_by_run where run_id = $1 and cadre_code = $2",
            run_id,
            cadre["code"],
        )
        return name

    assert await name_in(first["run_id"]) == cadre["full_name"]  # as the run saw it
    assert await name_in(second["run_id"]) == "Tên Mới"
    for run, name in ((first["run_id"], cadre["full_name"]), (second["run_id"], "Tên Mới")):
        members = (
            await client.get(
                f"/results/units/{cadre['unit_code']}/members?run={run}&limit=1000",
                headers=admin_headers,
            )
        ).json()["items"]
        assert {m["full_name"] for m in members if m["code"] == cadre["code"]} == {name}
    # A cadre's explained rating names the cadre as the run saw it (an appeal), not today.
    for run, name, position in (
        (first["run_id"], cadre["full_name"], "head"),
        (second["run_id"], "Tên Mới", "staff"),
    ):
        r = await client.get(f"/results/cadres/{cadre['code']}?run={run}", headers=admin_headers)
        assert r.status_code == 200, r.text
        seen = r.json()["cadre"]
        assert (seen["full_name"], seen["position"]) == (name, position)
        assert (seen["unit_code"], seen["unit_name"]) == (cadre["unit_code"], cadre["unit_name"])


def _as_user(dsn: str, user: str) -> str:
    parts = urlsplit(dsn)
    host = parts.netloc.rsplit("@", 1)[-1]
    return urlunsplit(parts._replace(netloc=f"{user}:secret@{host}"))


async def test_the_reader_role_sees_the_views_and_nothing_else(
    client: Any, conn: asyncpg.Connection, admin_headers: dict[str, str], db_dsn: str
) -> None:
    await load_demo(conn)
    await _recompute(client, admin_headers, "2026-05")
    name = f"bi_{uuid.uuid4().hex[:8]}"
    assert await grant_reader(conn, name, "secret")
    try:
        reader = await asyncpg.connect(_as_user(db_dsn, name))
        try:
            for view in ("ratings_month", "unit_results", "ratings_month_by_run"):
                assert await reader.fetchval(f"select count(*) from {view}") > 0
            assert await reader.fetchval("select count(*) from ratings_year") == 0
            for table in ("ballots", "ballot_ledger", "api_keys", "cadres",
                          "cadre_period_results", "task_records"):  # fmt: skip
                with pytest.raises(asyncpg.InsufficientPrivilegeError):
                    await reader.fetch(f"select * from {table} limit 1")
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await reader.execute("delete from result_published")
        finally:
            await reader.close()
        assert not await grant_reader(conn, name, "other")  # again: updated, not duplicated
    finally:
        await conn.execute(f"drop owned by {name}")
        await conn.execute(f"drop role {name}")
