"""Peer ballots: vocabulary, input structs and the counting rules (DOMAIN part 4).

The counting rules are exact integer comparisons, so a share sitting on a threshold
(exactly 1/2, exactly 1/3) is decided the same way everywhere:

- quorum: valid ≥ ⌈2/3 · eligible⌉ and valid ≥ k_min  ⇔  3·valid ≥ 2·eligible and valid ≥ k_min
- confirmed: pₘ = observed / (valid − no basis) > 1/2  ⇔  2·observed > rated
- watch: 1/3 < pₘ ≤ 1/2  ⇔  3·observed > rated ≥ 2·observed
- low confidence: "tín nhiệm thấp" > 1/2 of valid ballots; escalated from 2/3 of them.
"""

from __future__ import annotations

import calendar
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Final, Literal

import msgspec

# --- keys and tokens ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BallotKeys:
    """Independent HMAC subkeys derived from the service's secret key (``evalsvc.keyring``)."""

    token: bytes  # voter token hashes
    ledger: bytes  # ledger tags
    share_wrap: bytes = b""  # seals committee shares until their member collects them


VOTER_TOKEN_PREFIX: Final = "bv_"


def new_voter_token() -> str:
    """256 random bits; shown once when the round opens, only its keyed hash is kept."""
    return VOTER_TOKEN_PREFIX + secrets.token_urlsafe(32)


def token_hash(keys: BallotKeys, token: str) -> bytes:
    return hmac.new(keys.token, token.encode(), hashlib.sha256).digest()


def targets_tag(keys: BallotKeys, round_id: int, target_ids: list[int]) -> bytes:
    """HMAC(ledger key, round | sorted target ids): which colleagues a sealed sheet covers,
    checked at close without being readable from the database."""
    message = f"sheet targets|{round_id}|" + ",".join(map(str, sorted(target_ids)))
    return hmac.new(keys.ledger, message.encode(), hashlib.sha256).digest()


def ledger_tag(keys: BallotKeys, voter_token_id: int, target_id: int, round_id: int) -> bytes:
    """HMAC(ledger key, "voter token id|target|round"): the only trace of who voted for whom."""
    message = f"{voter_token_id}|{target_id}|{round_id}".encode()
    return hmac.new(keys.ledger, message, hashlib.sha256).digest()


# --- codes ----------------------------------------------------------------------------------

FORMS: Final = ("leader", "staff")
POSITIONS: Final = ("head", "deputy", "staff")
MAX_FORM_ITEMS: Final = 64  # marks are two 64-bit maps per ballot
MAX_ELIGIBLE: Final = 65_535  # tallies keep per-item counts as uint16

LEVEL_CODES: Final[dict[str, int]] = {"KHT": 1, "HT": 2, "HTT": 3, "HTXS": 4}
LEVEL_NAMES: Final[tuple[str, ...]] = ("KHT", "HT", "HTT", "HTXS")  # index = code - 1
LEVEL_LABELS: Final[dict[str, str]] = {
    "HTXS": "Hoàn thành xuất sắc nhiệm vụ",
    "HTT": "Hoàn thành tốt nhiệm vụ",
    "HT": "Hoàn thành nhiệm vụ",
    "KHT": "Không hoàn thành nhiệm vụ",
}
CONFIDENCE_CODES: Final[dict[str, int]] = {"low": 1, "normal": 2, "high": 3}
CONFIDENCE_NAMES: Final[tuple[str, ...]] = ("low", "normal", "high")
CONFIDENCE_LABELS: Final[dict[str, str]] = {
    "high": "Tín nhiệm cao",
    "normal": "Tín nhiệm",
    "low": "Tín nhiệm thấp",
}
MARK_LABELS: Final[dict[str, str]] = {
    "observed": "Có biểu hiện",
    "not_observed": "Không có biểu hiện",
    "no_basis": "Không đủ cơ sở đánh giá",
}
# Paper ballots carry their marks as one character per item of the form, in catalog order.
PAPER_OBSERVED: Final = "1"
PAPER_NOT_OBSERVED: Final = "0"
PAPER_NO_BASIS: Final = "x"

Mark = Literal["observed", "not_observed", "no_basis"]
LevelCode = Literal["KHT", "HT", "HTT", "HTXS"]
ConfidenceCode = Literal["low", "normal", "high"]
VotingScope = Literal["unit", "round"]
Position = Literal["head", "deputy", "staff"]

MAX_COMMENT_CHARS: Final = 2000

# --- periods --------------------------------------------------------------------------------

_PERIOD = re.compile(r"^(\d{4})(?:-(?:(0[1-9]|1[0-2])|Q([1-4])))?$")


@dataclass(frozen=True, slots=True)
class Period:
    """A covered period: whole months from ``start`` (first day) to ``end`` (last day)."""

    kind: Literal["month", "quarter", "year"]
    start: date
    end: date

    @property
    def code(self) -> str:
        if self.kind == "year":
            return f"{self.start.year}"
        if self.kind == "quarter":
            return f"{self.start.year}-Q{(self.start.month - 1) // 3 + 1}"
        return f"{self.start.year}-{self.start.month:02d}"


def parse_period(text: str) -> Period | None:
    """``2026-03`` (a month), ``2026-Q1`` (a quarter) or ``2026`` (a year); None if neither."""
    match = _PERIOD.match(text.strip())
    if not match:
        return None
    year = int(match.group(1))
    if not 2000 <= year <= 2100:
        return None
    if match.group(2):
        month = int(match.group(2))
        return Period("month", date(year, month, 1), _month_end(year, month))
    if match.group(3):
        first = 3 * (int(match.group(3)) - 1) + 1
        return Period("quarter", date(year, first, 1), _month_end(year, first + 2))
    return Period("year", date(year, 1, 1), date(year, 12, 31))


def _month_end(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


# --- counting rules (scalar reference; store.ballot_tally applies them to arrays) ----------


def has_quorum(valid: int, eligible: int, k_min: int) -> bool:
    return 3 * valid >= 2 * eligible and valid >= k_min


def item_flag(observed: int, no_basis: int, valid: int) -> Literal["confirmed", "watch"] | None:
    rated = valid - no_basis
    if rated <= 0:
        return None
    if 2 * observed > rated:
        return "confirmed"
    if 3 * observed > rated:
        return "watch"
    return None


def is_low_confidence(low: int, valid: int) -> bool:
    return valid > 0 and 2 * low > valid


def is_escalated(low: int, valid: int) -> bool:
    return valid > 0 and 3 * low >= 2 * valid


# --- input structs --------------------------------------------------------------------------

Title = Annotated[str, msgspec.Meta(min_length=1, max_length=300)]
Code = Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
KMin = Annotated[int, msgspec.Meta(ge=3, le=1000)]
Username = Annotated[str, msgspec.Meta(min_length=1, max_length=63)]
Threshold = Annotated[int, msgspec.Meta(ge=2, le=50)]
MIN_COMMITTEE: Final = 3
Comment = Annotated[str, msgspec.Meta(max_length=MAX_COMMENT_CHARS)]


class RoundCreate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """A new round (draft). ``targets``/``voters`` default to every cadre in the scope."""

    title: Title
    unit: Code
    period: Annotated[str, msgspec.Meta(description="2026-03, 2026-Q1 or 2026")]
    catalog_id: int
    opens_at: datetime
    closes_at: datetime
    include_subunits: bool = False
    voting_scope: VotingScope = "unit"
    leader_positions: list[Position] = msgspec.field(default_factory=lambda: ["head", "deputy"])
    k_min: KMin = 5
    targets: list[Code] | None = None
    voters: list[Code] | None = None
    # Voters who get a paper form instead of a token (one channel each); default none.
    paper_voters: list[Code] = msgspec.field(default_factory=list)
    # The counting committee (usernames of people's accounts, at least 3 to open) and how
    # many of them must enter their shares to close the round.
    committee: list[Username] = msgspec.field(default_factory=list)
    threshold: Threshold = 2

    def __post_init__(self) -> None:
        _check_round(self.period, self.opens_at, self.closes_at)


class RoundUpdate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Changes to a draft round; absent fields keep their value."""

    title: Title | None = None
    unit: Code | None = None
    period: str | None = None
    catalog_id: int | None = None
    opens_at: datetime | None = None
    closes_at: datetime | None = None
    include_subunits: bool | None = None
    voting_scope: VotingScope | None = None
    leader_positions: list[Position] | None = None
    k_min: KMin | None = None
    targets: list[Code] | None = None
    voters: list[Code] | None = None
    paper_voters: list[Code] | None = None
    committee: list[Username] | None = None
    threshold: Threshold | None = None

    def __post_init__(self) -> None:
        _check_round(self.period, self.opens_at, self.closes_at)


def _check_round(period: str | None, opens_at: datetime | None, closes_at: datetime | None) -> None:
    if period is not None and parse_period(period) is None:
        raise ValueError("period: expected YYYY-MM, YYYY-Qn or YYYY")
    for name, value in (("opens_at", opens_at), ("closes_at", closes_at)):
        if value is not None and value.tzinfo is None:
            raise ValueError(f"{name}: needs a time zone offset")
    if opens_at is not None and closes_at is not None and closes_at <= opens_at:
        raise ValueError("closes_at: must be after opens_at")


class BallotSubmit(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """One online ballot. Items left out of ``marks`` count as not observed."""

    target: Code
    marks: dict[str, Mark] = msgspec.field(default_factory=dict)
    level: LevelCode | None = None
    confidence: ConfidenceCode | None = None
    comment: Comment | None = None


class PaperBallot(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """One digitised paper ballot (a JSON upload is a list of these; CSV has the same columns).

    ``marks`` has one character per item of the target's form in catalog order:
    ``1`` observed, ``0`` not observed, ``x`` no basis to judge.
    """

    target: str
    marks: str
    level: str = ""
    confidence: str = ""
    comment: str = ""


PAPER_COLUMNS: Final = ("target", "marks", "level", "confidence", "comment")
PAPER_REQUIRED_COLUMNS: Final = ("target", "marks")


class Sheet(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """The plaintext inside a sealed sheet: one voter's ballots for several colleagues.

    Each ballot has the paper layout: ``marks`` is one character per item of the target's
    form in catalog order (``1`` observed, ``0`` not observed, ``x`` no basis).
    """

    round: int
    ballots: list[PaperBallot]


class SealedSheet(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """A sheet sealed by the voter's client: the colleagues it covers (the ledger needs them)
    and the sealed box, base64."""

    targets: Annotated[list[Code], msgspec.Meta(min_length=1, max_length=2000)]
    sealed: Annotated[str, msgspec.Meta(min_length=64, max_length=8_000_000)]


ShareText = Annotated[str, msgspec.Meta(max_length=200)]


class CommitteeKey(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """The public half of a person's committee key: base64 of 32 bytes (X25519)."""

    public_key: Annotated[str, msgspec.Meta(max_length=100)] = ""


class RoundClose(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """The shares of at least ``threshold`` committee members."""

    shares: Annotated[
        list[Annotated[str, msgspec.Meta(max_length=200)]], msgspec.Meta(max_length=50)
    ]
