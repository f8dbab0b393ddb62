"""Seeding for the ballot tests: units and cadres through the registry store."""

from __future__ import annotations

import asyncio
import base64
import email
import email.policy
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg

from evalsvc.domain.access import SYSTEM
from evalsvc.domain.cadres import CadreCreate
from evalsvc.domain.units import UnitCreate
from evalsvc.jobs.committee import DEMO_MEMBERS, demo_committee
from evalsvc.sealing import member_keys
from evalsvc.store.cadres import upsert_cadres
from evalsvc.store.units import upsert_units
from evalsvc.store.users import start_session

# Leader form: C1, C2, L1 (in ordinal order); staff form: C1, C2, S1.
ITEMS = [
    ("C1", "Đi muộn, về sớm", 1, True, True, 1),
    ("C2", "Đùn đẩy công việc", 2, True, True, 2),
    ("L1", "Thiếu kiểm tra, đôn đốc cấp dưới", 3, True, False, 3),
    ("S1", "Không chấp hành phân công", 2, False, True, 4),
]


async def add_unit(conn: asyncpg.Connection, code: str, parent: int | None = None) -> int:
    parent_code = None
    if parent is not None:
        parent_code = await conn.fetchval("select code from units where id = $1", parent)
    unit = UnitCreate(code=code, name=f"Đơn vị {code}", kind="x", parent_code=parent_code)
    await upsert_units(conn, [unit], SYSTEM)
    unit_id: int = await conn.fetchval("select id from units where code = $1", code)
    return unit_id


async def add_cadre(
    conn: asyncpg.Connection, code: str, unit_id: int, position: str, email: bool = True
) -> int:
    """A cadre; with ``email`` its invitations go to ``<code>@donvi.test`` (see outbox_codes)."""
    unit_code = await conn.fetchval("select code from units where id = $1", unit_id)
    cadre = CadreCreate(
        code=code,
        full_name=f"Nguyễn Văn {code}",
        personnel_type="cong_chuc",
        position=position,  # type: ignore[arg-type]
        unit_code=unit_code,
        email=f"{code.lower()}@donvi.test" if email else None,
    )
    await upsert_cadres(conn, [cadre], SYSTEM)
    cadre_id: int = await conn.fetchval("select id from cadres where code = $1", code)
    return cadre_id


async def add_catalog(conn: asyncpg.Connection, published: bool = True) -> int:
    catalog_id: int = await conn.fetchval(
        "insert into catalogs (name, version, title, is_sample) values ('mau', 1, 'Mẫu', true)"
        " returning id"
    )
    await conn.executemany(
        "insert into catalog_items (catalog_id, code, text, group_no, for_leader, for_staff,"
        " ordinal) values ($1, $2, $3, $4, $5, $6, $7)",
        [(catalog_id, *item) for item in ITEMS],
    )
    if published:
        await conn.execute(
            "update catalogs set status = 'published', published_at = now() where id = $1",
            catalog_id,
        )
    await demo_committee(conn)  # the accounts of COMMITTEE, named by round_body
    return catalog_id


def round_body(catalog_id: int, unit: str, **extra: Any) -> dict[str, Any]:
    now = datetime.now(UTC)
    body: dict[str, Any] = {
        "title": "Lấy phiếu quý 1",
        "unit": unit,
        "period": "2026-Q1",
        "catalog_id": catalog_id,
        "opens_at": (now - timedelta(hours=1)).isoformat(),
        "closes_at": (now + timedelta(days=7)).isoformat(),
        "committee": COMMITTEE,
    }
    body.update(extra)
    return body


COMMITTEE = list(DEMO_MEMBERS)
"""Every test round's counting committee (threshold 2): made by :func:`add_catalog`."""


async def committee_headers(conn: asyncpg.Connection) -> list[dict[str, str]]:
    """Bearer headers carrying each committee member's session token, in member order."""
    committee = await demo_committee(conn)
    out = []
    for p in committee.principals:
        assert p.user_id is not None
        out.append({"Authorization": f"Bearer {await start_session(conn, p.user_id)}"})
    return out


async def collect_shares(
    client: Any, conn: asyncpg.Connection, round_id: int
) -> tuple[list[str], list[dict[str, str]]]:
    """Each member fetches their sealed share over HTTP and opens it with their key file
    (as their page does in the browser); returns the shares and the headers."""
    members = await committee_headers(conn)
    key_files = (await demo_committee(conn)).key_files
    shares = []
    for h, key_file in zip(members, key_files, strict=True):
        response = await client.post(f"/ballot-rounds/{round_id}/committee/share", headers=h)
        assert response.status_code == 200, response.text
        sealed = base64.b64decode(response.json()["sealed_share"])
        shares.append(member_keys.open_share(key_file, sealed))
    return shares, members


async def close_round(client: Any, conn: asyncpg.Connection, round_id: int) -> Any:
    """Members 1 and 2 close the round with their shares; returns the response."""
    shares, members = await collect_shares(client, conn, round_id)
    return await client.post(
        f"/ballot-rounds/{round_id}/close", json={"shares": shares[:2]}, headers=members[0]
    )


def read_outbox(outbox: Path, round_id: int) -> dict[str, str]:
    """Cadre code -> voter code of the round's invitations in the outbox (newest wins)."""
    found: dict[str, str] = {}
    paths = sorted(outbox.glob(f"r{round_id}-v*.eml"), key=lambda p: p.stat().st_mtime_ns)
    for path in paths:
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        body = message.get_body(("plain",))
        assert body is not None
        match = re.search(r"/phieu/([0-9A-Z-]+)", body.get_content())
        assert match, path
        to = str(message["To"]).split("<")[-1].split("@")[0]
        found[to.upper()] = match.group(1)
    return found


async def outbox_codes(outbox: Path, round_id: int, expected: int) -> dict[str, str]:
    """Cadre code -> voter code, read from the invitations the service wrote to the outbox
    (the only place a voter's code exists). Waits for the background delivery."""
    found: dict[str, str] = {}
    for _ in range(200):
        found = await asyncio.to_thread(read_outbox, outbox, round_id)
        if len(found) >= expected:
            return found
        await asyncio.sleep(0.05)
    raise AssertionError(f"{len(found)} invitations in {outbox}, expected {expected}")
