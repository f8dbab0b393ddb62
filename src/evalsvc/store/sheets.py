"""The voter's whole sheet: read it, hand it in (all colleagues, one transaction).

``submit_sheet`` is the one path from a checked sheet to a stored sheet and ledger rows:
the round row is held FOR SHARE (a close waits for it), the ledger rows (the sheet's and one
per colleague) and the sheet, sealed in memory to the round's public key (issue 18: the
plaintext is never written or logged; the committee opens it at close), go in with one
statement whose primary key refuses a second sheet. Anything refused stores nothing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg
import msgspec

from evalsvc.domain.ballots import (
    CONFIDENCE_NAMES,
    LEVEL_NAMES,
    BallotKeys,
    PaperBallot,
    Sheet,
    ledger_tag,
    targets_tag,
    token_hash,
)
from evalsvc.domain.errors import Conflict, FieldProblem, Forbidden, RuleViolation, field_error
from evalsvc.domain.sheets import (
    CheckedBallot,
    Colleague,
    SheetSubmit,
    check_sheet,
    normalize_voter_code,
    sheet_tag,
)
from evalsvc.sealing import boxes, receipts
from evalsvc.store.ballot_rounds import form_items
from evalsvc.store.ballot_sheets import max_sealed_bytes
from evalsvc.store.ballot_tally import FormItems
from evalsvc.store.sqlfiles import queries

Q = queries("sheets")
QSB = queries("sealed_ballots")
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


@dataclass(frozen=True, slots=True)
class _Sheet:
    """A voter's round and colleagues as one read found them (voter_sheet), with the ledger
    tags the sheet would write."""

    voter: asyncpg.Record
    round_id: int
    colleagues: list[Colleague]
    tags: dict[int, bytes]  # colleague id -> ledger tag
    mine: bytes  # the sheet's own ledger tag

    def pending(self, present: set[bytes]) -> list[Colleague]:
        return [c for c in self.colleagues if self.tags[c.cadre_id] not in present]


async def _load_sheet(conn: asyncpg.Connection, keys: BallotKeys, token: str) -> _Sheet:
    """The voter, their round (refused unless it takes ballots) and colleagues: one query."""
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
    return _Sheet(
        voter=voter,
        round_id=round_id,
        colleagues=[Colleague(r["cadre_id"], r["code"], r["form"]) for r in rows],
        tags={
            r["cadre_id"]: ledger_tag(keys, voter["voter_id"], r["cadre_id"], round_id)
            for r in rows
        },
        mine=sheet_tag(keys, voter["voter_id"], round_id),
    )


async def _present(conn: asyncpg.Connection, sheet: _Sheet) -> set[bytes]:
    """The sheet's ledger tags already stored; Conflict if the sheet itself is among them."""
    tags = [sheet.mine, *sheet.tags.values()]
    present = {bytes(r["tag"]) for r in await conn.fetch(Q["tags_present"], tags)}
    if sheet.mine in present:
        raise Conflict("this sheet has already been handed in")
    return present


HandIn = Callable[[list[Colleague]], Awaitable[dict[str, Any]]]


async def _first_or_checked(conn: asyncpg.Connection, sheet: _Sheet, hand_in: HandIn) -> Any:
    """Hand the sheet in as a voter's first: nothing of theirs in the ledger yet (almost
    always so), which the write's primary key proves. Only when the sheet does not fit every
    colleague, or the write finds a tag already there, are the ledger's tags read, to hand
    in what is still pending or to say exactly why not. Saves a round trip per sheet."""
    try:
        return await hand_in(sheet.colleagues)
    except (RuleViolation, _AlreadyThere):
        pass
    present = await _present(conn, sheet)
    try:
        return await hand_in(sheet.pending(present))
    except _AlreadyThere:
        raise Conflict("this sheet has already been handed in") from None


class _AlreadyThere(Exception):
    """The write found one of the sheet's ledger tags already stored (nothing was written)."""


async def submit_sheet(
    conn: asyncpg.Connection, keys: BallotKeys, token: str, sheet: SheetSubmit
) -> dict[str, Any]:
    """Store the whole sheet or nothing. Raises Forbidden (unknown code), Conflict (round not
    taking ballots, sheet already handed in), RuleViolation (every problem of the sheet).

    Two round trips: the voter with their round and colleagues, then one statement that
    writes everything under the round's share lock (``_first_or_checked``)."""
    loaded = await _load_sheet(conn, keys, token)
    forms = await _forms(conn, loaded.voter["catalog_id"]) if loaded.colleagues else {}
    codes = {f: items.codes for f, items in forms.items()}

    async def hand_in(pending: list[Colleague]) -> dict[str, Any]:
        checked = check_sheet(sheet, pending, codes)
        sealed = seal_checked(
            bytes(loaded.voter["public_key"]), loaded.round_id, checked, pending, forms
        )
        receipt = await _write_sealed(conn, keys, loaded, [b.target_id for b in checked], sealed)
        return {
            "round_id": loaded.round_id,
            "ballots": len(checked),
            "submitted": True,
            "receipt": receipt.hex(),
            "sealed_by": "server",
        }

    done: dict[str, Any] = await _first_or_checked(conn, loaded, hand_in)
    return done


def _check_open(voter: asyncpg.Record) -> None:
    if voter["status"] != "open":
        raise Conflict(f"the round is {voter['status']}; it takes no ballots")
    if not voter["opens_at"] <= voter["now"] < voter["closes_at"]:
        raise Conflict("the round takes ballots only between opens_at and closes_at")


def seal_checked(
    public_key: bytes,
    round_id: int,
    checked: list[CheckedBallot],
    pending: list[Colleague],
    forms: dict[str, FormItems],
) -> bytes:
    """The checked ballots in the sealed layout (``domain.ballots.Sheet``), sealed to the
    round's public key. In memory only."""
    by_id = {c.cadre_id: c for c in pending}
    ballots = []
    for b in checked:
        colleague = by_id[b.target_id]
        width = len(forms[colleague.form].codes)
        marks = "".join(
            "1" if b.observed >> m & 1 else "x" if b.no_basis >> m & 1 else "0"
            for m in range(width)
        )
        ballots.append(
            PaperBallot(
                target=colleague.code,
                marks=marks,
                level=LEVEL_NAMES[b.level - 1] if b.level else "",
                confidence=CONFIDENCE_NAMES[b.confidence - 1] if b.confidence else "",
                comment=b.comment,
            )
        )
    plaintext = msgspec.json.encode(Sheet(round=round_id, ballots=ballots))
    return boxes.seal(public_key, plaintext)


async def _write_sealed(
    conn: asyncpg.Connection, keys: BallotKeys, loaded: _Sheet, ids: list[int], sealed: bytes
) -> bytes:
    """The sheet's ledger row, one per colleague of ``ids`` and the sealed sheet, in one
    statement under the round's share lock. Returns the receipt; raises _AlreadyThere."""
    receipt = receipts.receipt(sealed)
    try:
        stored = await conn.fetchval(
            QSB["sealed_sheet_write"],
            loaded.round_id,
            [loaded.mine, *(loaded.tags[t] for t in ids)],
            [True] + [False] * len(ids),
            sealed,
            targets_tag(keys, loaded.round_id, ids),
            receipt,
        )
    except asyncpg.UniqueViolationError:
        raise _AlreadyThere from None
    if not stored:
        raise Conflict("the round no longer takes ballots")
    return receipt


async def finished_voters(conn: asyncpg.Connection, round_id: int) -> int:
    """How many voters have handed in their sheet (a count: never who)."""
    n: int = await conn.fetchval(Q["sheets_finished"], round_id)
    return n


async def submit_sealed_sheet(
    conn: asyncpg.Connection, keys: BallotKeys, token: str, codes: list[str], sealed: bytes
) -> dict[str, Any]:
    """A whole sheet sealed by the voter's client: ``codes`` must be exactly the pending
    colleagues (the server cannot look inside; the close checks the content matches).
    The same two round trips as ``submit_sheet``."""
    loaded = await _load_sheet(conn, keys, token)

    async def hand_in(pending: list[Colleague]) -> dict[str, Any]:
        ids = {c.code: c.cadre_id for c in pending}
        problems = [
            FieldProblem(f"targets[{i}]", f"{c!r} is not one of your pending colleagues")
            for i, c in enumerate(codes)
            if c not in ids
        ]
        if len(set(codes)) != len(codes):
            problems.append(FieldProblem("targets", "a colleague is listed twice"))
        problems += [
            FieldProblem("targets", f"missing {c!r}: every colleague needs a ballot")
            for c in ids
            if c not in codes
        ]
        if problems:
            raise RuleViolation("the sheet does not list your pending colleagues", problems)
        if len(sealed) > max_sealed_bytes(len(codes)):
            raise field_error("sealed", "larger than a sheet for these colleagues can be")
        receipt = await _write_sealed(conn, keys, loaded, [ids[c] for c in codes], sealed)
        return {
            "round_id": loaded.round_id,
            "ballots": len(codes),
            "submitted": True,
            "receipt": receipt.hex(),
            "sealed_by": "client",
        }

    done: dict[str, Any] = await _first_or_checked(conn, loaded, hand_in)
    return done
