"""Shared arrangements for the task-ingestion tests: a small city and a slow reference recount."""

from __future__ import annotations

import math
from collections.abc import AsyncIterator

import asyncpg

HEADER = (
    "source_system,external_id,cadre_code,month,product_code,k,assigned,done,exceeded,"
    "errors_counted,errors_objective,errors_confirmed_by,delays_counted,delays_objective,"
    "delays_confirmed_by\n"
)


async def make_city(conn: asyncpg.Connection) -> None:
    """Units CITY > DEP-A, DEP-B; cadres A1, A2 in DEP-A and B1 in DEP-B."""
    await conn.execute(
        """
        insert into units (code, name, name_key, search_text, parent_id, kind)
        values ('CITY', 'Thành phố', 'x', 'x', null, 'city');
        insert into units (code, name, name_key, search_text, parent_id, kind)
        select c, c, c, c, (select id from units where code = 'CITY'), 'department'
        from unnest(array['DEP-A', 'DEP-B']) c;
        insert into cadres (code, full_name, name_key, search_text, personnel_type, position,
                            unit_id)
        select c, c, c, c, 'cong_chuc', 'staff', (select id from units where code = u)
        from (values ('A1', 'DEP-A'), ('A2', 'DEP-A'), ('B1', 'DEP-B')) v(c, u);
        """
    )


def row(
    ext: str,
    cadre: str = "A1",
    *,
    month: str = "2026-05",
    k: str = "1",
    assigned: str = "10",
    done: str = "8",
    exceeded: str = "false",
    ec: str = "0",
    eo: str = "0",
    ecb: str = "",
    dc: str = "0",
    do: str = "0",
    dcb: str = "",
    source: str = "hr",
    product: str = "P1",
) -> str:
    fields = [source, ext, cadre, month, product, k, assigned, done, exceeded]
    return ",".join([*fields, ec, eo, ecb, dc, do, dcb]) + "\n"


async def pieces(data: bytes, size: int = 7) -> AsyncIterator[bytes]:
    """The body in small, odd-sized pieces, as a network delivers it."""
    for i in range(0, len(data), size):
        yield data[i : i + size]


def units(x: float) -> int:
    return math.floor(x * 1000000.0 + 0.5)


async def recount(conn: asyncpg.Connection) -> dict[tuple[int, int], tuple[int, ...]]:
    """Totals recomputed from raw rows in Python: the slow, obviously-correct reference."""
    out: dict[tuple[int, int], list[int]] = {}
    for r in await conn.fetch("select * from task_records"):
        key = (r["cadre_id"], r["month"])
        acc = out.setdefault(key, [0] * 7)
        k, a, d = r["k"], r["assigned"], r["done"]
        acc[0] += 1
        acc[1] += units(k * a)
        acc[2] += units(k * d)
        acc[3] += units(k * d * max(0.0, 1 - 0.25 * r["errors_counted"]))
        acc[4] += units(k * d * max(0.0, 1 - 0.25 * r["delays_counted"]))
        acc[5] += 1 if r["exceeded"] else 0
        acc[6] += 1 if r["delays_counted"] > 0 else 0
    return {key: tuple(v) for key, v in out.items()}


async def stored_totals(conn: asyncpg.Connection) -> dict[tuple[int, int], tuple[int, ...]]:
    rows = await conn.fetch(
        "select * from task_month_totals where records <> 0 or k_assigned <> 0 or k_done <> 0"
    )
    return {
        (r["cadre_id"], r["month"]): (
            r["records"],
            r["k_assigned"],
            r["k_done"],
            r["k_done_quality"],
            r["k_done_timely"],
            r["exceeded_records"],
            r["late_records"],
        )
        for r in rows
    }
