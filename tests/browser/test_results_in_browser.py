"""In headless Chromium: every role opens the rankings, a unit and a cadre; a scoped
officer is refused a cadre outside its subtree; an admin starts a recomputation and watches
its stage and percent change live until it finishes; the XLSX and PDF downloads hold what
the API says. Screenshots of every page go to tests/artifacts/<test name>/."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import openpyxl
from pypdf import PdfReader

from evalsvc.domain.access import SYSTEM, Role
from evalsvc.domain.recompute import RecomputeRequest
from evalsvc.jobs.recompute import recompute
from evalsvc.store.database import connect
from tests.browser.demo_server import demo_server, log_in
from tests.conftest import make_key
from tests.web.demo_city import demo_conn, demo_dsn, demo_template
from tests.web.helpers import PASSWORD, make_user

__all__ = ["demo_conn", "demo_dsn", "demo_server", "demo_template"]


async def screenshot(page: Any, folder: Path, name: str) -> None:
    await page.screenshot(path=str(folder / f"{name}.png"), full_page=True)


ROLES = [
    ("quantri", Role.ADMIN, None),
    ("lan.tccb", Role.PERSONNEL, "P-BODE"),
    ("kiemtoan", Role.AUDITOR, None),
    ("hethong", Role.HR_SYSTEM, "STC"),
]


async def test_every_role_reads_rankings_unit_and_cadre(
    demo_server: str, browser: Any, demo_conn: asyncpg.Connection, shots: Path
) -> None:
    for username, role, unit in ROLES:
        await make_user(demo_conn, username, role, unit)
    for username, role, unit in ROLES:
        context = await browser.new_context(viewport={"width": 1280, "height": 900})
        page = await context.new_page()
        await log_in(page, demo_server, username, PASSWORD)
        await page.goto(f"{demo_server}/rankings?period=2026")
        assert await page.locator("[data-testid=ranking-table]").count() == 2
        first_rank = await page.locator("[data-testid=ranking-table] td.rank").first.inner_text()
        assert first_rank.strip() == "1"
        await screenshot(page, shots, f"rankings-{role.value}")

        own = unit or "SNV"
        await page.goto(f"{demo_server}/unit/{own}?period=2026")
        assert page.url.endswith(f"/unit/{own}?period=2026")
        assert await page.locator("[data-testid=members-table] tbody tr").count() > 0
        assert await page.locator("[data-testid=u-breakdown]").count() == 1
        await screenshot(page, shots, f"unit-{own}-{role.value}")

        member = page.locator("[data-testid=members-table] tbody tr td a").first
        await member.click()
        await page.wait_for_load_state()
        assert "/cadre/" in page.url
        assert await page.locator("[data-testid=annual]").count() == 1
        assert await page.locator("svg.chart").count() == 1
        await screenshot(page, shots, f"cadre-{role.value}")

        if unit is not None:
            response = await page.goto(f"{demo_server}/cadre/SNV-VP-003?period=2026")
            assert response is not None
            assert response.status == 403
            assert "Ngoài phạm vi đơn vị" in await page.content()
            await screenshot(page, shots, f"cadre-refused-{role.value}")
        await context.close()


async def test_admin_watches_a_recomputation_live(
    demo_server: str, browser: Any, demo_dsn: str, demo_conn: asyncpg.Connection, shots: Path
) -> None:
    """The job page follows the job without a reload: first held in its reading stage, then
    in its publishing stage (two connections hold the locks that stop it there, so the
    states are seen however loaded the machine is), then finished."""
    await make_user(demo_conn, "quantri", Role.ADMIN)
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    page = await context.new_page()
    await log_in(page, demo_server, "quantri", PASSWORD)
    await page.goto(f"{demo_server}/recompute")
    await screenshot(page, shots, "recompute")
    # Reading waits for a table the job reads (nothing the pages read); publishing waits
    # for result_published's insert (readers of it are not blocked by a SHARE lock).
    holds = [await connect(demo_dsn), await connect(demo_dsn)]
    held = [h.transaction() for h in holds]
    for tx in held:
        await tx.start()
    await holds[0].execute("lock table discipline_records in access exclusive mode")
    await holds[1].execute("lock table result_published in share mode")
    try:
        await page.fill("#f-period", "2026-03")
        await page.click("form[action='/recompute'] button[type=submit]")
        await page.wait_for_url("**/recompute/jobs/*")
        await page.evaluate("window.sameDocument = true")  # gone if the page reloads
        status = page.locator("[data-testid=job-status]")
        await page.wait_for_function(
            "() => document.querySelector('[data-stage]').textContent.trim() === 'đang đọc dữ liệu'"
            " && document.querySelector('[data-state]').classList.contains('running')",
            timeout=60_000,
        )
        assert "0 %" in await status.inner_text()
        await screenshot(page, shots, "recompute-job-reading")
        await held[0].rollback()
        await page.wait_for_function(
            "() => window.sameDocument === true"
            " && document.querySelector('[data-percent]').textContent.trim() === '95 %'"
            " && document.querySelector('[data-stage]').textContent.trim()"
            " === 'đang công bố kết quả'",
            timeout=60_000,
        )
        assert await page.locator("[data-testid=job-done]").count() == 0
        assert await page.locator("progress").get_attribute("value") is not None
        assert await page.evaluate("document.querySelector('progress').value") == 95
        await screenshot(page, shots, "recompute-job-publishing")
        await held[1].rollback()
        await page.locator("[data-testid=job-done]").wait_for(timeout=120_000)
    finally:
        for h in holds:
            await h.close()
    done = await page.locator("[data-testid=job-done]").inner_text()
    assert "đã được công bố" in done
    assert (
        await demo_conn.fetchval(
            "select state from recompute_jobs where period = '2026-03' order by id desc limit 1"
        )
        == "succeeded"
    )
    await screenshot(page, shots, "recompute-job-done")
    await context.close()


async def test_admin_downloads_reports(
    demo_server: str, browser: Any, demo_conn: asyncpg.Connection, shots: Path
) -> None:
    await make_user(demo_conn, "quantri", Role.ADMIN)
    headers = await make_key(demo_conn, Role.ADMIN)
    context = await browser.new_context(
        viewport={"width": 1280, "height": 900}, accept_downloads=True
    )
    page = await context.new_page()
    await log_in(page, demo_server, "quantri", PASSWORD)
    await page.goto(f"{demo_server}/rankings?period=2026")
    async with page.expect_download() as xlsx_info:
        await page.click("a[href^='/rankings/download?format=xlsx']")
    xlsx = await (await xlsx_info.value).path()
    async with httpx.AsyncClient(base_url=demo_server, headers=headers) as api:
        ranked = (await api.get("/results/rankings?period=2026&limit=1000")).json()["items"]
        members = (
            await api.get("/results/units/SNV/members?period=2026&subtree=true&limit=1000")
        ).json()["items"]
        api_xlsx = await api.get("/results/units/SNV/members?period=2026&subtree=true&format=xlsx")
    assert (await xlsx_info.value).suggested_filename == "xep-hang-2026.xlsx"
    book = openpyxl.load_workbook(io.BytesIO(Path(xlsx).read_bytes()))  # noqa: ASYNC240
    sheet = book.active
    header_row = next(
        r for r in range(1, 15) if sheet.cell(r, 1).value == "STT"
    )  # title and facts above
    headers_row = [sheet.cell(header_row, c).value for c in range(1, 8)]
    assert headers_row[:6] == [
        "STT",
        "Khối thi đua",
        "Thứ hạng",
        "Mã đơn vị",
        "Tên đơn vị",
        "Điểm U",
    ]
    assert sheet.freeze_panes == f"A{header_row + 1}"
    for i, item in enumerate(ranked):
        row = header_row + 1 + i
        assert sheet.cell(row, 4).value == item["code"]
        assert sheet.cell(row, 3).value == item["rank"]
        assert sheet.cell(row, 6).value == round(item["u"] + 1e-9, 2)
        assert sheet.cell(row, 6).number_format == "0.00"

    book = openpyxl.load_workbook(io.BytesIO(api_xlsx.content))
    sheet = book.active
    header_row = next(r for r in range(1, 15) if sheet.cell(r, 1).value == "STT")
    assert [sheet.cell(header_row, c).value for c in range(1, 8)] == [
        "STT", "Họ và tên", "Chức vụ", "Đơn vị", "Điểm", "Xếp loại", "Lý do"
    ]  # fmt: skip
    names = [sheet.cell(header_row + 1 + i, 2).value for i in range(len(members))]
    assert names == [m["full_name"] for m in members]
    assert [sheet.cell(header_row + 1 + i, 6).value for i in range(len(members))] == [
        m["level_label"] for m in members
    ]

    await page.goto(f"{demo_server}/unit/SNV?period=2026")
    async with page.expect_download() as pdf_info:
        await page.click("a[href*='/download?format=pdf']")
    pdf = PdfReader(await (await pdf_info.value).path())
    text = "\n".join(p.extract_text() for p in pdf.pages)
    assert "TỔNG HỢP KẾT QUẢ ĐÁNH GIÁ, XẾP LOẠI" in text
    assert "Sở Nội vụ" in text
    assert members[0]["full_name"] in text
    assert "Trang 1/" in text
    await context.close()


async def test_quarterly_year_in_the_browser(
    demo_server: str, browser: Any, demo_conn: asyncpg.Connection, shots: Path
) -> None:
    """A year rated by quarters (qd366): the filter offers quarters, the unit's and the
    cadre's charts are drawn by quarter, a chosen quarter is opened and outlined."""
    job = await recompute(demo_conn, RecomputeRequest(period="2026", profile="qd366"), SYSTEM)
    assert job.state == "succeeded"
    await make_user(demo_conn, "quantri", Role.ADMIN)
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    page = await context.new_page()
    await log_in(page, demo_server, "quantri", PASSWORD)
    await page.goto(f"{demo_server}/rankings")
    await page.select_option("#f-period", "2026-Q2")
    await page.click("[data-testid=ranking-filters] button[type=submit]")
    await page.wait_for_url("**/rankings?period=2026-Q2*")
    assert "Quý 2/2026" in await page.locator("h1").inner_text()
    assert await page.locator("[data-testid=ranking-table]").count() == 2
    await screenshot(page, shots, "rankings-quarter")

    await page.goto(f"{demo_server}/unit/SNV?period=2026")
    ticks = page.locator("svg.chart text[font-size='11'][text-anchor='middle'][fill='#1d2430']")
    assert await ticks.all_text_contents() == ["Q1", "Q2", "Q3", "Q4"]
    await screenshot(page, shots, "unit-quarterly-year")

    await page.locator("[data-testid=members-table] tbody tr td a").first.click()
    await page.wait_for_load_state()
    await page.select_option("#f-period", "2026-Q3")
    await page.click("form.filters button[type=submit]")
    await page.wait_for_url("**period=2026-Q3")
    chosen = page.locator("[data-testid=chosen-period] summary")
    assert "Quý 3/2026" in await chosen.inner_text()
    assert await page.locator("svg.chart rect.chosen").count() == 1
    await screenshot(page, shots, "cadre-quarter")
    await context.close()
