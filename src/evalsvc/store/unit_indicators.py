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
from evalsvc.store.subjects import scope_filter, upsert_rows

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
    """Insert or update by (unit, month), all or nothing."""
    return await upsert_rows(
        conn,
        upload,
        principal,
        query=Q["upsert"],
        unit_code=lambda r: r.unit_code,
        key=lambda r: f"{r.unit_code}/{r.month}",
        key_field="month",
        columns=lambda subjects, rows: [
            [subjects.units[r.unit_code] for r in rows],
            [parse_month(r.month) for r in rows],
            [r.satisfaction_pct for r in rows],
            [r.dossiers_received for r in rows],
            [r.dossiers_late for r in rows],
            [r.par_score for r in rows],
        ],
    )


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
