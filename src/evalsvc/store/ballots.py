"""Ballots: a voter's pending targets, one online ballot sealed on receipt, paper uploads.

Online: the ledger tag and the sealed sheet are written in one transaction while the round
row is held FOR SHARE (store/ballot_sheets.py); the ledger's primary key makes a second
ballot for the same (voter, target, round) fail with 409, also when both arrive at once.
Paper: one committee member uploads, another confirms (two-person rule); only then are the
ballots stored. Nothing written names the voter.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
from dataclasses import dataclass
from itertools import repeat
from operator import itemgetter
from typing import Any

import asyncpg
import msgspec
import numpy as np
import numpy.typing as npt

from evalsvc.domain.access import Principal
from evalsvc.domain.ballots import (
    CONFIDENCE_CODES,
    LEVEL_CODES,
    MAX_COMMENT_CHARS,
    PAPER_COLUMNS,
    PAPER_NO_BASIS,
    PAPER_NOT_OBSERVED,
    PAPER_OBSERVED,
    PAPER_REQUIRED_COLUMNS,
    BallotKeys,
    BallotSubmit,
    PaperBallot,
    Sheet,
    ledger_tag,
)
from evalsvc.domain.errors import (
    MAX_REPORTED_PROBLEMS,
    Conflict,
    FieldProblem,
    Forbidden,
    InvalidInput,
    NotFound,
    RuleViolation,
)
from evalsvc.domain.sheets import sheet_tag
from evalsvc.domain.vietnamese import nfc
from evalsvc.sealing import boxes
from evalsvc.store import ballot_sheets
from evalsvc.store.ballot_blocks import make_records, pack_bits, write_blocks
from evalsvc.store.ballot_rounds import form_items
from evalsvc.store.ballot_tally import FormItems
from evalsvc.store.scope import ensure_in_scope
from evalsvc.store.sqlfiles import queries

Q = queries("ballots")
QS = queries("sealed_ballots")
QH = queries("sheets")
QU = queries("units")

_MARK_BITS = {"observed": 1, "no_basis": 2}


async def pending_targets(conn: asyncpg.Connection, keys: BallotKeys, token: str) -> dict[str, Any]:
    """The round, its forms and the targets this voter has not balloted yet."""
    voter = await ballot_sheets.voter(conn, keys, token)
    rnd = await conn.fetchrow(Q["round_get"], voter["round_id"])
    assert rnd is not None
    if rnd["status"] != "open":
        # A closed (or not yet open) round shows nothing but its state to a voter.
        raise Conflict(f"the round is {rnd['status']}")
    if rnd["status"] != "open":
        # A closed (or not yet open) round shows nothing but its state to a voter.
        raise Conflict(f"the round is {rnd['status']}")
    targets = await conn.fetch(Q["voter_targets"], rnd["id"], voter["group_id"], voter["cadre_id"])
    tags = [ledger_tag(keys, voter["id"], t["cadre_id"], rnd["id"]) for t in targets]
    done = {bytes(r["tag"]) for r in await conn.fetch(Q["ledger_existing"], tags)}
    items = await conn.fetch(Q["form_items"], rnd["catalog_id"])
    public_key = await conn.fetchval(
        "select public_key from ballot_rounds where id = $1", rnd["id"]
    )
    return {
        "public_key": base64.b64encode(public_key or b"").decode(),
        "channel": voter["channel"],
        "round": {
            "id": rnd["id"],
            "title": rnd["title"],
            "status": rnd["status"],
            "opens_at": rnd["opens_at"],
            "closes_at": rnd["closes_at"],
        },
        "forms": {
            form: [
                {"code": r["code"], "text": r["text"], "group": r["group_no"]}
                for r in items
                if r["for_leader" if form == "leader" else "for_staff"]
            ]
            for form in ("leader", "staff")
        },
        "targets": [
            {"code": t["code"], "full_name": t["full_name"], "form": t["form"]}
            for t, tag in zip(targets, tags, strict=True)
            if tag not in done
        ],
    }


async def submit_ballot(
    conn: asyncpg.Connection, keys: BallotKeys, token: str, data: BallotSubmit
) -> dict[str, Any]:
    """One ballot sent in plaintext (no script on the page, or an old client): checked and
    sealed to the round's key in memory here, so only ciphertext is written or logged."""
    async with conn.transaction():
        voter = await ballot_sheets.voter(conn, keys, token)
        if voter["channel"] != "online":
            raise Forbidden("this voter votes on paper")
        rnd = await ballot_sheets.open_round_for(conn, voter)
        (target,) = await ballot_sheets.sheet_targets(
            conn, rnd["id"], voter, [data.target], single=True
        )
        forms = await form_items(conn, rnd["catalog_id"])
        marks = _marks_text(forms[target["form"]].codes, target["form"], forms, data)
        sheet = Sheet(
            round=rnd["id"],
            ballots=[
                PaperBallot(
                    target=data.target,
                    marks=marks,
                    level=data.level or "",
                    confidence=data.confidence or "",
                    comment=nfc(data.comment or ""),
                )
            ],
        )
        public_key = await conn.fetchval(
            "select public_key from ballot_rounds where id = $1", rnd["id"]
        )
        sealed = boxes.seal(bytes(public_key), msgspec.json.encode(sheet))
        del sheet, data
        receipt = await ballot_sheets.store_sheet(conn, keys, rnd["id"], voter, [target], sealed)
        await _finish_if_complete(conn, keys, voter, rnd["id"])
    return ballot_sheets.accepted(receipt, "server", 1)


def _marks_text(
    codes: list[str], form: str, forms: dict[str, FormItems], data: BallotSubmit
) -> str:
    """The marks as one character per item of the form (the sealed layout), or a 422."""
    position = {code: m for m, code in enumerate(codes)}
    other = "staff" if form == "leader" else "leader"
    other_codes = set(forms[other].codes)
    chars = [PAPER_NOT_OBSERVED] * len(codes)
    problems: list[FieldProblem] = []
    for code, mark in data.marks.items():
        m = position.get(code)
        if m is None:
            reason = (
                f"item {code!r} belongs to the {other} form, not the {form} form"
                if code in other_codes
                else f"unknown item {code!r}"
            )
            problems.append(FieldProblem(f"marks.{code}", reason))
        elif mark == "observed":
            chars[m] = PAPER_OBSERVED
        elif mark == "no_basis":
            chars[m] = PAPER_NO_BASIS
    if problems:
        raise RuleViolation("the ballot has invalid marks", problems[:MAX_REPORTED_PROBLEMS])
    return "".join(chars)


async def _finish_if_complete(
    conn: asyncpg.Connection, keys: BallotKeys, voter: asyncpg.Record, round_id: int
) -> None:
    """A voter who has balloted every colleague one by one has finished their sheet too."""
    targets = await conn.fetch(Q["voter_targets"], round_id, voter["group_id"], voter["cadre_id"])
    tags = [ledger_tag(keys, voter["id"], t["cadre_id"], round_id) for t in targets]
    if len(await conn.fetch(Q["ledger_existing"], tags)) == len(tags):
        await conn.execute(QH["sheet_insert"], sheet_tag(keys, voter["id"], round_id), round_id)


# --- paper ballots ------------------------------------------------------------------------


@dataclass(slots=True)
class PaperColumns:
    """A parsed upload, column-wise; row i (0-based) is ballot number i + 1 of the file."""

    target: list[str]
    marks: list[str]
    level: list[str]
    confidence: list[str]
    comment: list[str]

    def __len__(self) -> int:
        return len(self.target)


def parse_paper(body: bytes, content_type: str) -> PaperColumns:
    """Decode a CSV or JSON upload. Raises InvalidInput for anything malformed."""
    kind = content_type.split(";", 1)[0].strip().lower()
    if kind in ("application/json", "json"):
        return _parse_json(body)
    if kind in ("text/csv", "application/csv", "csv"):
        return _parse_csv(body)
    raise InvalidInput(
        f"content type {kind!r} is not supported",
        [FieldProblem("content-type", "expected text/csv or application/json")],
    )


def _parse_json(body: bytes) -> PaperColumns:
    try:
        items = msgspec.json.decode(body, type=list[PaperBallot])
    except msgspec.ValidationError as exc:
        raise InvalidInput(
            f"invalid ballot list: {exc}", [FieldProblem("body", str(exc))]
        ) from None
    except msgspec.DecodeError as exc:
        raise InvalidInput("malformed JSON", [FieldProblem("body", str(exc))]) from None
    return PaperColumns(
        [b.target for b in items],
        [b.marks for b in items],
        [b.level for b in items],
        [b.confidence for b in items],
        [b.comment for b in items],
    )


def _parse_csv(body: bytes) -> PaperColumns:
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidInput(
            "the CSV is not UTF-8", [FieldProblem("body", f"invalid UTF-8 at byte {exc.start}")]
        ) from None
    text = text.replace("\r\n", "\n").rstrip("\n")
    if not text:
        raise InvalidInput("empty CSV", [FieldProblem("body", "expected a header row")])
    header_line, _, rest = text.partition("\n")
    header = [h.strip().lower() for h in header_line.split(",")]
    if '"' in text or "\r" in text:
        data = _csv_rows(rest)  # quoted fields: the csv module
        columns = _csv_columns(data, len(header))
    else:
        columns = _plain_columns(rest, len(header))  # no quoting: split in C, check with numpy
    _check_header(header)
    by_name = dict(zip(header, columns, strict=True))
    n = len(columns[0]) if columns else 0
    empty = [""] * n

    def col(name: str) -> list[str]:
        return by_name.get(name, empty)

    return PaperColumns(
        col("target"), col("marks"), col("level"), col("confidence"), col("comment")
    )


def _check_header(header: list[str]) -> None:
    unknown = [h for h in header if h not in PAPER_COLUMNS]
    missing = [h for h in PAPER_REQUIRED_COLUMNS if h not in header]
    twice = len(set(header)) != len(header)
    if unknown or missing or twice:
        problems = [FieldProblem(h or "(empty)", "unknown column") for h in unknown]
        problems += [FieldProblem(h, "missing column") for h in missing]
        if twice:
            problems.append(FieldProblem("header", "a column appears twice"))
        raise InvalidInput("bad CSV header", problems)


def _csv_rows(rest: str) -> list[list[str]]:
    try:
        return list(csv.reader(io.StringIO(rest), strict=True)) if rest else []
    except csv.Error as exc:
        raise InvalidInput("malformed CSV", [FieldProblem("body", str(exc))]) from None


def _wrong_width(rows: list[int], width: int) -> InvalidInput:
    return InvalidInput(
        f"{len(rows)} row(s) have the wrong number of fields",
        [
            FieldProblem("row", f"expected {width} fields", i + 1)
            for i in rows[:MAX_REPORTED_PROBLEMS]
        ],
    )


def _csv_columns(data: list[list[str]], width: int) -> list[list[str]]:
    bad = [i for i, r in enumerate(data) if len(r) != width]
    if bad:
        raise _wrong_width(bad, width)
    return [list(c) for c in zip(*data, strict=True)] if data else [[] for _ in range(width)]


def _plain_columns(rest: str, width: int) -> list[list[str]]:
    """Columns of unquoted CSV lines: every line must have exactly ``width - 1`` commas."""
    if not rest:
        return [[] for _ in range(width)]
    raw = np.frombuffer(rest.encode(), np.uint8)
    line_ends = np.append(np.flatnonzero(raw == 10), len(raw))
    commas = np.flatnonzero(raw == 44)
    per_line = np.diff(np.searchsorted(commas, line_ends), prepend=0)
    bad = np.flatnonzero(per_line != width - 1)
    if len(bad):
        raise _wrong_width(bad.tolist(), width)
    fields = rest.replace("\n", ",").split(",")
    return [fields[k::width] for k in range(width)]


@dataclass(slots=True)
class Checked:
    """Validated ballots as arrays (row i = ballot i of the input)."""

    target_ids: npt.NDArray[np.int64]
    observed: npt.NDArray[np.int64]
    no_basis: npt.NDArray[np.int64]
    level: npt.NDArray[np.int16]
    confidence: npt.NDArray[np.int16]
    comment_rows: list[int]
    comments: list[str]
    bad: npt.NDArray[np.bool_]  # rows with a problem (only when not strict)

    @property
    def comment_targets(self) -> list[int]:
        return [int(self.target_ids[i]) for i in self.comment_rows]


def _codes_of(
    values: list[str],
    table: dict[str, int],
    field: str,
    problems: list[FieldProblem],
    bad: npt.NDArray[np.bool_],
) -> npt.NDArray[np.int16]:
    out = np.fromiter(map(table.get, values, repeat(-1)), np.int16, len(values))
    bad |= out < 0
    for i in np.nonzero(out < 0)[0][:MAX_REPORTED_PROBLEMS].tolist():
        problems.append(
            FieldProblem(
                field,
                f"unknown value {values[i]!r}; expected one of "
                f"{', '.join(k for k in table if k)} or empty",
                i + 1,
            )
        )
    return out


def check_paper(
    cols: PaperColumns,
    targets: dict[str, tuple[int, str]],
    forms: dict[str, list[str]],
    *,
    strict: bool = True,
) -> Checked:
    """Validate every row (vectorised) and turn marks into bitmaps; all problems at once.

    Args:
        targets: target code -> (cadre id, form).
        forms: form -> item codes in catalog order.
        strict: raise on any problem (uploads); otherwise mark the rows in ``bad`` (the
            ballots of sealed sheets, checked at close).
    """
    n = len(cols)
    problems: list[FieldProblem] = []
    bad = np.zeros(n, np.bool_)
    form_names = ("leader", "staff")
    id_of = {code: cid for code, (cid, _) in targets.items()}
    form_of = {code: form_names.index(form) for code, (_, form) in targets.items()}
    target_ids = np.fromiter(map(id_of.get, cols.target, repeat(-1)), np.int64, n)
    form_idx = np.fromiter(map(form_of.get, cols.target, repeat(-1)), np.int8, n)
    bad |= target_ids < 0
    for i in np.nonzero(target_ids < 0)[0][:MAX_REPORTED_PROBLEMS].tolist():
        problems.append(
            FieldProblem("target", f"{cols.target[i]!r} is not a target of this round", i + 1)
        )
    observed = np.zeros(n, np.int64)
    no_basis = np.zeros(n, np.int64)
    lengths = np.fromiter(map(len, cols.marks), np.int64, n)
    for f, form in enumerate(form_names):
        width = len(forms[form])
        rows = np.nonzero(form_idx == f)[0]
        wrong = rows[lengths[rows] != width]
        bad[wrong] = True
        for i in wrong[:MAX_REPORTED_PROBLEMS].tolist():
            problems.append(
                FieldProblem(
                    "marks", f"{lengths[i]} marks; the {form} form has {width} items", i + 1
                )
            )
        rows = rows[lengths[rows] == width]
        if not len(rows) or not width:
            continue
        picked = itemgetter(*rows.tolist())(cols.marks) if len(rows) > 1 else [cols.marks[rows[0]]]
        joined = "".join(picked).encode("utf-8")
        if len(joined) != width * len(rows):  # some mark is not ASCII: find the rows
            ascii_rows = []
            for i in rows.tolist():
                if not cols.marks[i].isascii():
                    bad[i] = True
                    problems.append(FieldProblem("marks", "only 1, 0 and x are allowed", i + 1))
                else:
                    ascii_rows.append(i)
            rows = np.array(ascii_rows, np.int64)
            if not len(rows):
                continue
            joined = "".join(cols.marks[i] for i in ascii_rows).encode()
        grid = np.frombuffer(joined, np.uint8).reshape(len(rows), width)
        is_obs = grid == ord("1")
        is_nb = grid == ord("x")
        wrong_chars = ~(is_obs | is_nb | (grid == ord("0"))).all(axis=1)
        bad[rows[wrong_chars]] = True
        for i in rows[wrong_chars][:MAX_REPORTED_PROBLEMS].tolist():
            problems.append(FieldProblem("marks", "only 1, 0 and x are allowed", i + 1))
        observed[rows] = pack_bits(is_obs)
        no_basis[rows] = pack_bits(is_nb)
    level = _codes_of(cols.level, {"": 0, **LEVEL_CODES}, "level", problems, bad)
    confidence = _codes_of(
        cols.confidence, {"": 0, **CONFIDENCE_CODES}, "confidence", problems, bad
    )
    comment_rows: list[int] = []
    comments: list[str] = []
    for i in [i for i, c in enumerate(cols.comment) if c]:
        text = nfc(cols.comment[i])
        if len(text) > MAX_COMMENT_CHARS:
            bad[i] = True
            problems.append(
                FieldProblem("comment", f"longer than {MAX_COMMENT_CHARS} characters", i + 1)
            )
        elif text:
            comment_rows.append(i)
            comments.append(text)
    if problems and strict:
        problems.sort(key=lambda p: (p.row or 0, p.field))
        raise RuleViolation(
            f"the upload has {len(problems)} problem(s); nothing was stored",
            problems[:MAX_REPORTED_PROBLEMS],
        )
    return Checked(target_ids, observed, no_basis, level, confidence, comment_rows, comments, bad)


async def _committee_member(conn: asyncpg.Connection, principal: Principal, round_id: int) -> None:
    """Refuse anyone but a member of the round's committee, acting as themselves."""
    if not await conn.fetchval(QS["round_exists"], round_id):
        raise NotFound(f"no ballot round {round_id}")
    if (
        principal.kind != "user"
        or principal.user_id is None
        or not await conn.fetchval(
            "select exists (select 1 from ballot_committee where round_id = $1 and user_id = $2)",
            round_id,
            principal.user_id,
        )
    ):
        raise Forbidden(
            "paper ballots are entered by the round's counting committee, signed in as people"
        )


async def _round_taking_paper(conn: asyncpg.Connection, round_id: int) -> asyncpg.Record:
    rnd = await conn.fetchrow(Q["round_lock_share"], round_id)
    if rnd is None:
        raise NotFound(f"no ballot round {round_id}")
    if rnd["status"] != "open":
        raise Conflict(f"the round is {rnd['status']}; it takes no ballots")
    return rnd


async def _checked_upload(
    conn: asyncpg.Connection, rnd: asyncpg.Record, cols: PaperColumns
) -> Checked:
    target_rows = await conn.fetch(QS["paper_targets"], rnd["id"])
    forms = await form_items(conn, rnd["catalog_id"])
    checked = check_paper(
        cols,
        {r["code"]: (r["cadre_id"], r["form"]) for r in target_rows},
        {form: items.codes for form, items in forms.items()},
    )
    await _check_capacity(conn, rnd["id"], target_rows, checked.target_ids)
    return checked


async def upload_paper(
    conn: asyncpg.Connection,
    principal: Principal,
    round_id: int,
    body: bytes,
    content_type: str,
    idempotency_key: str,
) -> dict[str, Any]:
    """A committee member's upload: validated whole (problems reported, nothing kept), then
    kept pending until a second member confirms it. A retry with the same key and body
    answers as the first did; the same key with another body is a 409."""
    if not idempotency_key or len(idempotency_key) > 200:
        raise InvalidInput(
            "an Idempotency-Key is needed",
            [FieldProblem("idempotency-key", "1 to 200 characters; reuse it to retry")],
        )
    digest = hashlib.sha256(body).digest()
    cols = parse_paper(body, content_type)
    if not len(cols):
        raise InvalidInput("the upload holds no ballots", [FieldProblem("body", "no rows")])
    async with conn.transaction():
        await _committee_member(conn, principal, round_id)
        previous = await conn.fetchrow(QS["upload_get"], round_id, idempotency_key)
        if previous is None:
            rnd = await _round_taking_paper(conn, round_id)
            await _checked_upload(conn, rnd, cols)
            upload_id = await conn.fetchval(
                QS["upload_claim"],
                round_id,
                idempotency_key,
                digest,
                len(cols),
                principal.actor,
                content_type,
                body,
            )
            if upload_id is not None:
                return _upload_answer(round_id, upload_id, len(cols), principal.actor, None)
            previous = await conn.fetchrow(QS["upload_get"], round_id, idempotency_key)
            assert previous is not None
        if bytes(previous["body_sha256"]) != digest:
            raise Conflict(
                "this Idempotency-Key was used for a different upload",
                [FieldProblem("idempotency-key", "already used with another body")],
            )
        answer = _upload_answer(
            round_id,
            previous["id"],
            previous["ballots"],
            previous["uploaded_by"],
            previous["confirmed_by"],
        )
        return answer | {"replayed": True}


def _upload_answer(
    round_id: int, upload_id: int, n: int, uploaded_by: str, confirmed_by: str | None
) -> dict[str, Any]:
    return {
        "round_id": round_id,
        "upload_id": upload_id,
        "ballots": n,
        "uploaded_by": uploaded_by,
        "confirmed_by": confirmed_by,
        "status": "pending" if confirmed_by is None else "counted",
        "replayed": False,
    }


async def confirm_paper(
    conn: asyncpg.Connection, principal: Principal, round_id: int, upload_id: int
) -> dict[str, Any]:
    """A second committee member confirms an upload: only now are its ballots stored."""
    async with conn.transaction():
        await _committee_member(conn, principal, round_id)
        rnd = await _round_taking_paper(conn, round_id)
        upload = await conn.fetchrow(QS["upload_lock"], round_id, upload_id)
        if upload is None:
            raise NotFound(f"no upload {upload_id} in round {round_id}")
        if upload["confirmed_by"] is not None:
            raise Conflict(f"upload {upload_id} was already confirmed by {upload['confirmed_by']}")
        if upload["uploaded_by"] == principal.actor:
            raise Forbidden("a second committee member must confirm your upload")
        cols = parse_paper(bytes(upload["body"]), upload["content_type"])
        checked = await _checked_upload(conn, rnd, cols)
        await copy_ballots(conn, round_id, checked)
        targets, per_target = np.unique(checked.target_ids, return_counts=True)
        await conn.execute(QS["targets_add_paper"], round_id, targets.tolist(), per_target.tolist())
        await conn.execute(QS["upload_confirm"], round_id, upload_id, principal.actor)
    return _upload_answer(
        round_id, upload_id, upload["ballots"], upload["uploaded_by"], principal.actor
    )


async def list_uploads(
    conn: asyncpg.Connection, principal: Principal, round_id: int
) -> list[dict[str, Any]]:
    """Uploads of a round, who uploaded and who confirmed each (committee members)."""
    await _committee_member(conn, principal, round_id)
    return [dict(r) for r in await conn.fetch(QS["uploads_list"], round_id)]


async def check_paper_upload(
    conn: asyncpg.Connection, principal: Principal, round_id: int, body: bytes
) -> int:
    """The checks of :func:`upload_paper` without storing (a page's preview): the number of
    ballots the CSV would add, or the error listing every problem."""
    cols = parse_paper(body, "text/csv")
    if not len(cols):
        raise InvalidInput("the upload holds no ballots", [FieldProblem("body", "no rows")])
    async with conn.transaction():
        await _committee_member(conn, principal, round_id)
        rnd = await conn.fetchrow(Q["round_lock_share"], round_id)
        if rnd is None or not (
            principal.city_wide
            or await conn.fetchval(QU["in_subtree"], principal.scope_unit_id, rnd["unit_id"])
        ):
            raise NotFound(f"no ballot round {round_id}")
        await ensure_in_scope(conn, principal, [rnd["unit_id"]])
        if rnd["status"] != "open":
            raise Conflict(f"the round is {rnd['status']}; it takes no ballots")
        await _checked_upload(conn, rnd, cols)
    return len(cols)


async def _check_capacity(
    conn: asyncpg.Connection,
    round_id: int,
    target_rows: list[asyncpg.Record],
    new_targets: npt.NDArray[np.int64],
) -> None:
    """No target may end up with more paper ballots than it has paper voters (each voter
    has one channel; online ballots are bounded by the ledger)."""
    ids = np.fromiter((r["cadre_id"] for r in target_rows), np.int64, len(target_rows))
    eligible = np.fromiter((r["eligible"] for r in target_rows), np.int64, len(target_rows))
    have = np.zeros(len(ids), np.int64)
    for r in await conn.fetch(QS["paper_per_target"], round_id):
        have[np.searchsorted(ids, r["target_id"])] = r["n"]
    index = np.searchsorted(ids, new_targets)
    total = have + np.bincount(index, minlength=len(ids))
    over = np.nonzero(total > eligible)[0]
    if len(over):
        problems = []
        for t in over[:MAX_REPORTED_PROBLEMS].tolist():
            first = int(np.nonzero(index == t)[0][0]) + 1
            problems.append(
                FieldProblem(
                    "target",
                    f"{target_rows[t]['code']!r} would have more paper ballots than its "
                    f"{eligible[t]} paper voters",
                    first,
                )
            )
        raise RuleViolation("more paper ballots than paper voters; nothing was stored", problems)


async def copy_ballots(conn: asyncpg.Connection, round_id: int, c: Checked) -> None:
    # File order may follow a seating plan or a pile of forms: blocks are shuffled.
    recs = make_records(c.observed, c.no_basis, c.level, c.confidence)
    await write_blocks(conn, round_id, c.target_ids, recs)
    if c.comments:
        shuffled = np.random.default_rng().permutation(len(c.comments)).tolist()
        await conn.execute(
            Q["comments_insert_many"],
            round_id,
            [c.comment_targets[i] for i in shuffled],
            [c.comments[i] for i in shuffled],
        )
