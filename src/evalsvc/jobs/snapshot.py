"""Step 1 of a recomputation: read every input in one snapshot.

One REPEATABLE READ transaction sees the registry, the year-wide tables, the period's
month rows, the organisation stored with the run (``store.results.snapshot_org``), the
published run of the period (a subtree run's base) and the previous period's ranks, all
as of the same moment. With a ``Reader`` a second connection joins the snapshot
(``pg_export_snapshot``) and reads the task totals, a year's stored carries (decompressed
in a thread meanwhile) and the registry's content key (``store.results.org_digest``) while
the first reads the rest: the server scans on both cores.

A city-wide year (:class:`Reuse`) does not read the per-month rows of a month whose rows
no write has changed since a month run read them (``store.results.unchanged_period_runs``)
when that run's fingerprint is the month's (its stored rows digest with what this snapshot
read): it takes the month's carry from that run instead (docs/recompute.md, "Reuse").
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from datetime import date
from typing import Any

import asyncpg
import numpy as np

from evalsvc.domain.recompute import PeriodSpan
from evalsvc.jobs import carries, inputs
from evalsvc.scoring import Profile
from evalsvc.scoring import levels as lv
from evalsvc.scoring.carry import MonthCarry
from evalsvc.scoring.inputs import agency_units
from evalsvc.store import results as result_store

Reader = Callable[[], AbstractAsyncContextManager[asyncpg.Connection]]
"""Lends a second connection to the same database for the reading stage (optional)."""

SIDE_TABLES = inputs.MONTH_TABLES[:1]
"""Read on the second connection (the task totals: about half of the reading)."""


@dataclasses.dataclass(frozen=True, slots=True)
class Reuse:
    """What a city-wide year's month runs must share with it to give it their months."""

    profile: dict[str, Any]
    variant_digest: str | None
    scoring_version: str


@dataclasses.dataclass(frozen=True, slots=True)
class Snapshot:
    """What a run read: its inputs, the organisation stored for it, the published run of
    its period (``base``), the previous period's unit ranks (``previous``), the snapshot
    itself (``pg_current_snapshot()`` as text) and the periods taken from month runs
    (``reused``, by first day, with their ``carries``; their rows in ``city`` are empty)."""

    city: inputs.City
    org_id: int
    base: int | None
    previous: dict[int, int]
    read_snapshot: str
    reused: dict[date, result_store.UnchangedRun]
    carries: dict[date, MonthCarry]


def _covered(starts: list[date], profile: Profile) -> list[date]:
    """The months of the periods starting on ``starts``."""
    months = []
    for s in starts:
        for i in range(profile.period_months):
            k = s.month - 1 + i
            months.append(date(s.year + k // 12, k % 12 + 1, 1))
    return months


def _confirm(
    city: inputs.City,
    candidates: dict[date, result_store.UnchangedRun],
    profile: Profile,
    version: str,
) -> dict[date, result_store.UnchangedRun]:
    """The candidates whose fingerprint is the period's, computed from what this snapshot
    read (``city``, where their periods have no per-month rows) and the candidate's stored
    rows digest (CPU only)."""
    known = {s: c.rows_digest for s, c in candidates.items()}
    fps = inputs.period_fingerprints(city, profile, version, known, only=candidates.keys())
    return {s: c for s, c in candidates.items() if fps[s][0] == c.fingerprint}


def _agencies(city: inputs.City) -> tuple[list[int], list[int]]:
    """Unit ids and each one's agency (the quota's rule: none -> the unit itself)."""
    rows = agency_units(city.org)
    own = np.arange(rows.shape[0], dtype=np.int64)
    return city.unit_ids.tolist(), city.unit_ids[np.where(rows >= 0, rows, own)].tolist()


def _decode(blobs: dict[int, bytes]) -> dict[int, MonthCarry]:
    """The candidates' carries (run id -> carry), decompressed (CPU: in a thread)."""
    return {run_id: carries.from_bytes(blob) for run_id, blob in blobs.items()}


async def read(
    conn: asyncpg.Connection,
    period: PeriodSpan,
    profile: Profile,
    reader: Reader | None,
    reuse: Reuse | None = None,
) -> Snapshot:
    """Read a run's inputs in one snapshot (see the module docstring)."""
    months = period.month_starts()
    # Not read-only: the organisation snapshot is stored from this same snapshot.
    async with conn.transaction(isolation="repeatable_read"):
        await conn.execute("set local jit = off")  # compiling costs more than it saves here
        read_snapshot: str = await conn.fetchval("select pg_current_snapshot()::text")
        candidates: dict[date, result_store.UnchangedRun] = {}
        if reuse is not None and period.kind == "year":
            candidates = await result_store.unchanged_period_runs(
                conn,
                inputs.period_starts(period, profile),
                reuse.profile,
                reuse.variant_digest,
                reuse.scoring_version,
            )
        skip = set(_covered(sorted(candidates), profile))
        taken = [c.run_id for c in candidates.values()]
        digest: str | None = None
        if reader is None:
            base_rows = await inputs.read_base(conn, period)
            rows = await inputs.read_month_rows(conn, months, skip=skip)
            blobs = await result_store.carries_of_runs(conn, taken)
            loaded = await asyncio.to_thread(_decode, blobs)
        else:
            exported: str = await conn.fetchval("select pg_export_snapshot()")

            async def side_rows() -> tuple[inputs.MonthRows, dict[int, MonthCarry], str]:
                async with (
                    reader() as side,
                    side.transaction(isolation="repeatable_read", readonly=True),
                ):
                    await side.execute(f"set transaction snapshot '{exported}'")
                    await side.execute("set local jit = off")
                    part = await inputs.read_month_rows(side, months, SIDE_TABLES, skip)
                    blobs = await result_store.carries_of_runs(side, taken)
                    # the carries are decompressed while this connection keys the registry
                    decoding = asyncio.ensure_future(asyncio.to_thread(_decode, blobs))
                    try:
                        key = await result_store.org_digest(side)
                    except BaseException:
                        decoding.cancel()
                        raise
                    return part, await decoding, key

            async def main_rows() -> tuple[inputs.Base, inputs.MonthRows]:
                base = await inputs.read_base(conn, period)
                main_parts = inputs.MONTH_TABLES[len(SIDE_TABLES) :]
                return base, await inputs.read_month_rows(conn, months, main_parts, skip)

            async with asyncio.TaskGroup() as tg:
                side = tg.create_task(side_rows())
                main = tg.create_task(main_rows())
            base_rows, main_part = main.result()
            side_part, loaded, digest = side.result()
            rows = inputs.merge_month_rows(side_part, main_part)
        city = inputs.assemble(base_rows, rows, profile)
        reused: dict[date, result_store.UnchangedRun] = {}
        if candidates:
            assert reuse is not None
            reused = await asyncio.to_thread(
                _confirm, city, candidates, profile, reuse.scoring_version
            )
            missed = skip - set(_covered(sorted(reused), profile))
            if missed:  # unchanged rows, other inputs changed: the month is read after all
                extra = await inputs.read_month_rows(conn, sorted(missed))
                city = inputs.assemble(base_rows, inputs.add_month_rows(rows, extra), profile)
        org_id = await result_store.snapshot_org(conn, _agencies(city), digest)
        await result_store.sync_reason_codes(conn, lv.REASONS)
        published = await result_store.published_run(conn, period.text)
        previous = await result_store.previous_ranks(conn, period.previous(), period.kind == "year")
    taken_carries = {s: loaded[c.run_id] for s, c in reused.items()}
    return Snapshot(city, org_id, published, previous, read_snapshot, reused, taken_carries)
