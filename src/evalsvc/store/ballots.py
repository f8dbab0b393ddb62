"""Ballots: online submission with a voter token, a voter's pending targets, paper uploads.

Online: the ledger tag and the ballot are written in one transaction while the round row is
held FOR SHARE; the ledger's primary key makes a second ballot for the same (voter, target,
round) fail with 409, also when both arrive at once. Nothing written names the voter.
"""

from __future__ import annotations

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
    PAPER_REQUIRED_COLUMNS,
    BallotKeys,
    BallotSubmit,
    PaperBallot,
    ledger_tag,
    token_hash,
)
from evalsvc.domain.errors import (
    MAX_REPORTED_PROBLEMS,
    Conflict,
    FieldProblem,
    Forbidden,
    InvalidInput,
    NotFound,
    RuleViolation,
    field_error,
)
from evalsvc.domain.sheets import normalize_voter_code, sheet_tag
from evalsvc.domain.vietnamese import nfc
from evalsvc.store.ballot_blocks import make_records, pack_bits, record_bytes, write_blocks
from evalsvc.store.ballot_rounds import form_items
from evalsvc.store.scope import ensure_in_scope
from evalsvc.store.sqlfiles import queries

Q = queries("ballots")
QS = queries("sheets")
QU = queries("units")

_MARK_BITS = {"observed": 1, "no_basis": 2}


async def _voter(conn: asyncpg.Connection, keys: BallotKeys, token: str) -> asyncpg.Record:
    code = normalize_voter_code(token)
    if code is None:
        raise Forbidden("unknown voter token")
    row = await conn.fetchrow(Q["voter_by_token"], token_hash(keys, code))
    if row is None:
        raise Forbidden("unknown voter token")
    return row


async def pending_targets(conn: asyncpg.Connection, keys: BallotKeys, token: str) -> dict[str, Any]:
    """The round, its forms and the targets this voter has not balloted yet."""
    voter = await _voter(conn, keys, token)
    rnd = await conn.fetchrow(Q["round_get"], voter["round_id"])
    assert rnd is not None
    if rnd["status"] != "open":
        # A closed (or not yet open) round shows nothing but its state to a voter.
        raise Conflict(f"the round is {rnd['status']}")
    targets = await conn.fetch(Q["voter_targets"], rnd["id"], voter["group_id"], voter["cadre_id"])
    tags = [ledger_tag(keys, voter["id"], t["cadre_id"], rnd["id"]) for t in targets]
    done = {bytes(r["tag"]) for r in await conn.fetch(Q["ledger_existing"], tags)}
    items = await conn.fetch(Q["form_items"], rnd["catalog_id"])
    return {
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
) -> None:
    """Store one online ballot, or refuse it and store nothing."""
    async with conn.transaction():
        voter = await _voter(conn, keys, token)
        rnd = await conn.fetchrow(Q["round_lock_share"], voter["round_id"])
        assert rnd is not None
        if rnd["status"] != "open":
            raise Conflict(f"the round is {rnd['status']}; it takes no ballots")
        if not rnd["opens_at"] <= rnd["now"] < rnd["closes_at"]:
            raise Conflict("the round takes ballots only between opens_at and closes_at")
        target = await conn.fetchrow(Q["target_by_code"], rnd["id"], data.target)
        if target is None:
            raise field_error("target", f"{data.target!r} is not a target of this round")
        if target["cadre_id"] == voter["cadre_id"]:
            raise field_error("target", "self-ballots are refused")
        if target["group_id"] != voter["group_id"]:
            raise field_error("target", f"{data.target!r} is outside your voting group")
        forms = await form_items(conn, rnd["catalog_id"])
        position = {code: m for m, code in enumerate(forms[target["form"]].codes)}
        other = "staff" if target["form"] == "leader" else "leader"
        other_codes = set(forms[other].codes)
        observed = no_basis = 0
        problems: list[FieldProblem] = []
        for code, mark in data.marks.items():
            m = position.get(code)
            if m is None:
                reason = (
                    f"item {code!r} belongs to the {other} form, not the {target['form']} form"
                    if code in other_codes
                    else f"unknown item {code!r}"
                )
                problems.append(FieldProblem(f"marks.{code}", reason))
            elif mark == "observed":
                observed |= 1 << m
            elif mark == "no_basis":
                no_basis |= 1 << m
        if problems:
            raise RuleViolation("the ballot has invalid marks", problems[:MAX_REPORTED_PROBLEMS])
        try:
            await conn.execute(
                Q["ledger_insert"],
                ledger_tag(keys, voter["id"], target["cadre_id"], rnd["id"]),
                rnd["id"],
            )
        except asyncpg.UniqueViolationError:
            raise Conflict("this voter has already submitted a ballot for this target") from None
        record = record_bytes(
            observed,
            no_basis,
            LEVEL_CODES[data.level] if data.level else 0,
            CONFIDENCE_CODES[data.confidence] if data.confidence else 0,
        )
        await conn.execute(Q["ballot_insert"], rnd["id"], target["cadre_id"], record)
        comment = nfc(data.comment or "")
        if comment:
            await conn.execute(Q["comment_insert"], rnd["id"], target["cadre_id"], comment)
        await _finish_if_complete(conn, keys, voter, rnd["id"])


async def _finish_if_complete(
    conn: asyncpg.Connection, keys: BallotKeys, voter: asyncpg.Record, round_id: int
) -> None:
    """A voter who has balloted every colleague one by one has finished their sheet too."""
    targets = await conn.fetch(Q["voter_targets"], round_id, voter["group_id"], voter["cadre_id"])
    tags = [ledger_tag(keys, voter["id"], t["cadre_id"], round_id) for t in targets]
    if len(await conn.fetch(Q["ledger_existing"], tags)) == len(tags):
        await conn.execute(QS["sheet_insert"], sheet_tag(keys, voter["id"], round_id), round_id)


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
class _Checked:
    target_ids: npt.NDArray[np.int64]
    observed: npt.NDArray[np.int64]
    no_basis: npt.NDArray[np.int64]
    level: npt.NDArray[np.int16]
    confidence: npt.NDArray[np.int16]
    comment_targets: list[int]
    comments: list[str]


def _codes_of(
    values: list[str], table: dict[str, int], field: str, problems: list[FieldProblem]
) -> npt.NDArray[np.int16]:
    out = np.fromiter(map(table.get, values, repeat(-1)), np.int16, len(values))
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
) -> _Checked:
    """Validate every row (vectorised) and turn marks into bitmaps; all problems at once.

    Args:
        targets: target code -> (cadre id, form).
        forms: form -> item codes in catalog order.
    """
    n = len(cols)
    problems: list[FieldProblem] = []
    form_names = ("leader", "staff")
    id_of = {code: cid for code, (cid, _) in targets.items()}
    form_of = {code: form_names.index(form) for code, (_, form) in targets.items()}
    target_ids = np.fromiter(map(id_of.get, cols.target, repeat(-1)), np.int64, n)
    form_idx = np.fromiter(map(form_of.get, cols.target, repeat(-1)), np.int8, n)
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
            for i in rows.tolist():
                if not cols.marks[i].isascii():
                    problems.append(FieldProblem("marks", "only 1, 0 and x are allowed", i + 1))
            continue
        grid = np.frombuffer(joined, np.uint8).reshape(len(rows), width)
        is_obs = grid == ord("1")
        is_nb = grid == ord("x")
        bad = ~(is_obs | is_nb | (grid == ord("0"))).all(axis=1)
        for i in rows[bad][:MAX_REPORTED_PROBLEMS].tolist():
            problems.append(FieldProblem("marks", "only 1, 0 and x are allowed", i + 1))
        observed[rows] = pack_bits(is_obs)
        no_basis[rows] = pack_bits(is_nb)
    level = _codes_of(cols.level, {"": 0, **LEVEL_CODES}, "level", problems)
    confidence = _codes_of(cols.confidence, {"": 0, **CONFIDENCE_CODES}, "confidence", problems)
    comment_targets: list[int] = []
    comments: list[str] = []
    for i in [i for i, c in enumerate(cols.comment) if c]:
        raw = cols.comment[i]
        if raw:
            text = nfc(raw)
            if len(text) > MAX_COMMENT_CHARS:
                problems.append(
                    FieldProblem("comment", f"longer than {MAX_COMMENT_CHARS} characters", i + 1)
                )
            elif text:
                comment_targets.append(int(target_ids[i]))
                comments.append(text)
    if problems:
        problems.sort(key=lambda p: (p.row or 0, p.field))
        raise RuleViolation(
            f"the upload has {len(problems)} problem(s); nothing was stored",
            problems[:MAX_REPORTED_PROBLEMS],
        )
    return _Checked(target_ids, observed, no_basis, level, confidence, comment_targets, comments)


async def upload_paper(
    conn: asyncpg.Connection,
    principal: Principal,
    round_id: int,
    body: bytes,
    content_type: str,
    idempotency_key: str,
) -> dict[str, Any]:
    """Store a whole upload or nothing. A retry with the same key and body answers as the first
    did without storing again; the same key with another body is a 409."""
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
        rnd = await conn.fetchrow(Q["round_lock_share"], round_id)
        if rnd is None or not (
            principal.city_wide
            or await conn.fetchval(QU["in_subtree"], principal.scope_unit_id, rnd["unit_id"])
        ):
            raise NotFound(f"no ballot round {round_id}")
        await ensure_in_scope(conn, principal, [rnd["unit_id"]])
        claimed = await conn.fetchval(
            Q["upload_claim"], round_id, idempotency_key, digest, len(cols)
        )
        if claimed is None:
            previous = await conn.fetchrow(Q["upload_get"], round_id, idempotency_key)
            assert previous is not None
            if bytes(previous["body_sha256"]) != digest:
                raise Conflict(
                    "this Idempotency-Key was used for a different upload",
                    [FieldProblem("idempotency-key", "already used with another body")],
                )
            return {"round_id": round_id, "ballots": previous["ballots"], "replayed": True}
        if rnd["status"] != "open":
            raise Conflict(f"the round is {rnd['status']}; it takes no ballots")
        target_rows = await conn.fetch(Q["round_targets_full"], round_id)
        forms = await form_items(conn, rnd["catalog_id"])
        checked = check_paper(
            cols,
            {r["code"]: (r["cadre_id"], r["form"]) for r in target_rows},
            {form: items.codes for form, items in forms.items()},
        )
        await _check_capacity(conn, round_id, target_rows, checked.target_ids)
        await _copy_ballots(conn, round_id, checked)
    return {"round_id": round_id, "ballots": len(cols), "replayed": False}


async def check_paper_upload(
    conn: asyncpg.Connection, principal: Principal, round_id: int, body: bytes
) -> int:
    """The checks of :func:`upload_paper` without storing (a page's preview): the number of
    ballots the CSV would add, or the error listing every problem."""
    cols = parse_paper(body, "text/csv")
    if not len(cols):
        raise InvalidInput("the upload holds no ballots", [FieldProblem("body", "no rows")])
    async with conn.transaction():
        rnd = await conn.fetchrow(Q["round_lock_share"], round_id)
        if rnd is None or not (
            principal.city_wide
            or await conn.fetchval(QU["in_subtree"], principal.scope_unit_id, rnd["unit_id"])
        ):
            raise NotFound(f"no ballot round {round_id}")
        await ensure_in_scope(conn, principal, [rnd["unit_id"]])
        if rnd["status"] != "open":
            raise Conflict(f"the round is {rnd['status']}; it takes no ballots")
        target_rows = await conn.fetch(Q["round_targets_full"], round_id)
        forms = await form_items(conn, rnd["catalog_id"])
        checked = check_paper(
            cols,
            {r["code"]: (r["cadre_id"], r["form"]) for r in target_rows},
            {form: items.codes for form, items in forms.items()},
        )
        await _check_capacity(conn, round_id, target_rows, checked.target_ids)
    return len(cols)


async def _check_capacity(
    conn: asyncpg.Connection,
    round_id: int,
    target_rows: list[asyncpg.Record],
    new_targets: npt.NDArray[np.int64],
) -> None:
    """No target may end up with more ballots than it has eligible voters."""
    ids = np.fromiter((r["cadre_id"] for r in target_rows), np.int64, len(target_rows))
    eligible = np.fromiter((r["eligible"] for r in target_rows), np.int64, len(target_rows))
    have = np.zeros(len(ids), np.int64)
    for r in await conn.fetch(Q["ballots_per_target"], round_id):
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
                    f"{target_rows[t]['code']!r} would have more ballots than its "
                    f"{eligible[t]} eligible voters",
                    first,
                )
            )
        raise RuleViolation("more ballots than eligible voters; nothing was stored", problems)


async def _copy_ballots(conn: asyncpg.Connection, round_id: int, c: _Checked) -> None:
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
