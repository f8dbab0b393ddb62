"""Sealed sheets while a round is open: accept what the server can check, store ciphertext.

The server sees the voter's token, the colleagues the sheet is for (the ledger needs them)
and the ciphertext's size; the marks and comments stay sealed to the round's public key
until the committee closes the round. A sheet is all or nothing: one ledger tag per
colleague and the sheet row go in one transaction (a second sheet for any of them: 409).
"""

from __future__ import annotations

import base64
import binascii
from typing import Any, Literal

import asyncpg

from evalsvc.domain.ballots import (
    MAX_COMMENT_CHARS,
    BallotKeys,
    ledger_tag,
    targets_tag,
    token_hash,
)
from evalsvc.domain.errors import Conflict, FieldProblem, Forbidden, RuleViolation, field_error
from evalsvc.domain.sheets import normalize_voter_code
from evalsvc.sealing import boxes, receipts
from evalsvc.store.sqlfiles import queries

Q = queries("sealed_ballots")
QB = queries("ballots")

SealedBy = Literal["client", "server"]
MAX_BALLOT_BYTES = 200 + 4 * MAX_COMMENT_CHARS + 2 * 64  # one ballot as JSON, generously


def max_sealed_bytes(n_targets: int) -> int:
    """Upper bound on a sheet's sealed size: nothing but ballots can be inside."""
    return boxes.SEAL_OVERHEAD + 100 + n_targets * MAX_BALLOT_BYTES


async def voter(conn: asyncpg.Connection, keys: BallotKeys, token: str) -> asyncpg.Record:
    code = normalize_voter_code(token)
    if code is None:
        raise Forbidden("unknown voter token")
    row = await conn.fetchrow(Q["voter_by_token"], token_hash(keys, code))
    if row is None:
        raise Forbidden("unknown voter token")
    return row


async def open_round_for(conn: asyncpg.Connection, voter_row: asyncpg.Record) -> asyncpg.Record:
    """The voter's round held FOR SHARE (the close waits), refused unless it takes ballots."""
    rnd = await conn.fetchrow(QB["round_lock_share"], voter_row["round_id"])
    assert rnd is not None
    if rnd["status"] != "open":
        raise Conflict(f"the round is {rnd['status']}; it takes no ballots")
    if not rnd["opens_at"] <= rnd["now"] < rnd["closes_at"]:
        raise Conflict("the round takes ballots only between opens_at and closes_at")
    return rnd


async def sheet_targets(
    conn: asyncpg.Connection,
    round_id: int,
    voter_row: asyncpg.Record,
    codes: list[str],
    *,
    single: bool = False,
) -> list[asyncpg.Record]:
    """The sheet's colleagues, checked: targets of the round, in the voter's group, not the
    voter, each once."""
    if len(set(codes)) != len(codes):
        raise field_error("targets", "a colleague appears twice on the sheet")
    rows = {r["code"]: r for r in await conn.fetch(Q["round_targets_by_codes"], round_id, codes)}
    problems = []
    for i, code in enumerate(codes):
        row = rows.get(code)
        field = "target" if single else f"targets[{i}]"
        if row is None:
            problems.append(FieldProblem(field, f"{code!r} is not a target of this round"))
        elif row["cadre_id"] == voter_row["cadre_id"]:
            problems.append(FieldProblem(field, "self-ballots are refused"))
        elif row["group_id"] != voter_row["group_id"]:
            problems.append(FieldProblem(field, f"{code!r} is outside your voting group"))
    if problems:
        raise RuleViolation("the sheet names colleagues you cannot ballot", problems)
    return [rows[c] for c in codes]


async def store_sheet(
    conn: asyncpg.Connection,
    keys: BallotKeys,
    round_id: int,
    voter_row: asyncpg.Record,
    targets: list[asyncpg.Record],
    sealed: bytes,
) -> bytes:
    """Ledger tags and the sealed sheet, in the caller's transaction. Returns the receipt."""
    if len(sealed) > max_sealed_bytes(len(targets)):
        raise field_error("sealed", "larger than a sheet for these colleagues can be")
    ids = [int(t["cadre_id"]) for t in targets]
    tags = [ledger_tag(keys, voter_row["id"], t, round_id) for t in ids]
    try:
        await conn.execute(Q["ledger_insert_many"], tags, round_id)
    except asyncpg.UniqueViolationError:
        raise Conflict(
            "this voter has already submitted a ballot for a colleague on this sheet"
        ) from None
    receipt = receipts.receipt(sealed)
    await conn.execute(
        Q["sheet_insert"], round_id, sealed, targets_tag(keys, round_id, ids), receipt
    )
    return receipt


def accepted(receipt: bytes, sealed_by: SealedBy, n_ballots: int) -> dict[str, Any]:
    return {
        "accepted": True,
        "ballots": n_ballots,
        "receipt": receipt.hex(),
        "sealed_by": sealed_by,
    }


async def submit_sealed(
    conn: asyncpg.Connection, keys: BallotKeys, token: str, codes: list[str], sealed_b64: str
) -> dict[str, Any]:
    """A whole sheet sealed by the voter's client (page script or the Python client)."""
    from evalsvc.store.sheets import submit_sealed_sheet  # sheets imports this module

    try:
        sealed = base64.b64decode(sealed_b64, validate=True)
    except (binascii.Error, ValueError):
        raise field_error("sealed", "not base64") from None
    if len(sealed) <= boxes.SEAL_OVERHEAD:
        raise field_error("sealed", "too short to be a sealed sheet")
    return await submit_sealed_sheet(conn, keys, token, codes, sealed)


async def public_key_b64(conn: asyncpg.Connection, round_id: int) -> str:
    """The round's public key as base64 ('' before it opens), for the page's sealing script."""
    key = await conn.fetchval(Q["round_public_key"], round_id)
    return base64.b64encode(bytes(key)).decode() if key else ""
