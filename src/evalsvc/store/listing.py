"""Filtered, paginated lists built from a base query and a whitelist of filter clauses."""

from __future__ import annotations

from dataclasses import dataclass

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
