"""The voter's whole ballot sheet: every colleague at once, checked before anything is kept.

A voter's code is 25 characters of Crockford base32 (125 random bits) in groups of five,
short enough to type from a printed slip; typing is forgiving (case, spaces, dashes,
O for 0, I and L for 1). Like the old ``bv_`` tokens, only its keyed hash is stored.

``check_sheet`` is a pure function from the sheet and the voter's pending colleagues to the
ballot records, or every problem at once; the store writes its result in one transaction
(``store.sheets.submit_sheet``), which is where sealing to the round's key can slot in.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Final

import msgspec

from evalsvc.domain.ballots import (
    CONFIDENCE_CODES,
    LEVEL_CODES,
    MAX_COMMENT_CHARS,
    VOTER_TOKEN_PREFIX,
    BallotKeys,
    BallotSubmit,
)
from evalsvc.domain.errors import MAX_REPORTED_PROBLEMS, FieldProblem, RuleViolation
from evalsvc.domain.vietnamese import nfc

CROCKFORD: Final = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CODE_GROUPS: Final = 5
GROUP_LEN: Final = 5
_TYPED = str.maketrans({"O": "0", "I": "1", "L": "1", "-": None, " ": None, "\u00a0": None})


def new_voter_code() -> str:
    """``ABCDE-FGHJK-MNPQR-STVWX-YZ012``: 125 bits, shown only to the delivery channel."""
    chars = "".join(secrets.choice(CROCKFORD) for _ in range(CODE_GROUPS * GROUP_LEN))
    return "-".join(chars[i : i + GROUP_LEN] for i in range(0, len(chars), GROUP_LEN))


def normalize_voter_code(typed: str) -> str | None:
    """The canonical code of what a voter typed or a link carried; None if it cannot be one."""
    text = typed.strip()
    if text.startswith(VOTER_TOKEN_PREFIX):  # tokens of rounds opened before codes
        return text
    plain = text.upper().translate(_TYPED)
    if len(plain) != CODE_GROUPS * GROUP_LEN or any(c not in CROCKFORD for c in plain):
        return None
    return "-".join(plain[i : i + GROUP_LEN] for i in range(0, len(plain), GROUP_LEN))


def sheet_tag(keys: BallotKeys, voter_token_id: int, round_id: int) -> bytes:
    """The ledger's mark that this voter has handed in their sheet (never says whose)."""
    message = f"sheet|{voter_token_id}|{round_id}".encode()
    return hmac.new(keys.ledger, message, hashlib.sha256).digest()


class SheetSubmit(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """A whole sheet: one ballot for each colleague still pending, in any order."""

    ballots: list[BallotSubmit]


@dataclass(frozen=True, slots=True)
class Colleague:
    """A target on the voter's sheet."""

    cadre_id: int
    code: str
    form: str  # "leader" or "staff"


@dataclass(frozen=True, slots=True)
class CheckedBallot:
    target_id: int
    observed: int  # bitmap over the target's form, bit m = item m in catalog order
    no_basis: int
    level: int  # 0 blank, LEVEL_CODES otherwise
    confidence: int  # 0 blank, CONFIDENCE_CODES otherwise
    comment: str


def check_sheet(
    sheet: SheetSubmit, pending: list[Colleague], forms: dict[str, list[str]]
) -> list[CheckedBallot]:
    """Every pending colleague exactly once, only their form's items; all problems at once.

    Fields are named ``ballots.<target code>[.marks.<item> | .comment]``, so a page can put
    each message beside its input. Raises RuleViolation.
    """
    by_code = {c.code: c for c in pending}
    positions = {form: {code: m for m, code in enumerate(codes)} for form, codes in forms.items()}
    problems: list[FieldProblem] = []
    seen: set[str] = set()
    out: list[CheckedBallot] = []
    for ballot in sheet.ballots:
        where = f"ballots.{ballot.target}"
        colleague = by_code.get(ballot.target)
        if colleague is None:
            problems.append(FieldProblem(where, "not one of your colleagues in this round"))
            continue
        if ballot.target in seen:
            problems.append(FieldProblem(where, "listed twice"))
            continue
        seen.add(ballot.target)
        position = positions[colleague.form]
        observed = no_basis = 0
        for item, mark in ballot.marks.items():
            m = position.get(item)
            if m is None:
                other = any(item in p for f, p in positions.items() if f != colleague.form)
                reason = (
                    f"item {item!r} belongs to the other form, not the {colleague.form} form"
                    if other
                    else f"unknown item {item!r}"
                )
                problems.append(FieldProblem(f"{where}.marks.{item}", reason))
            elif mark == "observed":
                observed |= 1 << m
            elif mark == "no_basis":
                no_basis |= 1 << m
        comment = nfc(ballot.comment or "").strip()
        if len(comment) > MAX_COMMENT_CHARS:
            problems.append(
                FieldProblem(f"{where}.comment", f"longer than {MAX_COMMENT_CHARS} characters")
            )
        out.append(
            CheckedBallot(
                colleague.cadre_id,
                observed,
                no_basis,
                LEVEL_CODES[ballot.level] if ballot.level else 0,
                CONFIDENCE_CODES[ballot.confidence] if ballot.confidence else 0,
                comment,
            )
        )
    for colleague in pending:
        if colleague.code not in seen:
            problems.append(
                FieldProblem(f"ballots.{colleague.code}", "missing: every colleague needs a ballot")
            )
    if problems:
        raise RuleViolation(
            f"the sheet has {len(problems)} problem(s); nothing was stored",
            problems[:MAX_REPORTED_PROBLEMS],
        )
    return out


class ResendRequest(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Voters (cadre codes) whose email invitation is sent again with a new link."""

    voters: list[str] | None = None
