"""The filed reports (XLSX, PDF) of a unit's members and of the rankings, built from the
same read side as the JSON answers (``published.results``), so both always agree."""

from __future__ import annotations

import asyncio
from datetime import date, datetime, timedelta, timezone
from typing import Literal

import asyncpg

from evalsvc.domain.access import Principal
from evalsvc.domain.recompute import PeriodSpan, parse_period
from evalsvc.published import results
from evalsvc.reports.pdf import to_pdf
from evalsvc.reports.tables import Report, members_report, rankings_report
from evalsvc.reports.xlsx import to_xlsx
from evalsvc.store import units as unit_store

FileFormat = Literal["xlsx", "pdf"]
ALL = 1_000_000
"""Reports hold every row (a unit's members, a city's units): no paging."""


HANOI = timezone(timedelta(hours=7), "ICT")


def hanoi_now() -> datetime:
    """Reports print Hà Nội time, as the pages do."""
    return datetime.now(HANOI)


def _shown_period(asked: str | None, span: PeriodSpan, annual: bool, month: date) -> str:
    """The period a report names: the year, or the asked quarter (a quarterly year's run
    holds it as the quarter's first month), or the month."""
    if annual:
        return span.text
    if asked and parse_period(asked).kind == "quarter":
        return parse_period(asked).text
    return month.strftime("%Y-%m")


async def render(report: Report, fmt: FileFormat) -> bytes:
    """Rendering is CPU work: off the event loop."""
    return await asyncio.to_thread(to_xlsx if fmt == "xlsx" else to_pdf, report)


async def members_report_of(
    conn: asyncpg.Connection,
    principal: Principal,
    code: str,
    *,
    period: str | None,
    run: int | None,
    subtree: bool = False,
    level: str | None = None,
    position: str | None = None,
) -> Report:
    unit = await unit_store.get_unit(conn, code, principal)
    items, _ = await results.unit_members(
        conn, principal, code, period=period, run=run, subtree=subtree, level=level,
        position=position, limit=ALL, offset=0,
    )  # fmt: skip
    run_id, span, annual, month = await results.resolve(conn, period, run)
    return members_report(
        items,
        period=_shown_period(period, span, annual, month),
        unit_code=unit.code,
        unit_name=unit.name + (" và các đơn vị trực thuộc" if subtree else ""),
        run_id=run_id,
        generated=hanoi_now(),
    )


async def rankings_report_of(
    conn: asyncpg.Connection, *, period: str | None, run: int | None, block: str | None
) -> Report:
    rows, _ = await results.rankings(conn, period=period, run=run, block=block, limit=ALL, offset=0)
    items = [r for r in rows if r.get("ranked", True)]
    unranked = [r for r in rows if not r.get("ranked", True)]
    run_id, span, annual, month = await results.resolve(conn, period, run)
    return rankings_report(
        items,
        unranked,
        period=_shown_period(period, span, annual, month),
        block=block,
        run_id=run_id,
        generated=hanoi_now(),
    )
