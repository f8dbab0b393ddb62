"""The counting committee (tổ kiểm phiếu): members, their registered keys, the dealing of
key shares at open, each member's fetch of their sealed share, and the check of shares at
close.

The round's secret exists in memory only while it is dealt (open) and rebuilt (close). A
dealt share is sealed to its member's own X25519 public key (``sealing/member_keys.py``):
the service, its database and its secret key cannot open it; only the member's key file
does, in their browser or on their machine.
"""

from __future__ import annotations

import base64
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
from evalsvc.sealing import boxes, member_keys, shares
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
            "has_key": r["committee_public_key"] is not None,
        }
        for r in await conn.fetch(Q["committee_members"], round_id)
    ]


async def register_key(
    conn: asyncpg.Connection, principal: Principal, public_key: str
) -> dict[str, Any]:
    """A person registers (or replaces) the public half of their committee key.

    Rounds already open keep the shares sealed to the key registered when they opened.
    """
    user_id = _person(principal)
    try:
        raw = member_keys.parse_public_key(public_key)
    except member_keys.MemberKeyError as exc:
        raise field_error("public_key", str(exc)) from None
    at = await conn.fetchval(Q["committee_key_set"], user_id, raw)
    return {"public_key": base64.b64encode(raw).decode(), "registered_at": at}


async def registered_key(conn: asyncpg.Connection, principal: Principal) -> dict[str, Any]:
    """The caller's registered committee key (public half), or nulls."""
    row = await conn.fetchrow(Q["committee_key_get"], _person(principal))
    key = row["committee_public_key"] if row else None
    return {
        "public_key": base64.b64encode(bytes(key)).decode() if key else None,
        "registered_at": row["committee_key_at"] if row else None,
    }


def _person(principal: Principal) -> int:
    if principal.kind != "user" or principal.user_id is None:
        raise Forbidden("committee keys belong to people, signed in as themselves")
    return principal.user_id


async def deal(conn: asyncpg.Connection, keys: BallotKeys, round_id: int, threshold: int) -> bytes:
    """Make the round's key, seal one share to each member's key, keep only the public key.

    Returns the public key. Called in the open transaction with the round locked; a member
    without a registered key refuses the open (nothing is written).
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
    keyless = [r["username"] for r in rows if r["committee_public_key"] is None]
    if keyless:
        raise RuleViolation(
            "every committee member needs a registered committee key before the round opens",
            [
                FieldProblem(
                    "committee",
                    f"{name!r} has not registered a committee key (page: Committee key)",
                )
                for name in keyless
            ],
        )
    secret = boxes.new_round_secret()
    dealt = shares.split(round_id, secret, threshold, len(rows))
    public = boxes.public_key(secret)
    del secret  # from here on only the shares can rebuild it
    member_public = [bytes(r["committee_public_key"]) for r in rows]
    await conn.execute(
        Q["committee_deal"],
        round_id,
        [r["user_id"] for r in rows],
        [s.index for s in dealt],
        [shares.share_hash(s) for s in dealt],
        [member_keys.seal_share(pk, s.text) for pk, s in zip(member_public, dealt, strict=True)],
        member_public,
    )
    await conn.execute(Q["round_set_key"], round_id, public)
    return public


async def collect_share(
    conn: asyncpg.Connection, keys: BallotKeys, principal: Principal, round_id: int
) -> dict[str, Any]:
    """A member's share sealed to their own key (base64), as often as they ask: only their
    key file opens it. Rounds opened before 0056 hand their wrapped share over once."""
    if principal.kind != "user" or principal.user_id is None:
        raise Forbidden("shares are handed to committee members, signed in as themselves")
    async with conn.transaction():
        row = await conn.fetchrow(Q["committee_sealed_share"], round_id, principal.user_id)
        if row is not None:
            return {
                "round_id": round_id,
                "share_number": row["share_index"],
                "sealed_share": base64.b64encode(bytes(row["sealed_share"])).decode(),
                "member_public_key": base64.b64encode(bytes(row["member_public_key"])).decode(),
            }
        member = await conn.fetchrow(
            "select share_index from ballot_committee where round_id = $1 and user_id = $2",
            round_id,
            principal.user_id,
        )
        if member is None:
            raise Forbidden("you are not on this round's counting committee")
        if member["share_index"] is None:
            raise Conflict("the round is not open: no share has been dealt yet")
        legacy = await conn.fetchrow(Q["committee_take_share"], round_id, principal.user_id)
        if legacy is None:
            raise Conflict("your share of this round was already handed to you, once")
        try:
            text = _wrap_box(keys, round_id, principal.user_id).decrypt(legacy["wrapped_share"])
        except CryptoError:
            raise Conflict("the share does not open with this service's secret key") from None
    return {"round_id": round_id, "share_number": legacy["share_index"], "share": text.decode()}


def _wrap_box(keys: BallotKeys, round_id: int, user_id: int) -> SecretBox:
    """Only for shares dealt before 0056 (wrapped with a key from the service's secret)."""
    if not keys.share_wrap:
        raise RuntimeError("ballot keys without a share-wrapping key")
    key = hmac.new(keys.share_wrap, f"{round_id}|{user_id}".encode(), hashlib.sha256).digest()
    return SecretBox(key)


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
