"""The whole round in a browser: an officer, a real SMTP server, voters on desktop and phone.

Screenshots of every page land in tests/artifacts/<test>/ (or $EVALSVC_ARTIFACTS).
"""

from __future__ import annotations

import asyncio
import base64
import re
from pathlib import Path

import asyncpg
import httpx
from playwright.async_api import Browser, Page, expect

from evalsvc.domain.access import Principal, Role
from evalsvc.keyring import ballot_keys
from evalsvc.sealing import member_keys
from evalsvc.settings import Settings
from evalsvc.store.ballot_committee import collect_share
from tests.browser.conftest import Mailbox
from tests.integration.test_sheets import seed
from tests.web.helpers import PASSWORD, make_user

PHONE = {
    "viewport": {"width": 390, "height": 844},
    "is_mobile": True,
    "has_touch": True,
    "device_scale_factor": 2,
}


async def shot(page: Page, folder: Path, name: str) -> None:
    await page.screenshot(path=str(folder / f"{name}.png"), full_page=True)


async def fits_width(page: Page) -> None:
    """Nothing is wider than the window (no sideways scrolling)."""
    overflow = await page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"{page.url}: {overflow}px wider than the window"


async def links_from(mailbox: Mailbox, n: int) -> dict[str, str]:
    """Recipient's cadre code -> the link in their invitation, once ``n`` have arrived."""
    for _ in range(400):
        if len(mailbox.messages) >= n:
            break
        await asyncio.sleep(0.05)
    assert len(mailbox.messages) == n, f"{len(mailbox.messages)} invitations arrived"
    links = {}
    for message in mailbox.messages:
        body = message.get_body(("plain",))
        assert body is not None
        text = body.get_content()
        assert "Mời tham gia lấy phiếu đánh giá" in str(message["Subject"])
        match = re.search(r"(http://\S+/phieu/[0-9A-Z-]+)", text)
        assert match, text
        to = str(message["To"]).split("<")[-1].split("@")[0].upper()
        links[to] = match.group(1)
    return links


async def fill_sheet(page: Page, observed_first: bool) -> int:
    """Mark the first item of each colleague 'observed' (or 'no basis'); hand the sheet in."""
    sections = page.locator("section.colleague")
    count = await sections.count()
    for i in range(count):
        section = sections.nth(i)
        first = section.locator("fieldset.item").first
        label = "Có biểu hiện" if observed_first else "Không đủ cơ sở đánh giá"
        await first.get_by_text(label, exact=True).click()
        await section.locator("select").first.select_option("HT")
    return count


async def log_in(page: Page, base: str, username: str) -> None:
    await page.goto(f"{base}/login")
    await page.get_by_label("Tên đăng nhập").fill(username)
    await page.get_by_label("Mật khẩu").fill(PASSWORD)
    await page.get_by_role("button", name="Đăng nhập").click()
    await expect(page.get_by_role("heading", name=f"Xin chào, Người {username}")).to_be_visible()


async def test_officer_and_voters_in_the_browser(
    browser: Browser,
    live_server: tuple[str, Mailbox],
    conn: asyncpg.Connection,
    shots: Path,
    tmp_path: Path,
) -> None:
    base, mailbox = live_server
    await seed(conn)  # unit UB: H, S1..S4 with email, P1 without
    await make_user(conn, "lan.tccb", Role.PERSONNEL, "UB")
    members = [await make_user(conn, f"tv{i}", Role.AUDITOR) for i in (1, 2, 3)]
    # Member tv1 makes their committee key in the browser: the private half is a downloaded
    # file, only the public half reaches the service. tv2 and tv3 made theirs elsewhere.
    member_context = await browser.new_context(
        viewport={"width": 1280, "height": 900}, accept_downloads=True
    )
    tv1 = await member_context.new_page()
    await log_in(tv1, base, "tv1")
    await tv1.get_by_role("link", name="Khóa kiểm phiếu").click()
    await expect(tv1.get_by_test_id("no-key")).to_be_visible()
    async with tv1.expect_download() as saving:
        await tv1.get_by_role("button", name="Tạo khóa mới và lưu tệp").click()
    key_file = tmp_path / "tv1-key.txt"
    await (await saving.value).save_as(key_file)
    assert key_file.read_text().startswith(member_keys.KEY_FILE_PREFIX)
    public = await tv1.get_by_label("Khóa công khai (base64)").input_value()
    assert base64.b64decode(public) == member_keys.public_of(key_file.read_text())
    await shot(tv1, shots, "03a-committee-key")
    await tv1.get_by_role("button", name="Đăng ký khóa này").click()
    await expect(tv1.get_by_test_id("key-registered")).to_be_visible()
    stored = await conn.fetchval("select committee_public_key from users where id = $1", members[0])
    assert bytes(stored) == base64.b64decode(public)
    other_files = {}
    for user_id in members[1:]:
        other_files[user_id], other_public = member_keys.new_key()
        await conn.execute(
            "update users set committee_public_key = $2 where id = $1", user_id, other_public
        )

    officer_context = await browser.new_context(viewport={"width": 1280, "height": 900})
    officer = await officer_context.new_page()
    await officer.goto(f"{base}/")
    await shot(officer, shots, "01-home")
    await officer.get_by_role("link", name="Đăng nhập", exact=True).first.click()
    await officer.get_by_label("Tên đăng nhập").fill("lan.tccb")
    await officer.get_by_label("Mật khẩu").fill(PASSWORD)
    await shot(officer, shots, "02-login")
    await officer.get_by_role("button", name="Đăng nhập").click()
    await expect(officer.get_by_role("heading", name="Xin chào, Người lan.tccb")).to_be_visible()

    await officer.get_by_role("link", name="Đợt lấy phiếu").first.click()
    await officer.get_by_role("link", name="Tạo đợt lấy phiếu").click()
    await officer.get_by_label("Tên đợt").fill("Lấy phiếu đánh giá quý 4/2026")
    await officer.get_by_label("Kỳ đánh giá", exact=True).fill("2026-Q4")
    await officer.get_by_label("Số phiếu tối thiểu để hiển thị kết quả (k_min)").fill("3")
    await officer.get_by_label("Tổ kiểm phiếu (tên đăng nhập của ít nhất 3 người)").fill(
        "tv1 tv2 tv3"
    )
    await shot(officer, shots, "03-new-round")
    await officer.get_by_role("button", name="Tạo bản nháp đợt lấy phiếu").click()
    await expect(officer.get_by_text("bản nháp", exact=True)).to_be_visible()
    await shot(officer, shots, "04-draft-round")
    round_url = officer.url
    await officer.get_by_role("button", name="Mở đợt lấy phiếu và gửi thư mời").click()
    await expect(officer.get_by_text("đang mở", exact=True)).to_be_visible()

    links = await links_from(mailbox, 5)
    assert sorted(links) == ["H", "S1", "S2", "S3", "S4"]
    # The mail server has the mails before the service records them sent: reload until the
    # page shows the status (the page does not refresh itself).
    for _ in range(30):
        await officer.reload()
        if await officer.get_by_text("đã gửi").count() >= 5:
            break
        await asyncio.sleep(0.5)
    await expect(officer.get_by_text("đã gửi").first).to_be_visible()
    page_text = await officer.content()
    assert "/phieu/" not in page_text  # the officer's page holds no link
    await shot(officer, shots, "05-open-round-invitations")
    await fits_width(officer)

    # Voter 1 on a desktop.
    desk_context = await browser.new_context(viewport={"width": 1280, "height": 900})
    desk = await desk_context.new_page()
    await desk.goto(links["S1"])
    await expect(desk.get_by_role("button", name=re.compile("Nộp phiếu"))).to_be_visible()
    await shot(desk, shots, "06-voter-sheet-desktop")
    # 200 % zoom of a 1280 px window is a 640 px layout at twice the pixels.
    zoom_context = await browser.new_context(
        viewport={"width": 640, "height": 450}, device_scale_factor=2
    )
    zoomed = await zoom_context.new_page()
    await zoomed.goto(links["S1"])
    await fits_width(zoomed)
    await zoomed.screenshot(path=str(shots / "06b-voter-sheet-200-percent.png"))
    await zoomed.goto(round_url)  # not logged in there: the login page
    await fits_width(zoomed)
    await zoom_context.close()
    n = await fill_sheet(desk, observed_first=True)
    assert n == 5
    await desk.get_by_role("button", name=re.compile("Nộp phiếu")).click()
    await expect(desk.get_by_test_id("submitted")).to_be_visible()
    await shot(desk, shots, "07-voter-submitted-desktop")

    # Voter 2 on a phone, typing the code on /phieu.
    phone_context = await browser.new_context(**PHONE)  # type: ignore[arg-type]
    phone = await phone_context.new_page()
    await phone.goto(f"{base}/phieu")
    await shot(phone, shots, "08-voter-code-phone")
    await phone.get_by_label("Mã phiếu").fill(links["S2"].rsplit("/", 1)[1].lower())
    await phone.get_by_role("button", name="Mở phiếu").click()
    await expect(phone.get_by_role("button", name=re.compile("Nộp phiếu"))).to_be_visible()
    await shot(phone, shots, "09-voter-sheet-phone")
    await fits_width(phone)
    await fill_sheet(phone, observed_first=True)
    await phone.get_by_role("button", name=re.compile("Nộp phiếu")).click()
    await expect(phone.get_by_test_id("submitted")).to_be_visible()
    await shot(phone, shots, "10-voter-submitted-phone")

    # A third voter through the API (k_min is 3), so some results are shown.
    code = links["S3"].rsplit("/", 1)[1]
    async with httpx.AsyncClient(base_url=base) as api:
        pending = await api.get("/ballot/targets", headers={"Authorization": f"Bearer {code}"})
        targets = [t["code"] for t in pending.json()["targets"]]
        sheet = {"ballots": [{"target": t, "marks": {"C1": "observed"}} for t in targets]}
        handed = await api.post(
            "/ballot/sheets", json=sheet, headers={"Authorization": f"Bearer {code}"}
        )
        assert handed.status_code == 201, handed.text

    await officer.goto(round_url)
    await expect(officer.get_by_test_id("participation")).to_have_text(
        "3/6 người bỏ phiếu đã nộp phiếu trực tuyến."
    )
    await shot(officer, shots, "11-participation")
    # Two committee members collect their shares (as on their pages) and enter them.
    round_id = int(round_url.rstrip("/").rsplit("/", 1)[1])
    keys = ballot_keys(Settings(database_url="", data_dir=str(tmp_path)))  # the server's

    def member(user_id: int) -> Principal:
        return Principal(
            key_id=0, role=Role.AUDITOR, scope_unit_id=None, kind="user", user_id=user_id
        )

    # tv1 opens their share on the round's page with the key file (in the browser) ...
    await tv1.goto(round_url)
    await tv1.get_by_role("button", name="Mở phần khóa của tôi bằng tệp khóa").click()
    await tv1.get_by_label("Tệp khóa của anh/chị").set_input_files(str(key_file))
    share_text = tv1.get_by_test_id("share")
    await expect(share_text).to_have_text(re.compile(rf"^{round_id}-\d-"))
    await shot(tv1, shots, "11a-member-opens-share")
    share1 = await share_text.inner_text()
    # ... tv2 with theirs on their own machine (the Python helper does the same).
    got = await collect_share(conn, keys, member(members[1]), round_id)
    share2 = member_keys.open_share(other_files[members[1]], base64.b64decode(got["sealed_share"]))
    await officer.get_by_label("Phần khóa của 2 thành viên tổ kiểm phiếu, mỗi dòng một phần").fill(
        f"{share1}\n{share2}"
    )
    await officer.get_by_label("Tôi xác nhận: đợt lấy phiếu dừng nhận phiếu ngay bây giờ").check()
    await officer.get_by_role("button", name="Kết thúc đợt và kiểm phiếu").click()
    tallies = officer.get_by_test_id("tallies")
    await expect(tallies).to_be_visible()
    # H, P1 and S4 have 3 sheets (shown); S1, S2, S3 have 2 (withheld).
    row_h = tallies.locator("tr", has_text="Nguyễn Văn H")
    await expect(row_h.locator("td").nth(1)).to_have_text("3")
    # 3 of 5 eligible is below the two-thirds quorum: shown, but nothing is confirmed.
    await expect(row_h.locator("td").nth(3)).to_have_text("không")
    await expect(tallies.locator("tr", has_text="Nguyễn Văn S1")).to_contain_text(
        "Không hiển thị: dưới 3 phiếu"
    )
    await shot(officer, shots, "12-results")

    await desk.goto(links["S4"])
    await expect(desk.get_by_role("heading", name="Đợt lấy phiếu đã kết thúc")).to_be_visible()
    await shot(desk, shots, "13-voter-after-close")
    for context in (officer_context, desk_context, phone_context, member_context):
        await context.close()
