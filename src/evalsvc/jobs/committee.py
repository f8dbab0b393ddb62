"""A demo counting committee: three accounts that deal with paper ballots and close rounds,
used by the demo seed, the benchmarks and the tests (real accounts, real shares)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

import asyncpg

from evalsvc.domain.access import Principal, Role
from evalsvc.domain.ballots import BallotKeys
from evalsvc.store import ballot_committee, ballot_rounds, ballots
from evalsvc.store import users as user_store

DEMO_MEMBERS = ("kiemphieu1", "kiemphieu2", "kiemphieu3")


@dataclass(frozen=True, slots=True)
class Committee:
    usernames: list[str]
    principals: list[Principal]


async def demo_committee(conn: asyncpg.Connection, prefix: str = "kiemphieu") -> Committee:
    """Three auditor accounts (created once, with random passwords) for a committee."""
    names = [f"{prefix}{i}" for i in (1, 2, 3)]
    principals = []
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
        principals.append(
            Principal(key_id=0, role=Role.AUDITOR, scope_unit_id=None, kind="user", user_id=user_id)
        )
    return Committee(names, principals)


async def collect_shares(
    conn: asyncpg.Connection, keys: BallotKeys, committee: Committee, round_id: int
) -> list[str]:
    """Every member collects their share of an opened round."""
    return [
        (await ballot_committee.collect_share(conn, keys, p, round_id))["share"]
        for p in committee.principals
    ]


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
