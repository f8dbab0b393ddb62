"""The voter's sheet page, without JavaScript: plain form posts."""

from __future__ import annotations

import re

import asyncpg

from evalsvc.domain.access import Role
from tests.conftest import make_key
from tests.integration.ballots_seed import close_round, outbox_codes
from tests.integration.test_sheets import open_round, seed
from tests.web.helpers import Client, csrf_of


def form_of(html: str) -> dict[str, object]:
    """What a browser would send for the page's form as it stands (checked radios only)."""
    data: dict[str, object] = {
        "_csrf": csrf_of(html),
        "t": re.findall(r'name="t" value="([^"]+)"', html),
    }
    for name, value in re.findall(r'name="(m\.[^"]+)" value="([^"]+)" checked', html):
        data[name] = value
    return data


async def test_voter_fills_and_hands_in(client: Client, conn: asyncpg.Connection) -> None:
    catalog_id = await seed(conn)
    headers = await make_key(conn, Role.PERSONNEL, "UB")
    opened = await open_round(client, headers, catalog_id)
    codes = await outbox_codes(client.app.state.settings.outbox, opened["id"], 5)
    code = codes["S1"]

    typed = await client.get(f"/phieu?ma={code.lower().replace('-', '')}", follow_redirects=False)
    assert typed.status_code == 303
    assert typed.headers["location"] == f"/phieu/{code}"
    assert (await client.get("/phieu?ma=123")).status_code == 422

    page = await client.get(f"/phieu/{code}")
    assert page.status_code == 200
    assert page.headers["referrer-policy"] == "no-referrer"
    assert "Nộp phiếu (5 đồng nghiệp)" in page.text
    assert "Nhóm 1. Vi phạm kỷ luật, kỷ cương" in page.text
    data = form_of(page.text)
    assert len(data["t"]) == 5  # type: ignore[arg-type]

    # A forged field for an item that is not on the form: refused, nothing stored.
    bad = dict(data) | {"m.H.Z9": "observed", "comment.S2": "x" * 2001}
    refused = await client.post(f"/phieu/{code}", data=bad)
    assert refused.status_code == 422
    assert "Phiếu chưa được lưu" in refused.text
    assert "không có biểu hiện mã Z9" in refused.text
    assert "dài quá 2000 ký tự" in refused.text
    assert await conn.fetchval("select count(*) from ballots") == 0
    # What the voter had chosen is still there.
    chosen = dict(data) | {"m.H.C1": "observed", "comment.H": "Cần cố gắng"}
    missing = dict(chosen) | {"t": data["t"][:-1]}  # type: ignore[index]
    again = await client.post(f"/phieu/{code}", data=missing)
    assert again.status_code == 422
    assert "cần đánh giá đủ tất cả đồng nghiệp" in again.text

    done = await client.post(f"/phieu/{code}", data=chosen, follow_redirects=False)
    assert done.status_code == 303
    after = await client.get(done.headers["location"])
    assert "Đồng chí đã nộp phiếu" in after.text
    assert "Nộp phiếu (" not in after.text
    # No script ran: the page says the service sealed the sheet on receipt, with the receipt.
    assert "hệ thống đã niêm phong phiếu ngay khi nhận" in after.text
    receipt = await conn.fetchval("select encode(receipt, 'hex') from ballot_sheets")
    assert f'data-testid="receipt">{receipt}<' in after.text
    assert await conn.fetchval("select count(*) from ballot_sheets") == 1  # sealed until close
    assert await conn.fetchval("select count(*) from ballots") == 0
    twice = await client.post(f"/phieu/{code}", data=chosen)
    assert twice.status_code == 409
    assert await conn.fetchval("select count(*) from ballot_sheets") == 1

    assert (await close_round(client, conn, opened["id"])).status_code == 200
    assert await conn.fetchval("select count(*) from ballots") == 5
    closed = await client.get(f"/phieu/{codes['S2']}")
    assert "Đợt lấy phiếu đã kết thúc" in closed.text
    assert "Nguyễn Văn" not in closed.text  # nothing else: no names, no items
    unknown = await client.get("/phieu/AAAAA-AAAAA-AAAAA-AAAAA-AAAAA")
    assert unknown.status_code == 404
