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


async def fetch_counted(
    conn: asyncpg.Connection, query: str, *args: object, limit: int, offset: int
) -> tuple[list[dict[str, Any]], int]:
    """A page of ``query`` (its last two parameters are ``limit`` and ``offset``, its rows carry
    ``total_count``: ``count(*) over ()``, counted before ``limit``/``offset``) and the real total.

    A page past the last row has no row to carry the count, so the query is asked once more for
    its first row: the total never depends on where the page starts.
    """
    rows = await conn.fetch(query, *args, limit, offset)
    if not rows and offset > 0:
        first = await conn.fetch(query, *args, 1, 0)
        return [], int(first[0]["total_count"]) if first else 0
    items = [dict(r) for r in rows]
    total = int(items[0]["total_count"]) if items else 0
    for item in items:
        item.pop("total_count", None)
    return items, total
