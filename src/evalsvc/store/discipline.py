"""Discipline records: bulk upsert by (cadre, track, violation) and filtered lists."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import asyncpg

from evalsvc.domain.access import Principal
from evalsvc.domain.bulk import Upload
from evalsvc.domain.discipline import Discipline, DisciplineIn
from evalsvc.domain.units import UpsertSummary
from evalsvc.store.listing import Filters, fetch_page
from evalsvc.store.sqlfiles import queries
from evalsvc.store.subjects import scope_filter, upsert_rows

Q = queries("discipline")
_FILTERS = {
    "cadre": "c.code = ${}",
    "form": "d.form = ${}",
    "track": "d.track = ${}",
    "effective_from": "d.effective_on >= ${}",
    "effective_to": "d.effective_on <= ${}",
    "scope": "c.unit_id = any(${}::bigint[])",
}


async def upsert_discipline(
    conn: asyncpg.Connection,
    upload: Upload[DisciplineIn] | Sequence[DisciplineIn],
    principal: Principal | None,
) -> UpsertSummary:
    """Insert or update by (cadre, track, violation_id), all or nothing."""
    return await upsert_rows(
        conn,
        upload,
        principal,
        query=Q["upsert"],
        cadre_code=lambda r: r.cadre_code,
        key=lambda r: f"{r.cadre_code}/{r.track}/{r.violation_id}",
        key_field="violation_id",
        columns=lambda subjects, rows: [
            [subjects.cadres[r.cadre_code].id for r in rows],
            [r.form for r in rows],
            [r.track for r in rows],
            [r.violation_id for r in rows],
            [r.decision_no for r in rows],
            [r.decided_on for r in rows],
            [r.effective_on for r in rows],
        ],
    )


async def create_discipline(
    conn: asyncpg.Connection, row: DisciplineIn, principal: Principal
) -> Discipline:
    await upsert_discipline(conn, [row], principal)
    cadre_id = await conn.fetchval("select id from cadres where code = $1", row.cadre_code)
    record = await conn.fetchrow(Q["one"], cadre_id, row.track, row.violation_id)
    assert record is not None
    return Discipline(**dict(record))


async def list_discipline(
    conn: asyncpg.Connection,
    principal: Principal,
    *,
    cadre: str | None,
    form: str | None,
    track: str | None,
    effective_from: date | None,
    effective_to: date | None,
    limit: int,
    offset: int,
) -> tuple[list[Discipline], int]:
    values = {
        "cadre": cadre,
        "form": form,
        "track": track,
        "effective_from": effective_from,
        "effective_to": effective_to,
        "scope": await scope_filter(conn, principal),
    }
    page = await fetch_page(
        conn,
        Filters(
            Q["select"],
            Q["count"],
            _FILTERS,
            {k: v for k, v in values.items() if v is not None},
        ),
        order_by="d.effective_on desc, d.id",
        limit=limit,
        offset=offset,
    )
    return [Discipline(**dict(r)) for r in page.rows], page.total
