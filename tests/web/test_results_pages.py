"""Rankings, unit and cadre pages over the demo city: what a person reads there, and who may."""

from __future__ import annotations

import re

import asyncpg

from evalsvc.domain.access import Role
from tests.web.demo_city import demo_client, demo_conn, demo_dsn, demo_template
from tests.web.helpers import Client, login, make_user

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
