"""The reading stage of a recomputation: what to read, what to take from earlier runs.

Everything is read in the job's repeatable-read snapshot. A city-wide year run takes the
months whose input versions have not moved from their month runs' carries, the registry
and a period's year-wide inputs and each month's own rows come from the packs of earlier runs
while their versions stand (``jobs/packs.py``); with a ``Reader`` a second connection joins
the snapshot so the server scans on both cores (docs/recompute.md, "Reading less").
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from datetime import date

import asyncpg

from evalsvc.domain.recompute import PeriodSpan
from evalsvc.jobs import carry_codec, inputs, packs
from evalsvc.scoring import Profile
from evalsvc.scoring.carry import MonthCarry
from evalsvc.store import carries as carry_store
from evalsvc.store import input_changes, input_packs, input_versions

Reader = Callable[[], AbstractAsyncContextManager[asyncpg.Connection]]
"""Lends a second connection to the same database for the reading stage (optional)."""


@dataclasses.dataclass(slots=True)
class Reuse:
    """What a run takes from earlier runs, and what it keeps for the next ones.

    A city-wide year run takes a month from the newest complete city-wide month run whose
    carry was computed at the month's current input versions (``input_versions``: no
    change since) under the same profile, registry and remediation items; it reads and
    scores only the other months. Every city-wide run stores the carries of the months it
    scored (``payloads``), stamped with the versions it read them at — unless a complete
    run's carry is valid at those versions already (``covered``: a month run whose inputs
    have not changed since an earlier one; its rows are that run's rows).

    Inputs read as rows are kept packed (``to_pack``, built in the writing stage into
    ``new_packs`` and stored beside the results: ``jobs/packs.py``); ``from_packs`` names
    what came from packs (``registry``, ``base``, months as ``YYYY-MM``); ``patched`` the
    months taken from an older pack with the rows changed since read again (those changes
    noted by ``input_changes``); ``snapshot`` the snapshot the inputs were read in.
    """

    versions: dict[int, int]
    profile_key: str
    registry_key: str
    found: dict[date, carry_store.Candidate]
    carried: dict[date, asyncio.Future[MonthCarry]]
    payloads: dict[date, bytes] = dataclasses.field(default_factory=dict)
    covered: set[date] = dataclasses.field(default_factory=set)
    to_pack: list[tuple[packs.PackKey, Callable[[], bytes]]] = dataclasses.field(
        default_factory=list
    )
    new_packs: list[tuple[packs.PackKey, bytes]] = dataclasses.field(default_factory=list)
    from_packs: list[str] = dataclasses.field(default_factory=list)
    patched: list[date] = dataclasses.field(default_factory=list)
    snapshot: str | None = None

    @property
    def fingerprints(self) -> dict[date, str]:
        return {m: f.fingerprint for m, f in self.found.items()}

    async def decoded(self) -> dict[date, MonthCarry]:
        """The carries taken, decoded (in worker threads since their payloads arrived)."""
        return {m: await f for m, f in self.carried.items()}

    def pack_inputs(self) -> None:
        """Build the payloads of the inputs read as rows (CPU only: off the event loop)."""
        self.new_packs = [(key, build()) for key, build in self.to_pack]

    def keys(self, month: date) -> carry_store.Keys:
        """What a carry of ``month`` computed by this run is valid under."""
        g = self.versions[input_versions.EVERY_MONTH]
        versions = (g, self.versions[inputs.yyyymm(month)])
        return carry_store.Keys(versions, self.profile_key, self.registry_key)


REPACK_AFTER = 5_000
"""A patched month's pack is stored again once this many of its cadres' rows were read
again (per table): below it, storing the month (~13 MB packed and compressed: ~0.1 s of
CPU beside the run's own work) costs a run more than the next run's patch of the same rows
(a few thousand rows by primary key, ~0.03 s) would."""


@dataclasses.dataclass(slots=True)
class _Unpacked:
    """Inputs found packed at their current versions.

    ``patched``: months from an older pack and the rows changed since; ``repack``: those
    of them worth storing packed again (:data:`REPACK_AFTER`).
    """

    registry: inputs.Registry | None
    base: inputs.Base | None
    months: dict[date, inputs.MonthRows]
    patched: dict[date, inputs.MonthRows] = dataclasses.field(default_factory=dict)
    repack: set[date] = dataclasses.field(default_factory=set)


async def _patch(
    conn: asyncpg.Connection, months: list[date], versions: dict[int, int]
) -> tuple[dict[date, inputs.MonthRows], set[date]]:
    """Months without a pack at their current version, from their stored pack (an older
    version) and the rows of the cadres changed since its snapshot, and those of them
    changed in enough rows to be packed again. A month changed as a whole since (a bulk
    import, a TRUNCATE) is left to be read."""
    keys = {m: packs.month_key(m, versions[inputs.yyyymm(m)]) for m in months}
    stored = await input_packs.get_any(conn, [(k.kind, k.year) for k in keys.values()])
    out: dict[date, inputs.MonthRows] = {}
    repack: set[date] = set()
    for month, key in keys.items():
        pack = stored.get((key.kind, key.year))
        if pack is None:
            continue
        changes = await input_changes.since(conn, key.year, pack.snapshot)
        if changes.whole - {"unit_indicators"}:
            continue
        parts = [*changes.cadres, *(changes.whole & {"unit_indicators"})]
        fresh = await inputs.read_month_rows(conn, [month], parts, changes.cadres)
        packed = await asyncio.to_thread(packs.unpack_month, pack.payload, month)
        out[month] = packs.patch_month(packed, fresh, changes.cadres)
        if max(map(len, changes.cadres.values()), default=0) >= REPACK_AFTER:
            repack.add(month)
    return out, repack


async def _unpack(
    conn: asyncpg.Connection,
    period: PeriodSpan,
    versions: dict[int, int],
    months: list[date],
) -> _Unpacked:
    reg_key = packs.registry_key(period.year, versions[input_versions.REGISTRY])
    base_key = packs.base_key(period, versions[input_versions.EVERY_MONTH])
    month_keys = {m: packs.month_key(m, versions[inputs.yyyymm(m)]) for m in months}
    wanted = [reg_key, base_key, *month_keys.values()]
    found = await input_packs.get_many(conn, [(k.kind, k.year, k.version) for k in wanted])

    def payload(key: packs.PackKey) -> bytes | None:
        return found.get((key.kind, key.year))

    missing = [m for m, k in month_keys.items() if (k.kind, k.year) not in found]
    patched, repack = await _patch(conn, missing, versions) if missing else ({}, set())
    if not found:
        return _Unpacked(None, None, {}, patched, repack)
    reg_payload, base_payload = payload(reg_key), payload(base_key)
    registry = None
    if reg_payload is not None:
        registry = await asyncio.to_thread(packs.unpack_registry, reg_payload)
    confidence = None
    if registry is not None and base_payload is not None:  # votes are never packed
        tables = await inputs.installed_tables(conn)
        confidence = await inputs.read_confidence(conn, tables, registry.cadre_ids, period.year)

    def unpack() -> _Unpacked:
        base = None
        if registry is not None and base_payload is not None and confidence is not None:
            base = packs.unpack_base(base_payload, period, registry, confidence)
        rows = {
            m: packs.unpack_month(p, m)
            for m, k in month_keys.items()
            if (p := payload(k)) is not None
        }
        return _Unpacked(registry, base, rows, patched, repack)

    return await asyncio.to_thread(unpack)


Decoding = dict[int, asyncio.Future[MonthCarry]]


async def _decoding(conn: asyncpg.Connection, run_ids: list[int]) -> Decoding:
    """The carries of ``run_ids``, each decoded in a worker thread as soon as it arrived
    (while the next one is read)."""
    out: Decoding = {}
    for run_id in run_ids:
        payload = (await carry_store.payloads(conn, [run_id])).get(run_id)
        if payload is not None:
            out[run_id] = asyncio.ensure_future(asyncio.to_thread(carry_codec.decode, payload))
    return out


async def read_inputs(
    conn: asyncpg.Connection,
    period: PeriodSpan,
    profile: Profile,
    scope: int | None,
    reader: Reader | None,
) -> tuple[inputs.City, Reuse]:
    """Read the run's inputs in ``conn``'s snapshot (an open repeatable-read transaction).

    What is packed at its current version is unpacked (``jobs/packs.py``), a month packed
    at an older one is patched with the rows changed since (:func:`_patch`), the rest read
    as rows. With a ``reader``, when rows or carries are to be read, a second connection
    joins the snapshot (``pg_export_snapshot``) and reads the task totals and some carries
    while ``conn`` reads the registry, the year-wide tables and the other month tables: the
    server scans on both cores.
    """
    starts = period.month_starts()
    yms = [inputs.yyyymm(m) for m in starts]
    snapshot: str = await conn.fetchval("select pg_current_snapshot()::text")  # packs keep it
    versions = await input_versions.versions(conn, [*yms, input_versions.REGISTRY])
    pkey = inputs.profile_key(profile)
    cands: dict[int, carry_store.Candidate] = {}
    # Carries are of months: a quarterly profile's year reads its months and pools them.
    if period.kind == "year" and scope is None and profile.period == "month":
        cands = await carry_store.candidates(
            conn, yms, [versions[ym] for ym in yms], versions[input_versions.EVERY_MONTH], pkey
        )
    planned = [m for m, ym in zip(starts, yms, strict=True) if ym not in cands]
    unpacked = await _unpack(conn, period, versions, planned)
    to_read = [m for m in planned if m not in unpacked.months and m not in unpacked.patched]
    run_ids = [c.run_id for c in cands.values()]
    # Tasks and two thirds of the carries on one connection; the registry, the year-wide
    # tables, the other month tables and the other carries on the other (about the same
    # time each at city scale).
    side_parts = inputs.MONTH_TABLES[:1]
    main_parts = inputs.MONTH_TABLES[1:]
    side_ids, main_ids = run_ids[: len(run_ids) * 2 // 3], run_ids[len(run_ids) * 2 // 3 :]

    async def main_side() -> tuple[inputs.Base, inputs.MonthRows, Decoding]:
        base = unpacked.base or await inputs.read_base(conn, period, unpacked.registry)
        rows = await inputs.read_month_rows(conn, to_read, main_parts)
        return base, rows, await _decoding(conn, main_ids)

    async def month_side(side: asyncpg.Connection) -> tuple[inputs.MonthRows, Decoding]:
        rows = await inputs.read_month_rows(side, to_read, side_parts)
        return rows, await _decoding(side, side_ids)

    if reader is None or not (to_read or side_ids):
        base, main_rows, main_packed = await main_side()
        side_rows, side_packed = await month_side(conn)
    else:
        exported: str = await conn.fetchval("select pg_export_snapshot()")

        async def joined() -> tuple[inputs.MonthRows, Decoding]:
            async with (
                reader() as side,
                side.transaction(isolation="repeatable_read", readonly=True),
            ):
                await side.execute(f"set transaction snapshot '{exported}'")
                await side.execute("set local jit = off")
                return await month_side(side)

        async with asyncio.TaskGroup() as tg:
            main_task = tg.create_task(main_side())
            side_task = tg.create_task(joined())
        (base, main_rows, main_packed), (side_rows, side_packed) = (
            main_task.result(),
            side_task.result(),
        )
    read_rows = inputs.merge_month_rows(side_rows, main_rows)
    packed = main_packed | side_packed
    rkey = inputs.registry_key(base)
    found = {
        m: cands[ym]
        for m, ym in zip(starts, yms, strict=True)
        if ym in cands and cands[ym].registry_key == rkey
    }
    if len(found) < len(cands):  # registry digest differs: read those months after all
        again = [m for m in starts if m not in found and m not in planned]
        read_rows = packs.join_months([read_rows, await inputs.read_month_rows(conn, again)])
    rows = packs.join_months([read_rows, *unpacked.months.values(), *unpacked.patched.values()])
    city = inputs.assemble(base, rows, profile)
    taken = {c.run_id for c in found.values()}
    await asyncio.gather(*(f for run_id, f in packed.items() if run_id not in taken))
    reuse = Reuse(versions, pkey, rkey, found, {m: packed[c.run_id] for m, c in found.items()})
    reuse.snapshot = snapshot
    if period.kind == "month" and scope is None and profile.period == "month":
        valid = await carry_store.candidates(
            conn, yms, [versions[ym] for ym in yms], versions[input_versions.EVERY_MONTH], pkey
        )
        reuse.covered = {
            m
            for m, ym in zip(starts, yms, strict=True)
            if ym in valid and valid[ym].registry_key == rkey
        }
    _keep(reuse, period, unpacked, base, read_rows)
    return city, reuse


def _keep(
    reuse: Reuse,
    period: PeriodSpan,
    unpacked: _Unpacked,
    base: inputs.Base,
    read_rows: inputs.MonthRows,
) -> None:
    """Note what was read as rows, to be packed for the next run."""
    v = reuse.versions
    if unpacked.registry is None:
        key = packs.registry_key(period.year, v[input_versions.REGISTRY])
        reuse.to_pack.append((key, lambda: packs.pack_registry(base.registry)))
    else:
        reuse.from_packs.append("registry")
    if unpacked.base is None:
        key = packs.base_key(period, v[input_versions.EVERY_MONTH])
        reuse.to_pack.append((key, lambda: packs.pack_base(base)))
    else:
        reuse.from_packs.append("base")
    repack = {m: unpacked.patched[m] for m in unpacked.repack}
    for month, rows in (packs.split_months(read_rows) | repack).items():
        key = packs.month_key(month, v[inputs.yyyymm(month)])
        reuse.to_pack.append((key, functools.partial(packs.pack_month, rows)))
    reuse.from_packs += [f"{m:%Y-%m}" for m in unpacked.months]
    reuse.patched = sorted(unpacked.patched)


async def store_carry(conn: asyncpg.Connection, reuse: Reuse, run_id: int, start: date) -> None:
    """Keep what the year needs of ``run_id``'s month, valid at this run's input versions."""
    keys = reuse.keys(start)
    if not await carry_store.restamp(conn, run_id, keys):
        ym = inputs.yyyymm(start)
        await carry_store.write(conn, run_id, ym, keys, reuse.payloads[start])
