"""Sealed-slip invitations on paper: one slip per voter without email, printed once.

Only an administrator who did not open the round may print them (the opener would then
hold voters' codes). The codes are made here, inside the transaction that records the
download, and exist only in the PDF: printing twice is refused, with who printed and when.
Each slip: the round, the voter's name and unit (for handing it over), the link as a QR
code, the code to type, and how to keep it secret; a fold line separates the address part
from the sealed part.
"""

from __future__ import annotations

from datetime import datetime
from importlib import resources
from typing import Any

import asyncpg
import segno
from fpdf import FPDF

from evalsvc.delivery.invitations import voter_link
from evalsvc.domain.access import Principal, Role
from evalsvc.domain.ballots import BallotKeys, token_hash
from evalsvc.domain.errors import Conflict, Forbidden
from evalsvc.domain.localtime import HANOI
from evalsvc.domain.sheets import new_voter_code
from evalsvc.store.ballot_rounds import get_round
from evalsvc.store.sqlfiles import queries

Q = queries("delivery")


async def slip_download(conn: asyncpg.Connection, round_id: int) -> asyncpg.Record | None:
    """Who printed the round's slips, when, how many; None if nobody yet."""
    row: asyncpg.Record | None = await conn.fetchrow(Q["slips_download"], round_id)
    return row


async def print_slips(
    conn: asyncpg.Connection,
    principal: Principal,
    keys: BallotKeys,
    base_url: str,
    round_id: int,
) -> bytes:
    """The PDF of the round's paper invitations; refused a second time (Conflict)."""
    if principal.role != Role.ADMIN:
        raise Forbidden("only an administrator prints sealed slips")
    rnd = await get_round(conn, principal, round_id)
    if rnd["status"] != "open":
        raise Conflict(f"round {round_id} is {rnd['status']}; slips are printed for open rounds")
    if rnd["opened_by"] == principal.actor:
        raise Forbidden(
            "the account that opened the round may not print its slips; ask another administrator"
        )
    async with conn.transaction():
        voters = await conn.fetch(Q["paper_voters"], round_id)
        if not voters:
            raise Conflict("every voter of this round gets an email; there are no slips")
        claimed = await conn.fetchval(Q["slips_claim"], round_id, principal.actor, len(voters))
        if claimed is None:
            done = await slip_download(conn, round_id)
            assert done is not None
            when = done["downloaded_at"].astimezone(HANOI)
            raise Conflict(
                f"the slips of this round were printed by {done['downloaded_by']} "
                f"on {when:%d/%m/%Y %H:%M}; they are printed only once"
            )
        codes = [new_voter_code() for _ in voters]
        await conn.execute(
            Q["set_codes"], [v["voter_id"] for v in voters], [token_hash(keys, c) for c in codes]
        )
        await conn.execute(Q["mark_printed"], round_id)
        return render_slips(rnd, voters, codes, base_url)


def _font(pdf: FPDF) -> None:
    fonts = resources.files("evalsvc.web") / "static" / "fonts"
    with resources.as_file(fonts / "DejaVuSans.ttf") as regular:
        pdf.add_font("DejaVu", "", str(regular))
    with resources.as_file(fonts / "DejaVuSans-Bold.ttf") as bold:
        pdf.add_font("DejaVu", "B", str(bold))


def render_slips(
    rnd: dict[str, Any], voters: list[asyncpg.Record], codes: list[str], base_url: str
) -> bytes:
    """Two slips per A4 page, each cut along the dashed line and folded to seal the code."""
    pdf = FPDF(format="A4")
    pdf.set_auto_page_break(False)
    pdf.set_title(f"Phiếu mời – {rnd['title']}")
    _font(pdf)
    closes: datetime = rnd["closes_at"].astimezone(HANOI)
    for i, (voter, code) in enumerate(zip(voters, codes, strict=True)):
        if i % 2 == 0:
            pdf.add_page()
        top = 10 + (i % 2) * 143
        pdf.set_draw_color(120)
        if i % 2 == 1:
            pdf.set_dash_pattern(dash=2, gap=2)
            pdf.line(5, top - 5, 205, top - 5)
            pdf.set_dash_pattern()
        # Outer part: whom to hand the slip to.
        pdf.set_xy(15, top)
        pdf.set_font("DejaVu", "B", 12)
        pdf.cell(
            0,
            7,
            "PHIẾU MỜI THAM GIA LẤY PHIẾU ĐÁNH GIÁ (niêm phong)",
            new_x="LMARGIN",
            new_y="NEXT",
        )
        pdf.set_x(15)
        pdf.set_font("DejaVu", "", 11)
        pdf.cell(
            0,
            6,
            f"Trao tận tay: {voter['full_name']} – {voter['unit_name']}",
            new_x="LMARGIN",
            new_y="NEXT",
        )
        pdf.set_x(15)
        pdf.cell(0, 6, f"Đợt: {rnd['title']}", new_x="LMARGIN", new_y="NEXT")
        pdf.set_dash_pattern(dash=1, gap=1)
        pdf.line(15, top + 24, 195, top + 24)
        pdf.set_dash_pattern()
        pdf.set_xy(15, top + 25)
        pdf.set_font("DejaVu", "", 8)
        pdf.cell(
            0,
            4,
            "Gấp theo đường này và dán kín phần dưới trước khi trao.",
            new_x="LMARGIN",
            new_y="NEXT",
        )
        # Sealed part: the link as a QR code and the code to type.
        qr = segno.make(voter_link(base_url, code), error="m")
        png = qr.png_data_uri(scale=4, border=1)
        pdf.image(png, x=15, y=top + 32, w=45, h=45)
        pdf.set_xy(65, top + 33)
        pdf.set_font("DejaVu", "B", 11)
        pdf.multi_cell(
            130, 6, "Quét mã QR bằng điện thoại, hoặc mở trang:", new_x="LMARGIN", new_y="NEXT"
        )
        pdf.set_x(65)
        pdf.set_font("DejaVu", "", 10)
        pdf.multi_cell(130, 5, f"{base_url}/phieu", new_x="LMARGIN", new_y="NEXT")
        pdf.set_x(65)
        pdf.cell(130, 7, "và nhập mã phiếu:", new_x="LMARGIN", new_y="NEXT")
        pdf.set_x(65)
        pdf.set_font("DejaVu", "B", 15)
        pdf.cell(130, 9, code, new_x="LMARGIN", new_y="NEXT")
        pdf.set_xy(65, top + 70)
        pdf.set_font("DejaVu", "", 9)
        pdf.multi_cell(
            130,
            4.5,
            f"Hạn nộp phiếu: {closes:%H:%M ngày %d/%m/%Y} (giờ Hà Nội). Mã này là của riêng "
            "đồng chí: không cho người khác xem. Phiếu là phiếu kín: người tổ chức đợt lấy "
            "phiếu không biết ai đánh giá ai. Điền phiếu cho tất cả đồng nghiệp và nộp một lần.",
            new_x="LMARGIN",
            new_y="NEXT",
        )
    return bytes(pdf.output())
