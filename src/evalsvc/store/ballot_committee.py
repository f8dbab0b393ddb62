"""The counting committee (tổ kiểm phiếu): members, the dealing of key shares at open,
each member's one collection of their share, and the check of shares at close.

The round's secret exists in memory only while it is dealt (open) and rebuilt (close). A
dealt share waits for its member sealed with a key derived from the service's secret and
the member; collecting it deletes that copy, so afterwards only the member holds it.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from typing import Any

import asyncpg
from nacl.exceptions import CryptoError
from nacl.secret import SecretBox

from evalsvc.domain.access import Principal
from evalsvc.domain.ballots import MIN_COMMITTEE, BallotKeys
from evalsvc.domain.errors import Conflict, FieldProblem, Forbidden, RuleViolation, field_error
from evalsvc.sealing import boxes, shares
from evalsvc.store.sqlfiles import queries

Q = queries("sealed_ballots")


async def set_members(conn: asyncpg.Connection, round_id: int, usernames: list[str]) -> None:
    """Replace the committee of a draft (usernames of enabled accounts, each once)."""
    wanted = [u.strip().lower() for u in usernames]
    if len(set(wanted)) != len(wanted):
        raise field_error("committee", "a member is named twice")
    rows = {r["username"]: r for r in await conn.fetch(Q["users_by_username"], wanted)}
    problems = [
        FieldProblem("committee", f"no account {name!r}") for name in wanted if name not in rows
    ]
    problems += [
        FieldProblem("committee", f"the account {name!r} is disabled")
        for name in wanted
        if name in rows and rows[name]["disabled_at"] is not None
    ]
    if problems:
        raise RuleViolation("the committee names unknown or disabled accounts", problems)
    await conn.execute(Q["committee_clear"], round_id)
    await conn.execute(Q["committee_insert"], round_id, [rows[n]["id"] for n in wanted])


async def members(conn: asyncpg.Connection, round_id: int) -> list[dict[str, Any]]:
    """Who is on the committee and whether each has collected their share (no share data)."""
    return [
        {
            "username": r["username"],
            "full_name": r["full_name"],
            "share_number": r["share_index"],
            "share_collected": r["collected_at"] is not None,
        }
        for r in await conn.fetch(Q["committee_members"], round_id)
    ]


def _wrap_box(keys: BallotKeys, round_id: int, user_id: int) -> SecretBox:
    if not keys.share_wrap:
        raise RuntimeError("ballot keys without a share-wrapping key")
    key = hmac.new(keys.share_wrap, f"{round_id}|{user_id}".encode(), hashlib.sha256).digest()
    return SecretBox(key)


async def deal(conn: asyncpg.Connection, keys: BallotKeys, round_id: int, threshold: int) -> bytes:
    """Make the round's key, deal one share per member, keep only the public key.

    Returns the public key. Called in the open transaction with the round locked.
    """
    rows = await conn.fetch(Q["committee_members"], round_id)
    if len(rows) < MIN_COMMITTEE:
        raise field_error(
            "committee", f"a round needs a counting committee of at least {MIN_COMMITTEE} people"
        )
    if threshold > len(rows):
        raise field_error(
            "threshold", f"{threshold} shares needed but the committee has {len(rows)} members"
        )
    secret = boxes.new_round_secret()
    dealt = shares.split(round_id, secret, threshold, len(rows))
    public = boxes.public_key(secret)
    del secret  # from here on only the shares can rebuild it
    user_ids = [r["user_id"] for r in rows]
    await conn.execute(
        Q["committee_deal"],
        round_id,
        user_ids,
        [s.index for s in dealt],
        [shares.share_hash(s) for s in dealt],
        [
            bytes(_wrap_box(keys, round_id, uid).encrypt(s.text.encode()))
            for uid, s in zip(user_ids, dealt, strict=True)
        ],
    )
    await conn.execute(Q["round_set_key"], round_id, public)
    return public


async def collect_share(
    conn: asyncpg.Connection, keys: BallotKeys, principal: Principal, round_id: int
) -> dict[str, Any]:
    """A member's share, handed over once; the service's copy is deleted in the same step."""
    if principal.kind != "user" or principal.user_id is None:
        raise Forbidden("shares are handed to committee members, signed in as themselves")
    async with conn.transaction():
        row = await conn.fetchrow(Q["committee_take_share"], round_id, principal.user_id)
        if row is None:
            member = await conn.fetchval(
                "select collected_at from ballot_committee where round_id = $1 and user_id = $2",
                round_id,
                principal.user_id,
            )
            if member is None:
                raise Forbidden("you are not on this round's counting committee")
            raise Conflict("your share of this round was already handed to you, once")
        try:
            text = _wrap_box(keys, round_id, principal.user_id).decrypt(row["wrapped_share"])
        except CryptoError:
            raise Conflict("the share does not open with this service's secret key") from None
    return {"round_id": round_id, "share_number": row["share_index"], "share": text.decode()}


@dataclass(frozen=True, slots=True)
class Rebuilt:
    secret: bytes
    actors: list[str]  # who entered the shares that were used


async def rebuild_secret(
    conn: asyncpg.Connection, round_id: int, threshold: int, public_key: bytes, texts: list[str]
) -> Rebuilt:
    """The round's secret from ``threshold`` or more members' shares, or a clear refusal
    (nothing is written either way)."""
    rows = {r["share_index"]: r for r in await conn.fetch(Q["committee_members"], round_id)}
    problems: list[FieldProblem] = []
    good: dict[int, shares.Share] = {}
    for i, text in enumerate(texts):
        field = f"shares[{i}]"
        try:
            share = shares.parse(text)
        except shares.ShareError as exc:
            problems.append(FieldProblem(field, str(exc)))
            continue
        if share.round_id != round_id:
            problems.append(FieldProblem(field, f"a share of round {share.round_id}"))
            continue
        row = rows.get(share.index)
        if row is None or bytes(row["share_hash"] or b"") != shares.share_hash(share):
            problems.append(FieldProblem(field, "not a committee member's share (mistyped?)"))
            continue
        if share.index in good:
            problems.append(FieldProblem(field, "the same share was entered twice"))
            continue
        good[share.index] = share
    if problems:
        raise RuleViolation("a share is wrong; the round stays open", problems)
    if len(good) < threshold:
        raise RuleViolation(
            f"closing needs the shares of {threshold} committee members; "
            f"{len(good)} given, the round stays open",
            [FieldProblem("shares", f"{threshold} shares needed, {len(good)} given")],
        )
    secret = shares.combine(list(good.values()))
    if boxes.public_key(secret) != public_key:
        raise RuleViolation(
            "the shares do not rebuild the round's key; the round stays open",
            [FieldProblem("shares", "they do not fit together")],
        )
    return Rebuilt(secret, [f"user:{rows[i]['user_id']}" for i in sorted(good)])
