"""Receipts of a closed round: the inclusion proof of one receipt in the published root."""

from __future__ import annotations

from typing import Any

import asyncpg

from evalsvc.domain.errors import Conflict, NotFound
from evalsvc.sealing import receipts
from evalsvc.store.sqlfiles import queries

Q = queries("sealed_ballots")


async def inclusion(conn: asyncpg.Connection, round_id: int, value: bytes) -> dict[str, Any] | None:
    """The proof for ``value`` (None if it was not counted). Before close: 409."""
    rnd = await conn.fetchrow(Q["round_crypto"], round_id)
    if rnd is None or rnd["status"] == "draft":
        raise NotFound(f"no ballot round {round_id}")
    if rnd["status"] == "open":
        pending = await conn.fetchval(Q["receipt_pending"], round_id, value)
        raise Conflict(
            "the round is open: the sheet is "
            + ("received; its proof comes with the close" if pending else "not received")
        )
    leaves = [bytes(r["receipt"]) for r in await conn.fetch(Q["receipts_of_round"], round_id)]
    steps = receipts.proof(leaves, value)
    if steps is None:
        return None
    return {
        "round_id": round_id,
        "receipt": value.hex(),
        "root": bytes(rnd["receipts_root"]).hex(),
        "leaves": len(leaves),
        "proof": [{"side": s.side, "hash": s.hash.hex()} for s in steps],
    }
