"""Unit indicators: bulk upsert by (unit, month) and filtered lists."""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg

from evalsvc.domain.access import Principal
from evalsvc.domain.bulk import Upload
from evalsvc.domain.tasks import format_month, parse_month
from evalsvc.domain.unit_indicators import UnitIndicator, UnitIndicatorIn
from evalsvc.domain.units import UpsertSummary
from evalsvc.store.listing import Filters, fetch_page
from evalsvc.store.sqlfiles import queries
from evalsvc.store.subjects import check_scope, resolve, scope_filter, upsert_counts

Q = queries("unit_indicators")
_FILTERS = {
    "unit": "u.code = ${}",
    "month": "i.month = ${}",
    "scope": "i.unit_id = any(${}::bigint[])",
}


async def upsert_indicators(
    conn: asyncpg.Connection,
    upload: Upload[UnitIndicatorIn] | Sequence[UnitIndicatorIn],
    principal: Principal | None,
) -> UpsertSummary:
    upload = Upload.of(upload)
    rows = upload.rows
    async with conn.transaction():
        subjects, problems = await resolve(
            conn,
            upload.numbers,
            unit_codes=[r.unit_code for r in rows],
            principal=principal,
        )
        keys = [f"{r.unit_code}/{r.month}" for r in rows]
        upload.refuse_if([*problems, *upload.duplicates(keys, "month")])
        await check_scope(conn, principal, subjects)
        written = await conn.fetch(
            Q["upsert"],
            [subjects.units[r.unit_code] for r in rows],
            [parse_month(r.month) for r in rows],
            [r.satisfaction_pct for r in rows],
            [r.dossiers_received for r in rows],
            [r.dossiers_late for r in rows],
            [r.par_score for r in rows],
        )
    inserted, updated, unchanged = upsert_counts(len(rows), written)
    return UpsertSummary(inserted=inserted, updated=updated, unchanged=unchanged)


def _indicator(record: asyncpg.Record) -> UnitIndicator:
    d = dict(record)
    d["month"] = format_month(d["month"])
    received, late = d["dossiers_received"], d["dossiers_late"]
    d["late_share"] = late / received if received and late is not None else None
    return UnitIndicator(**d)


async def list_indicators(
    conn: asyncpg.Connection,
    principal: Principal,
    *,
    unit: str | None,
    month: int | None,
    limit: int,
    offset: int,
) -> tuple[list[UnitIndicator], int]:
    values = {"unit": unit, "month": month, "scope": await scope_filter(conn, principal)}
    page = await fetch_page(
        conn,
        Filters(
            Q["select"], Q["count"], _FILTERS, {k: v for k, v in values.items() if v is not None}
        ),
        order_by="i.month desc, u.code",
        limit=limit,
        offset=offset,
    )
    return [_indicator(r) for r in page.rows], page.total
