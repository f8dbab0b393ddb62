"""The close of a sealed round: open every sheet in memory, validate, store plaintext ballots
as shuffled per-target blocks, keep only the receipts, publish their Merkle root.

A sheet is counted whole or not at all: it is invalid when it does not open with the round's
key, is not a sheet of this round, covers other colleagues than the ledger recorded for it,
or holds any invalid ballot. Invalid sheets are counted and reported, never silently dropped.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import asyncpg
import msgspec
import numpy as np

from evalsvc.domain.ballots import BallotKeys, Sheet, targets_tag
from evalsvc.sealing import boxes, receipts
from evalsvc.store.ballot_tally import FormItems
from evalsvc.store.ballots import PaperColumns, check_paper, copy_ballots
from evalsvc.store.sqlfiles import queries

Q = queries("sealed_ballots")
_decode = msgspec.json.Decoder(Sheet).decode


@dataclass(slots=True)
class _Part:
    cols: PaperColumns
    sheet_of: list[int]
    invalid: list[int]


def _open_part(
    opener: boxes.Opener,
    keys: BallotKeys,
    round_id: int,
    targets: dict[str, tuple[int, str]],
    rows: list[asyncpg.Record],
    lo: int,
    hi: int,
) -> _Part:
    """Open and structurally check sheets ``lo..hi-1`` (the ballots are checked later, all
    at once, by ``check_paper``)."""
    part = _Part(PaperColumns([], [], [], [], []), [], [])
    cols = part.cols
    for s in range(lo, hi):
        row = rows[s]
        try:
            sheet = _decode(opener.open(bytes(row["sealed"])))
        except (boxes.SealError, msgspec.DecodeError, msgspec.ValidationError):
            part.invalid.append(s)
            continue
        codes = [b.target for b in sheet.ballots]
        ids = [targets.get(c, (-1, ""))[0] for c in codes]
        if (
            sheet.round != round_id
            or not codes
            or len(set(codes)) != len(codes)
            or targets_tag(keys, round_id, ids) != bytes(row["targets_tag"])
        ):
            part.invalid.append(s)
            continue
        for b in sheet.ballots:
            cols.target.append(b.target)
            cols.marks.append(b.marks)
            cols.level.append(b.level)
            cols.confidence.append(b.confidence)
            cols.comment.append(b.comment)
        part.sheet_of.extend([s] * len(sheet.ballots))
    return part


@dataclass(frozen=True, slots=True)
class Opened:
    sheets_counted: int
    sheets_invalid: int
    ballots: int
    receipts_root: bytes


async def open_sheets(
    conn: asyncpg.Connection,
    keys: BallotKeys,
    round_id: int,
    secret: bytes,
    forms: dict[str, FormItems],
) -> Opened:
    """In the close transaction (round locked FOR UPDATE): sheets -> ballots + receipts."""
    opener = boxes.Opener(secret)
    targets = {
        r["code"]: (int(r["cadre_id"]), r["form"])
        for r in await conn.fetch(Q["online_targets"], round_id)
    }
    rows = await conn.fetch(Q["sheets_read"], round_id)
    # CPU work, off the event loop (the API keeps answering). Two threads were slower: the
    # decoding and list building hold the GIL, and the server needs the other core.
    parts = [
        await asyncio.to_thread(_open_part, opener, keys, round_id, targets, rows, 0, len(rows))
    ]
    cols = PaperColumns([], [], [], [], [])
    sheet_of: list[int] = []
    invalid = np.zeros(len(rows), np.bool_)
    for part in parts:
        for name in ("target", "marks", "level", "confidence", "comment"):
            getattr(cols, name).extend(getattr(part.cols, name))
        sheet_of.extend(part.sheet_of)
        invalid[part.invalid] = True
    sheet_index = np.array(sheet_of, np.int64)
    checked = check_paper(
        cols,
        targets,
        {form: items.codes for form, items in forms.items()},
        strict=False,
    )
    invalid[sheet_index[checked.bad]] = True
    keep = ~invalid[sheet_index] if len(sheet_index) else np.zeros(0, np.bool_)
    good_rows = np.flatnonzero(keep)
    kept_comments = [i for i, r in enumerate(checked.comment_rows) if keep[r]]
    checked.target_ids = checked.target_ids[good_rows]
    checked.observed = checked.observed[good_rows]
    checked.no_basis = checked.no_basis[good_rows]
    checked.level = checked.level[good_rows]
    checked.confidence = checked.confidence[good_rows]
    renumber = np.cumsum(keep) - 1
    checked.comment_rows = [int(renumber[checked.comment_rows[i]]) for i in kept_comments]
    checked.comments = [checked.comments[i] for i in kept_comments]
    await copy_ballots(conn, round_id, checked)
    counted = [bytes(row["receipt"]) for s, row in enumerate(rows) if not invalid[s]]
    await conn.execute(Q["receipts_insert"], round_id, counted)
    await conn.execute(Q["sheets_delete"], round_id)
    return Opened(
        sheets_counted=len(counted),
        sheets_invalid=int(invalid.sum()),
        ballots=len(good_rows),
        receipts_root=receipts.root(counted),
    )
