"""Month carries: what a year needs of a city-wide month run, stored with that run.

The payload is packed and unpacked by ``jobs/carry_codec.py`` (the store knows bytes, not
the scoring core's types). A carry is valid for the input versions it was computed at
(``input_versions``) under one registry-and-profile digest (``carry_key``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import asyncpg

from evalsvc.store.sqlfiles import queries

Q = queries("carries")


@dataclasses.dataclass(frozen=True, slots=True)
class Found:
    """A reusable month run: its id, month fingerprint and packed carry."""

    run_id: int
    fingerprint: str
    payload: bytes


async def write(
    conn: asyncpg.Connection,
    run_id: int,
    month: int,
    versions: tuple[int, int],
    carry_key: str,
    payload: bytes,
) -> None:
    """Store ``run_id``'s carry, computed from inputs at ``versions`` (month 0, month)."""
    await conn.execute(
        Q["carry_upsert"], run_id, month, versions[0], versions[1], carry_key, payload
    )


async def restamp(
    conn: asyncpg.Connection, run_id: int, versions: tuple[int, int], carry_key: str
) -> bool:
    """Mark ``run_id``'s carry valid at ``versions`` (its month's content is unchanged)."""
    status: str = await conn.execute(
        Q["carry_restamp"], run_id, versions[0], versions[1], carry_key
    )
    return status.endswith(" 1")


async def find(
    conn: asyncpg.Connection,
    months: Sequence[int],
    month_versions: Sequence[int],
    global_version: int,
    carry_key: str,
) -> dict[int, Found]:
    """Per month (yyyymm), a complete city-wide month run whose carry is still valid."""
    rows = await conn.fetch(
        Q["carry_candidates"], list(months), list(month_versions), carry_key, global_version
    )
    if not rows:
        return {}
    payloads = {
        int(r["run_id"]): r["carry"]
        for r in await conn.fetch(Q["carry_read"], [int(r["run_id"]) for r in rows])
    }
    return {
        int(r["month"]): Found(int(r["run_id"]), str(r["fingerprint"]), payloads[r["run_id"]])
        for r in rows
    }
