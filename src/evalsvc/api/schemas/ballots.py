"""The shapes of the ballot rounds' answers, for the OpenAPI document.

The ballot handlers keep returning the store's dicts (fields that later work adds are not
dropped); these structs document them through ``responses=`` and the contract tests check
real answers against them. Fields that only some states carry (a closed round's counts,
an opened round's invitations) are optional.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

import msgspec

Form = Literal["leader", "staff"]


class CommitteeMember(msgspec.Struct, kw_only=True):
    """A member of the round's counting committee (never their share)."""

    username: str
    full_name: str | None
    share_number: int | None
    share_collected: bool  # has fetched their sealed share
    has_key: bool  # has registered a committee key (a round opens only when all have)


class SheetCounts(msgspec.Struct):
    counted: int | None
    invalid: int | None


class ChannelCounts(msgspec.Struct):
    online: int | None
    paper: int | None


class InvitationCounts(msgspec.Struct):
    email: int
    paper: int


class TallySummary(msgspec.Struct, kw_only=True):
    targets: int = 0
    targets_reported: int = 0
    targets_with_quorum: int = 0
    valid_ballots: int = 0


class BallotRound(msgspec.Struct, kw_only=True):
    """A ballot round: its scope, catalog, period, committee and, once closed, its counts."""

    id: int
    title: str
    unit_id: int
    unit_code: str
    include_subunits: bool
    voting_scope: str
    period_kind: str
    period_start: date
    period_end: date
    period: str
    catalog_id: int
    catalog_name: str
    catalog_version: int
    catalog_status: str
    leader_positions: list[str]
    k_min: int
    opens_at: datetime | None
    closes_at: datetime | None
    status: str
    created_at: datetime
    opened_at: datetime | None
    closed_at: datetime | None
    opened_by: str | None
    targets: int
    voters: int
    threshold: int
    committee: list[CommitteeMember]
    public_key: str | None
    receipts_root: str | None = None
    sheets: SheetCounts | None = None
    ballots_by_channel: ChannelCounts | None = None
    closed_by: list[str] | None = None
    invitations: InvitationCounts | None = None
    """Only in the answer to opening: invitations per channel."""
    remediation_opened: int | None = None
    """Only in the answer to closing: remediation items opened from the ballots."""
    tally: TallySummary | None = None
    """Only in the answer to closing."""


class BallotRoundListItem(msgspec.Struct, kw_only=True):
    id: int
    title: str
    unit_code: str
    period_kind: str
    period_start: date
    period_end: date
    period: str
    status: str
    opens_at: datetime | None
    closes_at: datetime | None
    k_min: int


class BallotRoundPage(msgspec.Struct):
    items: list[BallotRoundListItem]
    total: int
    limit: int
    offset: int


class CommitteeShare(msgspec.Struct, kw_only=True):
    """A committee member's share of the round's key, sealed to their own committee key
    (base64 sealed box; only their key file opens it). A round opened before members had
    keys hands over ``share`` itself, once."""

    round_id: int
    share_number: int
    sealed_share: str | None = None
    member_public_key: str | None = None
    share: str | None = None


class CommitteeKeyInfo(msgspec.Struct):
    """A person's registered committee key: the public half (base64), and since when."""

    public_key: str | None
    registered_at: datetime | None


class PaperUpload(msgspec.Struct, kw_only=True):
    """An upload of paper ballots: pending until a second committee member confirms it."""

    round_id: int
    upload_id: int
    ballots: int
    uploaded_by: str
    confirmed_by: str | None
    status: Literal["pending", "counted"]
    replayed: bool


class PaperUploadRecord(msgspec.Struct, kw_only=True):
    id: int
    idempotency_key: str | None
    ballots: int
    uploaded_by: str
    created_at: datetime
    confirmed_by: str | None
    confirmed_at: datetime | None


class ProofStep(msgspec.Struct):
    side: str
    hash: str


class ReceiptProof(msgspec.Struct, kw_only=True):
    """A receipt's path to the round's published Merkle root."""

    round_id: int
    receipt: str
    root: str
    leaves: int
    proof: list[ProofStep]


class Participation(msgspec.Struct, kw_only=True):
    """How many voters have handed in their sheet (a count, never who)."""

    round_id: int
    voters: int
    finished: int


class Invitation(msgspec.Struct, kw_only=True):
    """The delivery of one voter's invitation (never the link)."""

    code: str
    full_name: str
    unit_name: str
    channel: str
    address: str | None
    status: str
    attempts: int
    last_error: str | None
    updated_at: datetime | None


class InvitationsQueued(msgspec.Struct):
    """``queued``: "pending" (every pending invitation) or the number of voters re-sent to."""

    round_id: int
    queued: int | str


class TargetTallyRow(msgspec.Struct, kw_only=True):
    """A target's result in the list; counts are withheld under ``k_min`` valid ballots."""

    target: str
    full_name: str
    form: Form
    withheld: bool
    eligible: int | None = None
    valid: int | None = None
    by_channel: ChannelCounts | None = None  # the valid ballots: online, paper
    quorum: bool | None = None
    confirmed: list[str] | None = None
    watch: list[str] | None = None
    low_confidence: bool | None = None
    escalated: bool | None = None


class RoundTallies(msgspec.Struct, kw_only=True):
    round_id: int
    k_min: int
    summary: TallySummary
    sheets: SheetCounts
    ballots_by_channel: ChannelCounts
    items: list[TargetTallyRow]


class ItemTally(msgspec.Struct, kw_only=True):
    code: str
    text: str
    group: int
    observed: int
    no_basis: int
    share: float | None
    flag: str | None


class TargetTally(msgspec.Struct, kw_only=True):
    """One target's result: items, levels, confidence, comments (withheld under k_min)."""

    target: str
    full_name: str
    form: Form
    withheld: bool
    reason: str | None = None
    eligible: int | None = None
    valid: int | None = None
    by_channel: ChannelCounts | None = None  # the valid ballots: online, paper
    quorum: bool | None = None
    items: list[ItemTally] | None = None
    levels: dict[str, int] | None = None
    confidence: dict[str, int] | None = None
    low_confidence: bool | None = None
    escalated: bool | None = None
    comments: list[str] | None = None


class VoterRound(msgspec.Struct, kw_only=True):
    id: int
    title: str
    status: str
    opens_at: datetime | None
    closes_at: datetime | None


class FormItem(msgspec.Struct):
    code: str
    text: str
    group: int


class PendingTarget(msgspec.Struct):
    code: str
    full_name: str
    form: Form


class VoterSheet(msgspec.Struct, kw_only=True):
    """What a voter sees: the round's public key, the forms, the colleagues still to rate."""

    public_key: str
    channel: str
    round: VoterRound
    forms: dict[str, list[FormItem]]
    targets: list[PendingTarget]


class BallotAccepted(msgspec.Struct, kw_only=True):
    """A ballot or sheet stored; ``receipt`` (hex SHA-256 of the sealed box) is the
    voter's proof of inclusion once the round closes."""

    accepted: bool | None = None
    submitted: bool | None = None
    round_id: int | None = None
    ballots: int
    receipt: str
    sealed_by: str
