"""Results pages of a year rated by quarters (qd366) and of a variant with other level cut
points: the filters offer quarters, pages and downloads read them, charts follow the run's
profile (its periods, its thresholds), and a period that does not fit gets a clear 422."""

from __future__ import annotations

import csv
import io
import re

import asyncpg
import openpyxl

from evalsvc.domain.access import SYSTEM, Role
from evalsvc.domain.recompute import RecomputeRequest
from evalsvc.jobs.recompute import recompute
from tests.conftest import make_key
from tests.web.demo_city import demo_client, demo_conn, demo_dsn, demo_template
from tests.web.helpers import Client, login, make_user

__all__ = ["demo_client", "demo_conn", "demo_dsn", "demo_template"]


async def _quarterly_year(conn: asyncpg.Connection) -> int:
    job = await recompute(conn, RecomputeRequest(period="2026", profile="qd366"), SYSTEM)
    assert job.state == "succeeded"
    assert job.run_id is not None
    return job.run_id


def _options(html: str) -> list[str]:
    select = html.split('id="f-period"', 1)[1].split("</select>", 1)[0]
    return re.findall(r'<option value="([^"]+)"', select)


def _ticks(svg: str) -> list[str]:
    return re.findall(r'font-size="11" text-anchor="middle" fill="#1d2430">([^<]+)<', svg)


async def test_quarterly_year_pages_offer_and_read_quarters(
    demo_client: Client, demo_conn: asyncpg.Connection
) -> None:
    run_id = await _quarterly_year(demo_conn)
    await make_user(demo_conn, "quantri", Role.ADMIN)
    await login(demo_client, "quantri")
    page = await demo_client.get("/rankings")
    assert page.status_code == 200, page.text
    offered = _options(page.text)
    assert offered[0] == "2026"
    assert {"2026-Q1", "2026-Q2", "2026-Q3"} <= set(offered)
    assert not [p for p in offered if re.fullmatch(r"\d{4}-\d\d", p)]  # no months

    q2 = await demo_client.get("/rankings?period=2026-Q2")
    assert q2.status_code == 200, q2.text
    assert "Quý 2/2026" in q2.text
    first = await demo_conn.fetchrow(
        "select u.code, r.rank from result_units r join units u on u.id = r.unit_id"
        " where r.run_id = $1 and not r.annual and r.month = '2026-04-01' and r.rank = 1"
        " order by u.code limit 1",
        run_id,
    )
    row = q2.text.split(f"/unit/{first['code']}?period=2026-Q2", 1)[0].rsplit("<tr>", 1)[1]
    assert '<td class="num rank">1</td>' in row

    month = await demo_client.get("/rankings?period=2026-04")
    assert month.status_code == 422
    assert "theo quý" in month.text
    assert "2026-Q2" in month.text

    unit = await demo_client.get("/unit/SNV?period=2026-Q2")
    assert unit.status_code == 200, unit.text
    members = unit.text.split('data-testid="members-table"', 1)[1].split("</table>", 1)[0]
    shown = members.count('<tr><td class="num">')
    counts = re.findall(r"</span> <strong>(\d+)</strong>", unit.text.split("level-counts", 1)[1])
    assert shown > 0
    assert sum(map(int, counts)) == shown
    assert "Quý 2/2026" in unit.text
    assert "period=2026-Q2" in unit.text.split('class="actions downloads"', 1)[1]

    year = (await demo_client.get("/unit/SNV?period=2026")).text
    chart = year.split('<svg class="chart"', 2)[2].split("</svg>", 1)[0]  # after U1-U5's
    assert _ticks(chart) == ["Q1", "Q2", "Q3", "Q4"]
    assert "Điểm U theo quý" in year
    assert "<th>Quý</th>" in year

    code = await demo_conn.fetchval(
        "select code from cadres where unit_id = (select id from units where code = 'SNV-VP')"
        " order by code limit 1"
    )
    cadre = await demo_client.get(f"/cadre/{code}?period=2026-Q2")
    assert cadre.status_code == 200, cadre.text
    assert "2026-Q2" in _options(cadre.text)
    chosen = cadre.text.split('data-testid="chosen-period"', 1)[1].split("</details>", 1)[0]
    assert "Quý 2/2026" in chosen
    svg = cadre.text.split('<svg class="chart"', 1)[1].split("</svg>", 1)[0]
    assert _ticks(svg)[:4] == ["Q1", "Q2", "Q3", "Q4"]
    assert 'class="chosen"' in svg


async def test_quarterly_downloads_and_a_monthly_year_refuses_quarters(
    demo_client: Client, demo_conn: asyncpg.Connection
) -> None:
    await make_user(demo_conn, "quantri", Role.ADMIN)
    await login(demo_client, "quantri")
    monthly = await demo_client.get("/rankings?period=2026-Q2")
    assert monthly.status_code == 422
    assert "theo tháng" in monthly.text
    assert "2026-04" in monthly.text
    refused = await demo_client.get("/unit/SNV/download?format=xlsx&period=2026-Q2")
    assert refused.status_code == 422

    await _quarterly_year(demo_conn)
    headers = await make_key(demo_conn, Role.ADMIN)
    xlsx = await demo_client.get("/rankings/download?format=xlsx&period=2026-Q2")
    assert xlsx.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx.content)).active
    facts = [str(sheet.cell(r, c).value) for r in range(1, 10) for c in range(1, 6)]
    assert "Quý 2/2026" in " ".join(facts)

    body = await demo_client.get("/unit/SNV/download?format=csv&period=2026-Q2")
    assert body.status_code == 200
    rows = list(csv.reader(io.StringIO(body.content.decode("utf-8-sig"))))
    api = await demo_client.get(
        "/results/units/SNV/members?period=2026-Q2&subtree=true&limit=1000", headers=headers
    )
    items = api.json()["items"]
    assert len(rows) - 1 == len(items) > 0
    assert [r[1] for r in rows[1:]] == [i["full_name"] for i in items]
    assert (await demo_client.get("/unit/SNV/download?format=csv&period=2026-04")).status_code == (
        422
    )


async def test_chart_bands_follow_the_runs_thresholds(
    demo_client: Client, demo_conn: asyncpg.Connection
) -> None:
    """A published variant with other cut points: the bands and the next-level hint use
    them, not the profile's name (nd335 is 50 / 70 / 90)."""
    job = await recompute(
        demo_conn,
        RecomputeRequest(period="2026", changes={"level_cuts": [45.0, 65.0, 85.0]}, publish=True),
        SYSTEM,
    )
    assert job.state == "succeeded", job.error
    await make_user(demo_conn, "quantri", Role.ADMIN)
    await login(demo_client, "quantri")
    code = await demo_conn.fetchval(
        "select c.code from cadre_year_results y join cadres c on c.id = y.cadre_id"
        " where y.run_id = $1 and y.level = 1 order by c.code limit 1",
        job.run_id,
    )
    html = (await demo_client.get(f"/cadre/{code}?period=2026")).text
    svg = html.split('<svg class="chart"', 1)[1].split("</svg>", 1)[0]
    axis = re.findall(r'text-anchor="end" fill="#5a6472">([\d.]+)</text>', svg)
    assert axis == ["0", "45", "65", "85", "100"]
    hint = html.split('data-testid="next-level"', 1)[1].split("</ul>", 1)[0]
    assert "(đến 65,00)" in hint or "65,00" in hint
