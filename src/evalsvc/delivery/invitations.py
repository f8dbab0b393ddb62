"""Ballot invitations by email: make each voter's code at the moment it is sent.

For every pending email invitation of a round (or the ones chosen for a re-send): a fresh
code, its hash stored (committed) before the message leaves, then the message, then the
outcome (sent / failed with the reason). A re-send replaces the code, so an earlier link
stops working; it acts the same whether or not the voter has already voted, so delivery
status never says who voted.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from email.message import EmailMessage
from email.utils import formataddr, make_msgid
from typing import Any

import asyncpg

from evalsvc.delivery.mail import Mailer
from evalsvc.domain.ballots import BallotKeys, token_hash
from evalsvc.domain.errors import FieldProblem, RuleViolation
from evalsvc.domain.localtime import HANOI
from evalsvc.domain.sheets import new_voter_code
from evalsvc.store.sqlfiles import queries

Q = queries("delivery")
log = logging.getLogger(__name__)
BATCH = 50
"""Messages per SMTP session (codes for a batch are stored just before it is sent)."""

Lend = Callable[[], AbstractAsyncContextManager[Any]]


def voter_link(base_url: str, code: str) -> str:
    return f"{base_url}/phieu/{code}"


def invitation(
    *,
    sender: str,
    to_name: str,
    to_address: str,
    rnd: asyncpg.Record,
    link: str,
    code: str,
    tag: str,
) -> EmailMessage:
    """The message a voter receives (Vietnamese; the page itself can switch to English)."""
    closes = rnd["closes_at"].astimezone(HANOI)
    message = EmailMessage()
    message["Subject"] = f"Mời tham gia lấy phiếu đánh giá: {rnd['title']}"
    message["From"] = sender
    message["To"] = formataddr((to_name, to_address))
    message["Message-ID"] = make_msgid(domain="evalsvc.invalid")
    message["X-Evalsvc-Invitation"] = tag
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(
        f"Kính gửi đồng chí {to_name},\n\n"
        f'Đồng chí được mời tham gia đợt lấy phiếu đánh giá "{rnd["title"]}" '
        f"của {rnd['unit_name']}.\n\n"
        f"Mở phiếu đánh giá của đồng chí tại:\n{link}\n\n"
        f"hoặc vào trang /phieu và nhập mã: {code}\n\n"
        f"Hạn nộp phiếu: {closes:%H:%M ngày %d/%m/%Y} (giờ Hà Nội).\n\n"
        "Đường dẫn và mã này là của riêng đồng chí: xin không chuyển cho người khác. "
        "Phiếu là phiếu kín: người tổ chức đợt lấy phiếu không biết ai đánh giá ai. "
        "Đồng chí điền phiếu cho tất cả đồng nghiệp và nộp một lần.\n\n"
        "Nếu đồng chí không chờ thư này, xin báo bộ phận tổ chức cán bộ.\n\n"
        "-- \nevalsvc · thư tự động, xin không trả lời.\n"
    )
    return message


async def deliver_emails(
    lend: Lend,
    keys: BallotKeys,
    mailer: Mailer,
    base_url: str,
    sender: str,
    round_id: int,
    voter_ids: list[int] | None = None,
) -> dict[str, int]:
    """Send the round's pending (or the chosen) email invitations; return counts by outcome."""
    async with lend() as conn:
        rnd = await conn.fetchrow(Q["round_for_delivery"], round_id)
        if rnd is None or rnd["status"] != "open":
            return {"sent": 0, "failed": 0}
        if voter_ids is not None:
            voter_ids = [
                r["voter_id"] for r in await conn.fetch(Q["mark_resend"], round_id, voter_ids)
            ]
        todo = await conn.fetch(Q["email_pending"], round_id, voter_ids)
    counts = {"sent": 0, "failed": 0}
    for start in range(0, len(todo), BATCH):
        batch = todo[start : start + BATCH]
        codes = [new_voter_code() for _ in batch]
        async with lend() as conn:
            await conn.execute(
                Q["set_codes"],
                [v["voter_id"] for v in batch],
                [token_hash(keys, c) for c in codes],
            )
        messages = [
            invitation(
                sender=sender,
                to_name=v["full_name"],
                to_address=v["address"],
                rnd=rnd,
                link=voter_link(base_url, code),
                code=code,
                tag=f"r{round_id}-v{v['voter_id']}-{secrets.token_hex(3)}",
            )
            for v, code in zip(batch, codes, strict=True)
        ]
        results = await mailer.send(messages)
        del codes, messages  # the codes exist nowhere else now
        async with lend() as conn:
            await conn.execute(
                Q["mark_results"],
                [v["voter_id"] for v in batch],
                ["sent" if r is None else "failed" for r in results],
                [None if r is None else r[:500] for r in results],
            )
        for r in results:
            counts["sent" if r is None else "failed"] += 1
    if counts["failed"]:
        log.warning(
            "round %s: %s invitation(s) failed via %s",
            round_id,
            counts["failed"],
            mailer.describe(),
        )
    return counts


async def invitations_of(conn: asyncpg.Connection, round_id: int) -> list[dict[str, Any]]:
    """Per voter: channel, address, status, last error (what the operator may see)."""
    return [dict(r) for r in await conn.fetch(Q["invitations_list"], round_id)]


async def resend_ids(conn: asyncpg.Connection, round_id: int, codes: list[str]) -> list[int]:
    """Voter ids of these cadre codes' email invitations; unknown codes are a 422."""
    rows = await conn.fetch(Q["email_voters_by_code"], round_id, codes)
    found = {r["code"]: r["voter_id"] for r in rows}
    missing = [c for c in codes if c not in found]
    if missing:
        raise RuleViolation(
            "some voters have no email invitation in this round",
            [FieldProblem("voters", f"{c!r} has no email invitation here") for c in missing[:100]],
        )
    return list(found.values())
