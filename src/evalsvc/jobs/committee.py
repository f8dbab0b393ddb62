"""A demo counting committee: three accounts that deal with paper ballots and close rounds,
used by the demo seed, the benchmarks and the tests (real accounts, real shares).

Their committee keys are derived from their usernames so that the demo can close its own
rounds: anyone who reads this file can open their shares. Never put these accounts on a
real committee (docs/ballots.md).
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass

import asyncpg
from nacl.public import PrivateKey

from evalsvc.domain.access import Principal, Role
from evalsvc.domain.ballots import BallotKeys
from evalsvc.sealing import member_keys
from evalsvc.store import ballot_committee, ballot_rounds, ballots
from evalsvc.store import users as user_store

DEMO_MEMBERS = ("kiemphieu1", "kiemphieu2", "kiemphieu3")


@dataclass(frozen=True, slots=True)
class Committee:
    usernames: list[str]
    principals: list[Principal]
    key_files: list[str]  # each member's committee key file (demo keys: see above)


def demo_key_file(username: str) -> str:
    """The demo member's key file, derived from the username (demo and tests only)."""
    seed = hashlib.sha256(f"evalsvc demo committee key|{username}".encode()).digest()
    private = PrivateKey.from_seed(seed)
    return member_keys.KEY_FILE_PREFIX + base64.b64encode(bytes(private)).decode()


async def demo_committee(conn: asyncpg.Connection, prefix: str = "kiemphieu") -> Committee:
    """Three auditor accounts (created once, with random passwords) for a committee, each
    with its demo committee key registered."""
    names = [f"{prefix}{i}" for i in (1, 2, 3)]
    principals = []
    key_files = [demo_key_file(name) for name in names]
    for i, name in enumerate(names, 1):
        user_id = await conn.fetchval("select id from users where username = $1", name)
        if user_id is None:
            user_id = await user_store.create_user(
                conn,
                name,
                f"Thành viên tổ kiểm phiếu {i}",
                Role.AUDITOR,
                None,
                secrets.token_urlsafe(18),
                "system",
            )
        public = member_keys.public_of(key_files[i - 1])
        await conn.execute(
            "update users set committee_public_key = $2, committee_key_at = now()"
            " where id = $1 and committee_public_key is distinct from $2",
            user_id,
            public,
        )
        principals.append(
            Principal(key_id=0, role=Role.AUDITOR, scope_unit_id=None, kind="user", user_id=user_id)
        )
    return Committee(names, principals, key_files)


async def collect_shares(
    conn: asyncpg.Connection, keys: BallotKeys, committee: Committee, round_id: int
) -> list[str]:
    """Every member fetches their sealed share of an opened round and opens it with their
    key file (what a member's page does in the browser)."""
    out = []
    for principal, key_file in zip(committee.principals, committee.key_files, strict=True):
        got = await ballot_committee.collect_share(conn, keys, principal, round_id)
        out.append(member_keys.open_share(key_file, base64.b64decode(got["sealed_share"])))
    return out


async def enter_paper(
    conn: asyncpg.Connection, committee: Committee, round_id: int, body: bytes, key: str
) -> None:
    """Member 1 uploads, member 2 confirms (the two-person rule)."""
    first, second = committee.principals[:2]
    up = await ballots.upload_paper(conn, first, round_id, body, "text/csv", key)
    if up["status"] == "pending":
        await ballots.confirm_paper(conn, second, round_id, up["upload_id"])


async def close_with(
    conn: asyncpg.Connection,
    keys: BallotKeys,
    committee: Committee,
    round_id: int,
    shares: list[str],
    remediation: str = "off",
) -> None:
    """Members 1 and 2 enter their shares and close."""
    await ballot_rounds.close_round(
        conn, committee.principals[0], round_id, keys, shares[:2], remediation=remediation
    )
