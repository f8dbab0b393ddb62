"""Plain-SQL seeding for the ballot tests (the registry endpoints are written elsewhere)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from evalsvc.domain.vietnamese import nfc, person_sort_key, sort_key

# Leader form: C1, C2, L1 (in ordinal order); staff form: C1, C2, S1.
ITEMS = [
    ("C1", "Đi muộn, về sớm", 1, True, True, 1),
    ("C2", "Đùn đẩy công việc", 2, True, True, 2),
    ("L1", "Thiếu kiểm tra, đôn đốc cấp dưới", 3, True, False, 3),
    ("S1", "Không chấp hành phân công", 2, False, True, 4),
]


async def add_unit(conn: asyncpg.Connection, code: str, parent: int | None = None) -> int:
    name = nfc(f"Đơn vị {code}")
    unit_id: int = await conn.fetchval(
        "insert into units (code, name, name_key, parent_id, kind) values ($1, $2, $3, $4, 'x')"
        " returning id",
        code,
        name,
        sort_key(name),
        parent,
    )
    return unit_id


async def add_cadre(conn: asyncpg.Connection, code: str, unit_id: int, position: str) -> int:
    name = nfc(f"Nguyễn Văn {code}")
    cadre_id: int = await conn.fetchval(
        "insert into cadres (code, full_name, name_key, personnel_type, position, unit_id)"
        " values ($1, $2, $3, 'cong_chuc', $4, $5) returning id",
        code,
        name,
        person_sort_key(name),
        position,
        unit_id,
    )
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
    }
    body.update(extra)
    return body
