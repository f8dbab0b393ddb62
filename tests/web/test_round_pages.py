"""Round management pages over plain HTTP: create, open, paper upload preview, slips, close."""

from __future__ import annotations

import base64
import re
from datetime import datetime, timedelta

import asyncpg

from evalsvc.domain.access import Role
from evalsvc.domain.localtime import HANOI
from evalsvc.sealing import member_keys
from tests.integration.test_sheets import seed
from tests.web.helpers import Client, csrf_of, form_post, login, make_user


def round_form(catalog_id: int, **extra: str) -> dict[str, str]:
    now = datetime.now(HANOI)
    return {
        "title": "Lấy phiếu quý 4",
        "unit": "UB",
        "period": "2026-Q4",
        "catalog_id": str(catalog_id),
        "opens_at": (now - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"),
        "closes_at": (now + timedelta(days=3)).strftime("%Y-%m-%dT%H:%M"),
        "k_min": "3",
        "voting_scope": "unit",
        "voters": "",
        "targets": "",
        "committee": "tv1 tv2 tv3",
        "threshold": "2",
        "paper_voters": "S1 S4",
    } | extra


def _open_share(page: str, key_file: str) -> str:
    """What the member's page does in the browser: open the sealed share with the file."""
    sealed = re.search(r'data-testid="sealed-share">([^<]+)<', page)
    assert sealed, page
    assert "/static/committee_key.js" in page
    return member_keys.open_share(key_file, base64.b64decode(sealed.group(1)))


async def test_officer_runs_a_round_on_the_pages(client: Client, conn: asyncpg.Connection) -> None:
    catalog_id = await seed(conn)
    await make_user(conn, "lan", Role.PERSONNEL, "UB")
    await make_user(conn, "quantri2", Role.ADMIN)
    key_files = {}
    for member in ("tv1", "tv2", "tv3"):  # the counting committee, each with their own key
        await make_user(conn, member, Role.AUDITOR)
        await login(client, member)
        form = await client.get("/account/committee-key")
        assert "Anh/chị chưa có khóa kiểm phiếu" in form.text
        key_files[member], public = member_keys.new_key()
        bad = await form_post(
            client, "/account/committee-key", {"public_key": "xyz"}, page=form.text
        )
        assert bad.status_code == 422
        done = await form_post(
            client,
            "/account/committee-key",
            {"public_key": base64.b64encode(public).decode()},
            page=form.text,
        )
        assert "Đã đăng ký khóa kiểm phiếu" in done.text, done.text
        await form_post(client, "/logout", {}, page=done.text)
    await login(client, "lan")

    bad = await form_post(client, "/rounds/new", round_form(catalog_id, period="quý 4", k_min="2"))
    assert bad.status_code == 422
    assert "Chưa lưu đợt lấy phiếu" in bad.text
    assert await conn.fetchval("select count(*) from ballot_rounds") == 0

    made = await form_post(client, "/rounds/new", round_form(catalog_id))
    assert made.status_code == 303, made.text
    round_page = made.headers["location"]
    round_id = int(round_page.rsplit("/", 1)[1])
    page = await client.get(round_page)
    assert "Mở đợt lấy phiếu và gửi thư mời" in page.text

    opened = await form_post(client, f"{round_page}/open", {}, page=page.text)
    assert opened.status_code == 303
    page = await client.get(round_page)
    assert "0/6 người bỏ phiếu đã nộp phiếu trực tuyến." in page.text
    assert await conn.fetchval("select count(*) from ballot_invitations") == 4  # S1, S4: paper
    assert "phiếu mời niêm phong" in page.text
    assert "/phieu/" not in page.text  # the officer never sees a link
    assert (await client.get(f"{round_page}/slips.pdf")).status_code == 403  # admins only

    # Paper ballots: entered by the committee (two people); every problem first, nothing
    # stored; then a good file, uploaded by one member and confirmed by a second.
    await form_post(client, "/logout", {}, page=page.text)
    await login(client, "tv1")
    page = await client.get(round_page)
    bad_csv = b"target,marks\nH,1x\nNOPE,000\nS2,1z1\n"
    preview = await client.post(
        f"{round_page}/paper",
        data={"_csrf": csrf_of(page.text)},
        files={"file": ("phieu.csv", bad_csv, "text/csv")},
    )
    assert preview.status_code == 422
    assert "Chưa lưu gì: tệp có các lỗi sau." in preview.text
    assert "NOPE không phải người được đánh giá trong đợt này" in preview.text
    assert "có 2 ô đánh dấu; mẫu phiếu có 3 biểu hiện" in preview.text
    assert "chỉ được dùng 1, 0 và x" in preview.text
    good_csv = b"target,marks,level\nH,1x0,HT\nS2,100,\nS3,000,HTT\n"
    checked = await client.post(
        f"{round_page}/paper",
        data={"_csrf": csrf_of(page.text)},
        files={"file": ("phieu.csv", good_csv, "text/csv")},
    )
    assert "Tệp hợp lệ: 3 phiếu sẵn sàng để lưu." in checked.text
    assert await conn.fetchval("select count(*) from ballots") == 0
    body = re.search(r'name="body" value="([^"]+)"', checked.text)
    assert body
    assert base64.b64decode(body.group(1)) == good_csv
    stored = await form_post(
        client, f"{round_page}/paper", {"body": body.group(1), "store": "1"}, page=checked.text
    )
    assert "phiếu chỉ được tính khi một thành viên thứ hai" in stored.text
    assert await conn.fetchval("select count(*) from ballots") == 0
    assert "chờ thành viên thứ hai xác nhận" in stored.text
    share1 = _open_share(
        (await form_post(client, f"{round_page}/share", {}, page=stored.text)).text,
        key_files["tv1"],
    )
    await form_post(client, "/logout", {}, page=stored.text)
    await login(client, "tv2")
    page = await client.get(round_page)
    upload_id = await conn.fetchval("select id from ballot_uploads")
    confirmed = await form_post(
        client, f"{round_page}/paper/{upload_id}/confirm", {}, page=page.text
    )
    assert "Đã lưu 3 phiếu giấy." in confirmed.text
    assert await conn.fetchval("select sum(n_ballots) from ballots") == 3
    share2 = _open_share(
        (await form_post(client, f"{round_page}/share", {}, page=confirmed.text)).text,
        key_files["tv2"],
    )
    stored = confirmed

    # The sealed slips: an administrator who did not open the round, once.
    await form_post(client, "/logout", {}, page=stored.text)
    await login(client, "quantri2")
    pdf = await client.get(f"{round_page}/slips.pdf")
    assert pdf.status_code == 200
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")
    row = await conn.fetchrow("select * from ballot_slip_downloads where round_id = $1", round_id)
    assert row["slips"] == 1
    assert row["downloaded_by"].startswith("user:")
    assert (
        await conn.fetchval("select status from ballot_invitations where channel = 'paper'")
        == "printed"
    )
    again = await client.get(f"{round_page}/slips.pdf")
    assert again.status_code == 409
    assert "they are printed only once" in again.text

    page = await client.get(round_page)
    shares = f"{share1}\n{share2}\n"
    unconfirmed = await form_post(client, f"{round_page}/close", {"shares": shares}, page=page.text)
    assert unconfirmed.status_code == 422  # the confirmation box left empty: nothing changes
    assert "Hãy đánh dấu ô xác nhận" in unconfirmed.text
    assert await conn.fetchval("select status from ballot_rounds where id = $1", round_id) == "open"
    one = await form_post(
        client,
        f"{round_page}/close",
        {"shares": share1, "confirm": "yes"},
        page=page.text,
    )
    assert one.status_code == 409  # one share of two: refused, the round stays open
    assert "2 committee members" in one.text
    closed = await form_post(
        client, f"{round_page}/close", {"shares": shares, "confirm": "yes"}, page=page.text
    )
    assert closed.status_code == 303
    results = await client.get(round_page)
    assert "Kết quả" in results.text
    assert "Không hiển thị: dưới 3 phiếu" in results.text  # each target has at most 1 sheet
