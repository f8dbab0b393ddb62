"""The voter's whole sheet: read it, hand it in (all colleagues, one transaction).

``submit_sheet`` is the one path from a checked sheet to stored ballots and ledger rows:
the round row is held FOR SHARE (a close waits for it), the ledger rows (the sheet's and one
per colleague) go in with one statement whose primary key refuses a second sheet, then the
ballots and comments. Anything refused stores nothing.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from evalsvc.domain.ballots import BallotKeys, ledger_tag, token_hash
from evalsvc.domain.errors import Conflict, Forbidden
from evalsvc.domain.sheets import (
    CheckedBallot,
    Colleague,
    SheetSubmit,
    check_sheet,
    normalize_voter_code,
    sheet_tag,
)
from evalsvc.store.ballot_rounds import form_items
from evalsvc.store.ballot_tally import FormItems
from evalsvc.store.sqlfiles import queries

_RECORD = struct.Struct("<QQBB")
"""One ballot's 18 bytes, as ``ballot_blocks.make_records`` lays them out (0002)."""

Q = queries("sheets")
QB = queries("ballots")

_FORMS: dict[int, dict[str, FormItems]] = {}
"""Form items per catalog id. Only published catalogs are cached (a round opens only with a
published one), and a published catalog's items are immutable (0001's trigger): the id alone
says everything that could make an entry wrong."""


async def _forms(conn: asyncpg.Connection, catalog_id: int) -> dict[str, FormItems]:
    forms = _FORMS.get(catalog_id)
    if forms is None:
        forms = await form_items(conn, catalog_id)
        if await conn.fetchval(QB["catalog_status"], catalog_id) == "published":
            _FORMS[catalog_id] = forms
    return forms


async def _voter(conn: asyncpg.Connection, keys: BallotKeys, token: str) -> asyncpg.Record:
    code = normalize_voter_code(token)
    row = None if code is None else await conn.fetchrow(Q["voter_round"], token_hash(keys, code))
    if row is None:
        raise Forbidden("unknown voter code")
    return row


@dataclass(frozen=True, slots=True)
class SheetView:
    """What the voter's page shows. ``colleagues`` is empty once the sheet is handed in or
    the round is not open (then nothing but the state is shown)."""

    round_id: int
    title: str
    unit_name: str
    status: str  # draft, open, closed
    in_window: bool
    opens_at: datetime
    closes_at: datetime
    voter_name: str
    submitted: bool
    colleagues: list[dict[str, Any]]
    forms: dict[str, list[dict[str, Any]]]


async def sheet_view(conn: asyncpg.Connection, keys: BallotKeys, token: str) -> SheetView:
    voter = await _voter(conn, keys, token)
    round_id = voter["round_id"]
    in_window = voter["opens_at"] <= voter["now"] < voter["closes_at"]
    submitted = bool(
        await conn.fetchval(Q["tags_present"], [sheet_tag(keys, voter["voter_id"], round_id)])
    )
    colleagues: list[dict[str, Any]] = []
    forms: dict[str, list[dict[str, Any]]] = {}
    if voter["status"] == "open" and not submitted:
        rows = await conn.fetch(Q["colleagues"], round_id, voter["group_id"], voter["cadre_id"])
        tags = [ledger_tag(keys, voter["voter_id"], r["cadre_id"], round_id) for r in rows]
        done = {bytes(r["tag"]) for r in await conn.fetch(Q["tags_present"], tags)}
        colleagues = [dict(r) for r, tag in zip(rows, tags, strict=True) if tag not in done]
        items = await conn.fetch(QB["form_items"], voter["catalog_id"])
        for form in ("leader", "staff"):
            flag = "for_leader" if form == "leader" else "for_staff"
            forms[form] = [
                {"code": r["code"], "text": r["text"], "group": r["group_no"]}
                for r in items
                if r[flag]
            ]
    return SheetView(
        round_id=round_id,
        title=voter["title"],
        unit_name=voter["unit_name"],
        status=voter["status"],
        in_window=in_window,
        opens_at=voter["opens_at"],
        closes_at=voter["closes_at"],
        voter_name=voter["full_name"],
        submitted=submitted,
        colleagues=colleagues,
        forms=forms,
    )


async def submit_sheet(
    conn: asyncpg.Connection, keys: BallotKeys, token: str, sheet: SheetSubmit
) -> dict[str, Any]:
    """Store the whole sheet or nothing. Raises Forbidden (unknown code), Conflict (round not
    taking ballots, sheet already handed in), RuleViolation (every problem of the sheet).

    Three round trips: the voter with their colleagues, the ledger tags already present,
    then one statement that writes everything under the round's share lock."""
    code = normalize_voter_code(token)
    if code is None:
        raise Forbidden("unknown voter code")
    digest = token_hash(keys, code)
    rows = await conn.fetch(Q["voter_sheet"], digest)
    voter = rows[0] if rows else await conn.fetchrow(Q["voter_state"], digest)
    if voter is None:
        raise Forbidden("unknown voter code")
    round_id = voter["round_id"]
    _check_open(voter)
    tags = {
        r["cadre_id"]: ledger_tag(keys, voter["voter_id"], r["cadre_id"], round_id) for r in rows
    }
    mine = sheet_tag(keys, voter["voter_id"], round_id)
    present = {bytes(r["tag"]) for r in await conn.fetch(Q["tags_present"], [mine, *tags.values()])}
    if mine in present:
        raise Conflict("this sheet has already been handed in")
    pending = [
        Colleague(r["cadre_id"], r["code"], r["form"])
        for r in rows
        if tags[r["cadre_id"]] not in present
    ]
    forms = await _forms(conn, voter["catalog_id"]) if rows else {}
    checked = check_sheet(sheet, pending, {f: items.codes for f, items in forms.items()})
    await store_checked(conn, round_id, mine, [tags[b.target_id] for b in checked], checked)
    return {"round_id": round_id, "ballots": len(checked), "submitted": True}


def _check_open(voter: asyncpg.Record) -> None:
    if voter["status"] != "open":
        raise Conflict(f"the round is {voter['status']}; it takes no ballots")
    if not voter["opens_at"] <= voter["now"] < voter["closes_at"]:
        raise Conflict("the round takes ballots only between opens_at and closes_at")


async def store_checked(
    conn: asyncpg.Connection,
    round_id: int,
    mine: bytes,
    tags: list[bytes],
    checked: list[CheckedBallot],
) -> None:
    """The sheet's ledger row, one per colleague (``tags``, in ``checked`` order), the
    ballots and the comments, in one statement. The ballots carry no voter id, token or
    time; comments sit apart from them. This is where a sealed sheet would be written."""
    commented = [b for b in checked if b.comment]
    try:
        stored = await conn.fetchval(
            Q["sheet_write"],
            round_id,
            [mine, *tags],
            [True] + [False] * len(tags),
            [b.target_id for b in checked],
            [_RECORD.pack(b.observed, b.no_basis, b.level, b.confidence) for b in checked],
            [b.target_id for b in commented],
            [b.comment for b in commented],
        )
    except asyncpg.UniqueViolationError:
        raise Conflict("this sheet has already been handed in") from None
    if not stored:
        raise Conflict("the round no longer takes ballots")


async def finished_voters(conn: asyncpg.Connection, round_id: int) -> int:
    """How many voters have handed in their sheet (a count: never who)."""
    n: int = await conn.fetchval(Q["sheets_finished"], round_id)
    return n
