"""Month carries: what a year needs of a city-wide month run, stored with that run.

The payload is packed and unpacked by ``jobs/carry_codec.py`` (the store knows bytes, not
the scoring core's types). A carry is valid for the input versions it was computed at
(``input_versions``) under one profile digest and one registry digest (:class:`Keys`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import asyncpg

from evalsvc.store.sqlfiles import queries

Q = queries("carries")


@dataclasses.dataclass(frozen=True, slots=True)
class Candidate:
    """A month run whose carry matches the versions and profile asked for."""

    month: int
    run_id: int
    fingerprint: str
    registry_key: str


@dataclasses.dataclass(frozen=True, slots=True)
class Keys:
    """What a carry is valid under: input versions (month 0, month) and two digests."""

    versions: tuple[int, int]
    profile_key: str
    registry_key: str


async def write(
    conn: asyncpg.Connection, run_id: int, month: int, keys: Keys, payload: bytes
) -> None:
    """Store ``run_id``'s carry of ``month`` (yyyymm), valid under ``keys``."""
    g, m = keys.versions
    await conn.execute(
        Q["carry_upsert"], run_id, month, g, m, keys.profile_key, keys.registry_key, payload
    )


async def restamp(conn: asyncpg.Connection, run_id: int, keys: Keys) -> bool:
    """Mark ``run_id``'s carry valid at ``keys.versions`` (its month's content is unchanged).

    Returns ``False`` when the run has no carry under these digests.
    """
    g, m = keys.versions
    status: str = await conn.execute(
        Q["carry_restamp"], run_id, g, m, keys.profile_key, keys.registry_key
    )
    return status.endswith(" 1")


async def candidates(
    conn: asyncpg.Connection,
    months: Sequence[int],
    month_versions: Sequence[int],
    global_version: int,
    profile_key: str,
) -> dict[int, Candidate]:
    """Per month (yyyymm), the newest complete city-wide month run whose carry is valid at
    these versions under this profile (the registry digest is the caller's to check)."""
    rows = await conn.fetch(
        Q["carry_candidates"], list(months), list(month_versions), profile_key, global_version
    )
    return {
        int(r["month"]): Candidate(
            int(r["month"]), int(r["run_id"]), str(r["fingerprint"]), str(r["registry_key"])
        )
        for r in rows
    }


async def payloads(conn: asyncpg.Connection, run_ids: Sequence[int]) -> dict[int, bytes]:
    """The packed carries of ``run_ids``."""
    if not run_ids:
        return {}
    rows = await conn.fetch(Q["carry_read"], list(run_ids))
    return {int(r["run_id"]): r["carry"] for r in rows}


async def delete(conn: asyncpg.Connection, run_ids: Sequence[int]) -> None:
    """Forget the carries of ``run_ids`` (runs discarded or never committed)."""
    if run_ids:
        await conn.execute(Q["carry_delete"], list(run_ids))
