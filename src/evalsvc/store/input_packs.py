"""Packed input arrays kept between recomputations (``0008_registry_packs.sql``).

A pack is valid for the input version it was read at (``input_versions``); the payload is
packed and unpacked by ``jobs/packing.py``. One pack per (kind, year): the newest.
"""

from __future__ import annotations

import asyncpg

from evalsvc.store.sqlfiles import queries

Q = queries("input_packs")


async def get(conn: asyncpg.Connection, kind: str, year: int, version: int) -> bytes | None:
    """The pack of ``kind`` for ``year`` read at ``version``, or ``None``."""
    payload: bytes | None = await conn.fetchval(Q["pack_get"], kind, year, version)
    return payload


async def put(conn: asyncpg.Connection, kind: str, year: int, version: int, payload: bytes) -> None:
    """Keep ``payload`` as the pack of ``kind`` for ``year``, read at ``version``."""
    await conn.execute(Q["pack_put"], kind, year, version, payload)
