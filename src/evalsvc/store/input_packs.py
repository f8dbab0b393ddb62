"""Packed input arrays kept between recomputations (``0008_registry_packs.sql``).

A pack is valid for the input version it was read at (``input_versions``); the payload is
packed and unpacked by ``jobs/packing.py`` (kinds: ``jobs/packs.py``). One pack per (kind,
year): the newest. It keeps the snapshot it was read in, so a month's pack can be patched
with the rows changed since (``store/input_changes.py``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import asyncpg

from evalsvc.store.sqlfiles import queries

Q = queries("input_packs")
QC = queries("input_changes")


async def get_many(
    conn: asyncpg.Connection, wanted: Sequence[tuple[str, int, int]]
) -> dict[tuple[str, int], bytes]:
    """Of the ``(kind, year, version)`` wanted, the packs that exist, by ``(kind, year)``."""
    if not wanted:
        return {}
    kinds, years, versions = (list(c) for c in zip(*wanted, strict=True))
    rows = await conn.fetch(Q["packs_get"], kinds, years, versions)
    return {(r["kind"], r["year"]): r["payload"] for r in rows}


@dataclass(frozen=True, slots=True)
class StoredPack:
    """A pack at whatever version it was read, and the snapshot it was read in."""

    version: int
    payload: bytes
    snapshot: str


async def get_any(
    conn: asyncpg.Connection, wanted: Sequence[tuple[str, int]]
) -> dict[tuple[str, int], StoredPack]:
    """Of the ``(kind, year)`` wanted, the stored packs that know their snapshot."""
    if not wanted:
        return {}
    kinds, years = (list(c) for c in zip(*wanted, strict=True))
    rows = await conn.fetch(Q["packs_get_any"], kinds, years)
    return {
        (r["kind"], r["year"]): StoredPack(int(r["version"]), r["payload"], str(r["snapshot"]))
        for r in rows
    }


async def put(
    conn: asyncpg.Connection,
    kind: str,
    year: int,
    version: int,
    payload: bytes,
    snapshot: str | None,
    *,
    forget_changes: bool = False,
) -> None:
    """Keep ``payload`` as the pack of ``kind`` for ``year``, read at ``version`` in
    ``snapshot``.

    Args:
        forget_changes: a month's pack (``year`` is yyyymm): kept only if the stored one
            was not read in a later snapshot (``month_pack_put``); then the change notes
            of the month that the stored pack has seen are dropped, in the same transaction.
    """
    if not forget_changes:
        await conn.execute(Q["pack_put"], kind, year, version, payload, snapshot)
        return
    async with conn.transaction():
        await conn.execute(Q["month_pack_put"], kind, year, version, payload, snapshot)
        await conn.execute(QC["changes_forget"], kind, year)


async def forget_other_formats(conn: asyncpg.Connection, suffix: str) -> None:
    """Drop the packs whose kind does not end with ``suffix`` (an older payload format:
    never read again, and nothing would replace them)."""
    await conn.execute(Q["packs_forget_other_formats"], suffix)
