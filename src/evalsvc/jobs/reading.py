"""The reading stage of a recomputation: what to read, what to take from earlier runs.

Everything is read in the job's repeatable-read snapshot. A city-wide year run takes the
months whose input versions have not moved from their month runs' carries, the registry
comes from the previous run's pack while its version stands, and with a ``Reader`` a second
connection joins the snapshot so the server scans on both cores (docs/recompute.md,
"Reading less").
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from datetime import date

import asyncpg

from evalsvc.domain.recompute import PeriodSpan
from evalsvc.jobs import carry_codec, inputs
from evalsvc.scoring import Profile
from evalsvc.scoring.carry import MonthCarry
from evalsvc.store import carries as carry_store
from evalsvc.store import input_packs, input_versions

Reader = Callable[[], AbstractAsyncContextManager[asyncpg.Connection]]
"""Lends a second connection to the same database for the reading stage (optional)."""


@dataclasses.dataclass(slots=True)
class Reuse:
    """Which months of a run come from earlier month runs, and how to stamp new carries.

    A city-wide year run takes a month from the newest complete city-wide month run whose
    carry was computed at the month's current input versions (``input_versions``: no
    change since) under the same profile, registry and remediation items; it reads and
    scores only the other months. Every city-wide run stores the carries of the months it
    scored (``payloads``), stamped with the versions it read them at.
    """

    versions: dict[int, int]
    profile_key: str
    registry_key: str
    found: dict[date, carry_store.Candidate]
    packed: dict[date, bytes]
    payloads: dict[date, bytes] = dataclasses.field(default_factory=dict)
    registry: tuple[int, inputs.Registry] | None = None
    registry_payload: bytes | None = None

    @property
    def fingerprints(self) -> dict[date, str]:
        return {m: f.fingerprint for m, f in self.found.items()}

    def decoded(self) -> dict[date, MonthCarry]:
        return {m: carry_codec.decode(p) for m, p in self.packed.items()}

    def keys(self, month: date) -> carry_store.Keys:
        """What a carry of ``month`` computed by this run is valid under."""
        g = self.versions[input_versions.EVERY_MONTH]
        versions = (g, self.versions[inputs.yyyymm(month)])
        return carry_store.Keys(versions, self.profile_key, self.registry_key)


async def read_inputs(
    conn: asyncpg.Connection,
    period: PeriodSpan,
    profile: Profile,
    scope: int | None,
    reader: Reader | None,
) -> tuple[inputs.City, Reuse]:
    """Read the run's inputs in ``conn``'s snapshot (an open repeatable-read transaction).

    With a ``reader``, a second connection joins the snapshot (``pg_export_snapshot``) and
    reads the month rows and the carries while ``conn`` reads the registry and the
    year-wide tables: the server scans on both cores.
    """
    starts = period.month_starts()
    yms = [inputs.yyyymm(m) for m in starts]
    versions = await input_versions.versions(conn, [*yms, input_versions.REGISTRY])
    registry_version = versions[input_versions.REGISTRY]
    packed_registry = await input_packs.get(
        conn, inputs.registry_pack_kind(), period.year, registry_version
    )
    registry = None if packed_registry is None else inputs.unpack_registry(packed_registry)
    pkey = inputs.profile_key(profile)
    cands: dict[int, carry_store.Candidate] = {}
    if period.kind == "year" and scope is None:
        cands = await carry_store.candidates(
            conn, yms, [versions[ym] for ym in yms], versions[input_versions.EVERY_MONTH], pkey
        )
    planned = [m for m, ym in zip(starts, yms, strict=True) if ym not in cands]
    run_ids = [c.run_id for c in cands.values()]
    # Tasks and two thirds of the carries on one connection; the registry, the year-wide
    # tables, the other month tables and the other carries on the other (about the same
    # time each at city scale).
    side_parts = inputs.MONTH_TABLES[:1]
    main_parts = inputs.MONTH_TABLES[1:]
    side_ids, main_ids = run_ids[: len(run_ids) * 2 // 3], run_ids[len(run_ids) * 2 // 3 :]

    async def main_side() -> tuple[inputs.Base, inputs.MonthRows, dict[int, bytes]]:
        base = await inputs.read_base(conn, period, registry)
        rows = await inputs.read_month_rows(conn, planned, main_parts)
        return base, rows, await carry_store.payloads(conn, main_ids)

    async def month_side(side: asyncpg.Connection) -> tuple[inputs.MonthRows, dict[int, bytes]]:
        rows = await inputs.read_month_rows(side, planned, side_parts)
        return rows, await carry_store.payloads(side, side_ids)

    if reader is None:
        base, main_rows, main_packed = await main_side()
        side_rows, side_packed = await month_side(conn)
    else:
        snapshot: str = await conn.fetchval("select pg_export_snapshot()")

        async def joined() -> tuple[inputs.MonthRows, dict[int, bytes]]:
            async with (
                reader() as side,
                side.transaction(isolation="repeatable_read", readonly=True),
            ):
                await side.execute(f"set transaction snapshot '{snapshot}'")
                await side.execute("set local jit = off")
                return await month_side(side)

        async with asyncio.TaskGroup() as tg:
            main_task = tg.create_task(main_side())
            side_task = tg.create_task(joined())
        (base, main_rows, main_packed), (side_rows, side_packed) = (
            main_task.result(),
            side_task.result(),
        )
    rows = inputs.merge_month_rows(side_rows, main_rows)
    packed = main_packed | side_packed
    rkey = inputs.registry_key(base)
    found = {
        m: cands[ym]
        for m, ym in zip(starts, yms, strict=True)
        if ym in cands and cands[ym].registry_key == rkey
    }
    if len(found) < len(cands):  # registry digest differs: read those months after all
        rows = await inputs.read_month_rows(conn, [m for m in starts if m not in found])
    city = inputs.assemble(base, rows, profile)
    reuse = Reuse(versions, pkey, rkey, found, {m: packed[c.run_id] for m, c in found.items()})
    if registry is None:  # read as rows: kept packed for the next run (_write)
        reuse.registry = (registry_version, base.registry)
    return city, reuse


async def store_carry(conn: asyncpg.Connection, reuse: Reuse, run_id: int, start: date) -> None:
    """Keep what the year needs of ``run_id``'s month, valid at this run's input versions."""
    keys = reuse.keys(start)
    if not await carry_store.restamp(conn, run_id, keys):
        ym = inputs.yyyymm(start)
        await carry_store.write(conn, run_id, ym, keys, reuse.payloads[start])
