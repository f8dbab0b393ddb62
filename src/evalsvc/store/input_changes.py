"""Which rows of a month changed since a snapshot (``0011_input_changes.sql``).

Triggers on the per-month tables note, in the changing transaction, the cadres a statement
changed per month (past 5,000 in a month: the month as a whole). A run that holds a pack of
the month read in an earlier snapshot asks which notes that snapshot did not see, and reads
only those cadres' rows again.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import asyncpg

from evalsvc.store.sqlfiles import queries

Q = queries("input_changes")

TABLES = {1: "task_month_totals", 2: "supervisor_assessments", 3: "unit_indicators"}
"""The ``tbl`` codes of the notes."""


@dataclass(frozen=True, slots=True)
class Changes:
    """Per table: changed as a whole (``whole``), or the cadres changed (``cadres``)."""

    whole: frozenset[str] = frozenset()
    cadres: dict[str, list[int]] = field(default_factory=dict)


async def since(conn: asyncpg.Connection, month: int, snapshot: str) -> Changes:
    """The changes of ``month`` (yyyymm) that ``snapshot`` did not see."""
    whole: set[str] = set()
    cadres: dict[str, list[int]] = {}
    for row in await conn.fetch(Q["changes_since"], month, snapshot):
        table = TABLES[int(row["tbl"])]
        if row["cadre_id"] is None:
            whole.add(table)
        else:
            cadres.setdefault(table, []).append(int(row["cadre_id"]))
    return Changes(frozenset(whole), cadres)


async def months_to_repack(conn: asyncpg.Connection, kind: str, at_least: int) -> list[int]:
    """Months (yyyymm) whose task totals or assessments changed since their pack of ``kind``
    as a whole, in at least ``at_least`` cadres of a table, or with no patchable pack."""
    return [int(r[0]) for r in await conn.fetch(Q["months_to_repack"], kind, at_least)]
