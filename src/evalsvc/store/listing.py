"""Filtered, paginated lists built from a base query and a whitelist of filter clauses."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import asyncpg


@dataclass(frozen=True, slots=True)
class Filters:
    """A base ``select`` and ``count`` query plus the filters a caller asked for.

    ``clauses`` maps a filter name to SQL with one ``${}`` placeholder for its value; only
    names in it are ever turned into SQL, values always travel as parameters.
    """

    select: str
    count: str
    clauses: dict[str, str]
    values: dict[str, object]


@dataclass(frozen=True, slots=True)
class PageRows:
    rows: list[asyncpg.Record]
    total: int


async def fetch_page(
    conn: asyncpg.Connection, filters: Filters, *, order_by: str, limit: int, offset: int
) -> PageRows:
    where: list[str] = []
    args: list[object] = []
    for name, value in filters.values.items():
        args.append(value)
        where.append(filters.clauses[name].format(len(args)))
    condition = (" where " + " and ".join(where)) if where else ""
    total: int = await conn.fetchval(filters.count + condition, *args)
    page = f" order by {order_by} limit ${len(args) + 1} offset ${len(args) + 2}"
    rows = await conn.fetch(
        filters.select + condition + page,
        *args,
        limit,
        offset,
    )
    return PageRows(rows, total)


def page_total(rows: list[asyncpg.Record]) -> tuple[list[dict[str, Any]], int]:
    """A page's rows without their ``total_count`` column (``count(*) over ()``, counted
    before ``limit``/``offset``), and that total (0 when the page is empty)."""
    items = [dict(r) for r in rows]
    total = int(items[0]["total_count"]) if items else 0
    for item in items:
        item.pop("total_count", None)
    return items, total
