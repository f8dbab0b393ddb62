"""Step 1 of a recomputation: read every input in one snapshot.

One REPEATABLE READ transaction sees the registry, the year-wide tables, the period's
month rows, the organisation stored with the run (``store.results.snapshot_org``), the
published run of the period (a subtree run's base) and the previous period's ranks, all
as of the same moment. With a ``Reader`` a second connection joins the snapshot
(``pg_export_snapshot``) and reads the task totals while the first reads the rest: the
server scans on both cores.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

import asyncpg
import numpy as np

from evalsvc.domain.recompute import PeriodSpan
from evalsvc.jobs import inputs
from evalsvc.scoring import Profile
from evalsvc.scoring import levels as lv
from evalsvc.scoring.inputs import agency_units
from evalsvc.store import results as result_store

Reader = Callable[[], AbstractAsyncContextManager[asyncpg.Connection]]
"""Lends a second connection to the same database for the reading stage (optional)."""

SIDE_TABLES = inputs.MONTH_TABLES[:1]
"""Read on the second connection (the task totals: about half of the reading)."""


@dataclasses.dataclass(frozen=True, slots=True)
class Snapshot:
    """What a run read: its inputs, the organisation stored for it, the published run of
    its period (``base``) and the previous period's unit ranks (``previous``)."""

    city: inputs.City
    org_id: int
    base: int | None
    previous: dict[int, int]


def _agencies(city: inputs.City) -> tuple[list[int], list[int]]:
    """Unit ids and each one's agency (the quota's rule: none -> the unit itself)."""
    rows = agency_units(city.org)
    own = np.arange(rows.shape[0], dtype=np.int64)
    return city.unit_ids.tolist(), city.unit_ids[np.where(rows >= 0, rows, own)].tolist()


async def read(
    conn: asyncpg.Connection, period: PeriodSpan, profile: Profile, reader: Reader | None
) -> Snapshot:
    """Read a run's inputs in one snapshot (see the module docstring)."""
    months = period.month_starts()
    # Not read-only: the organisation snapshot is stored from this same snapshot.
    async with conn.transaction(isolation="repeatable_read"):
        await conn.execute("set local jit = off")  # compiling costs more than it saves here
        if reader is None:
            base_rows = await inputs.read_base(conn, period)
            rows = await inputs.read_month_rows(conn, months)
        else:
            exported: str = await conn.fetchval("select pg_export_snapshot()")

            async def side_rows() -> inputs.MonthRows:
                async with (
                    reader() as side,
                    side.transaction(isolation="repeatable_read", readonly=True),
                ):
                    await side.execute(f"set transaction snapshot '{exported}'")
                    await side.execute("set local jit = off")
                    return await inputs.read_month_rows(side, months, SIDE_TABLES)

            async def main_rows() -> tuple[inputs.Base, inputs.MonthRows]:
                base = await inputs.read_base(conn, period)
                main_parts = inputs.MONTH_TABLES[len(SIDE_TABLES) :]
                return base, await inputs.read_month_rows(conn, months, main_parts)

            async with asyncio.TaskGroup() as tg:
                side = tg.create_task(side_rows())
                main = tg.create_task(main_rows())
            base_rows, main_part = main.result()
            rows = inputs.merge_month_rows(side.result(), main_part)
        city = inputs.assemble(base_rows, rows, profile)
        org_id = await result_store.snapshot_org(conn, _agencies(city))
        await result_store.sync_reason_codes(conn, lv.REASONS)
        published = await result_store.published_run(conn, period.text)
        previous = await result_store.previous_ranks(conn, period.previous(), period.kind == "year")
    return Snapshot(city, org_id, published, previous)
