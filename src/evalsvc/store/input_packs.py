"""Packed input arrays kept between recomputations (``0008_registry_packs.sql``).

A pack is valid for the input version it was read at (``input_versions``); the payload is
packed and unpacked by ``jobs/packing.py`` (kinds: ``jobs/packs.py``). One pack per (kind,
year): the newest.
"""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg

from evalsvc.store.sqlfiles import queries

Q = queries("input_packs")


async def get_many(
    conn: asyncpg.Connection, wanted: Sequence[tuple[str, int, int]]
) -> dict[tuple[str, int], bytes]:
    """Of the ``(kind, year, version)`` wanted, the packs that exist, by ``(kind, year)``."""
    if not wanted:
        return {}
    kinds, years, versions = (list(c) for c in zip(*wanted, strict=True))
    rows = await conn.fetch(Q["packs_get"], kinds, years, versions)
    return {(r["kind"], r["year"]): r["payload"] for r in rows}


async def put(conn: asyncpg.Connection, kind: str, year: int, version: int, payload: bytes) -> None:
    """Keep ``payload`` as the pack of ``kind`` for ``year``, read at ``version``."""
    await conn.execute(Q["pack_put"], kind, year, version, payload)


async def forget_other_formats(conn: asyncpg.Connection, suffix: str) -> None:
    """Drop the packs whose kind does not end with ``suffix`` (an older payload format:
    never read again, and nothing would replace them)."""
    await conn.execute(Q["packs_forget_other_formats"], suffix)
