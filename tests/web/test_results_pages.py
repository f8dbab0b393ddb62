"""Rankings, unit and cadre pages over the demo city: what a person reads there, and who may."""

from __future__ import annotations

import re

import asyncpg
import pytest

from evalsvc.domain.access import Role
from evalsvc.web.pages import results as result_pages_module
from tests.conftest import make_key
from tests.web.demo_city import demo_client, demo_conn, demo_dsn, demo_template
from tests.web.helpers import Client, form_post, login, make_user

__all__ = ["demo_client", "demo_conn", "demo_dsn", "demo_template"]


async def test_rankings_page_shows_blocks_with_2_decimals(
    demo_client: Client, demo_conn: asyncpg.Connection
) -> None:
    await make_user(demo_conn, "quantri", Role.ADMIN)
    await login(demo_client, "quantri")
    page = await demo_client.get("/rankings?period=2026")
    assert page.status_code == 200, page.text
    html = page.text
    assert "Khối Sở" in html
    assert "Khối xã, phường" in html
    assert "Sở Nội vụ" in html
    scores = re.findall(r'<td class="num">(\d+,\d+)</td>', html)
    assert scores
    assert all(len(s.split(",")[1]) == 2 for s in scores)
    assert "<svg" in html


async def test_unit_and_cadre_pages(demo_client: Client, demo_conn: asyncpg.Connection) -> None:
    await make_user(demo_conn, "quantri", Role.ADMIN)
    await login(demo_client, "quantri")
    unit = await demo_client.get("/unit/SNV?period=2026")
    assert unit.status_code == 200, unit.text
    assert "U1" in unit.text
    assert "Sở Nội vụ" in unit.text
    cadre = await demo_client.get("/cadre/SNV-VP-003?period=2026")
    assert cadre.status_code == 200, cadre.text
    assert "Xếp loại năm 2026" in cadre.text or "2026" in cadre.text


def _numbers(html: str, testid: str) -> list[float]:
    table = html.split(f'data-testid="{testid}"', 1)[1].split("</table>", 1)[0]
    return [float(x.replace(",", ".")) for x in re.findall(r'class="num">(-?\d+,\d\d)<', table)]


async def test_unit_breakdown_and_cadre_periods_add_up(
    demo_client: Client, demo_conn: asyncpg.Connection
) -> None:
    await make_user(demo_conn, "kiemtoan", Role.AUDITOR)
    await login(demo_client, "kiemtoan")
    html = (await demo_client.get("/unit/P-BODE?period=2026")).text
    *parts, total = _numbers(html, "u-breakdown")
    assert len(parts) >= 5
    assert abs(sum(parts) - total) < 0.011
    counts = re.findall(r"</span> <strong>(\d+)</strong>", html.split("level-counts", 1)[1])
    members = html.split('data-testid="members-table"', 1)[1].split("</table>", 1)[0]
    assert sum(map(int, counts)) == members.count('<tr><td class="num">')

    cadre = (await demo_client.get("/cadre/P-BODE-CM-004?period=2026")).text
    periods = cadre.split('<details class="period"')[1:]
    # The demo rates its year over the months that are over (11 on 2026-12-01).
    months = await demo_conn.fetchval(
        "select r.months from result_published p join result_runs r on r.id = p.run_id"
        " where p.period = '2026'"
    )
    assert len(periods) == months
    scored = [p for p in periods if "breakdown" in p]
    assert len(scored) >= 6
    for block in scored:
        cells = [
            float(x.replace(",", ".")) for x in re.findall(r'class="num">(-?\d+,\d\d)<', block)
        ]
        *points, score = cells
        assert abs(sum(points) - score) < 0.011 * len(points)
    assert 'data-testid="next-level"' in cadre or "Hoàn thành xuất sắc nhiệm vụ" in cadre


async def test_recompute_form_checks_and_scope(
    demo_client: Client, demo_conn: asyncpg.Connection
) -> None:
    await make_user(demo_conn, "lan", Role.PERSONNEL, "P-BODE")
    await login(demo_client, "lan")
    page = await demo_client.get("/recompute")
    assert page.status_code == 200
    assert "— toàn thành phố —" not in page.text  # a scoped officer picks a unit of its own
    bad = await form_post(demo_client, "/recompute", {"period": "2026-13"}, page=page.text)
    assert bad.status_code == 422
    assert "Nhập một năm (2026) hoặc một tháng (2026-05)." in bad.text
    outside = await form_post(
        demo_client, "/recompute", {"period": "2026-03", "unit_code": "SNV"}, page=page.text
    )
    assert outside.status_code == 422
    assert await demo_conn.fetchval("select count(*) from recompute_jobs") == 1
    ok = await form_post(
        demo_client, "/recompute", {"period": "2026-03", "unit_code": "P-BODE"}, page=page.text
    )
    assert ok.status_code == 303
    job = ok.headers["location"].rsplit("/", 1)[1]
    status = (await demo_client.get(f"/recompute/jobs/{job}/status")).json()
    assert status["state"] in ("queued", "running", "succeeded")
    refused = await demo_client.get("/unit/SNV?period=2026")
    assert refused.status_code == 403
    assert "Ngoài phạm vi đơn vị bạn quản lý" in refused.text


async def test_root_unit_page_pages_through_the_city_in_name_order(
    demo_client: Client, demo_conn: asyncpg.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The city's unit page lists one page of members (here 40 a page), in the API's order;
    the counts by level cover every member of the city."""
    monkeypatch.setattr(result_pages_module, "MEMBERS_SHOWN", 40)
    await make_user(demo_conn, "quantri", Role.ADMIN)
    await login(demo_client, "quantri")
    root = await demo_conn.fetchval("select code from units where parent_id is null")
    headers = await make_key(demo_conn, Role.ADMIN)
    api = await demo_client.get(
        f"/results/units/{root}/members?period=2026&subtree=true&limit=1000", headers=headers
    )
    everyone = api.json()
    assert everyone["total"] > 80

    def names(html: str) -> list[str]:
        table = html.split('data-testid="members-table"', 1)[1].split("</table>", 1)[0]
        return re.findall(r'<a href="/cadre/[^"]+">([^<]+)</a>', table)

    first = (await demo_client.get(f"/unit/{root}?period=2026")).text
    second = (await demo_client.get(f"/unit/{root}?period=2026&offset=40")).text
    assert names(first) + names(second) == [m["full_name"] for m in everyone["items"][:80]]
    counts = re.findall(r"</span> <strong>(\d+)</strong>", first.split("level-counts", 1)[1])
    assert sum(map(int, counts)) == everyone["total"]
    assert "offset=80" in second  # the next page
    past = (await demo_client.get(f"/unit/{root}?period=2026&offset=999999")).text
    assert names(past) == []
    # A small unit's page is read by unit and sorted: the same order as the API's.
    small = await demo_client.get(
        "/results/units/SNV/members?period=2026&subtree=true&limit=40", headers=headers
    )
    snv = (await demo_client.get("/unit/SNV?period=2026")).text
    assert names(snv) == [m["full_name"] for m in small.json()["items"]]
