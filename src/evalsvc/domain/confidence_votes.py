"""Formal confidence votes (lấy phiếu tín nhiệm, QĐ 96): counts per level.

Derived, never stored: the low-confidence share (low ÷ present), whether more than half are
low (the annual KHT override for leaders under QĐ 366) and whether two thirds of those
eligible took part.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

import msgspec

from evalsvc.domain.bulk import UploadSpec
from evalsvc.domain.codes import Code

Count = Annotated[int, msgspec.Meta(ge=0, le=1_000_000)]


class ConfidenceVoteIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    cadre_code: Code
    vote_date: date
    eligible: Annotated[int, msgspec.Meta(ge=1, le=1_000_000)]
    present: Count
    high: Count
    medium: Count
    low: Count

    def __post_init__(self) -> None:
        if self.present > self.eligible:
            raise ValueError("present: more than eligible")
        if self.high + self.medium + self.low > self.present:
            raise ValueError("low: high + medium + low exceed present")


class ConfidenceVote(msgspec.Struct, kw_only=True):
    cadre_code: str
    vote_date: date
    eligible: int
    present: int
    high: int
    medium: int
    low: int
    low_share: float | None
    low_over_half: bool
    quorum_two_thirds: bool
    updated_at: datetime


def derived(eligible: int, present: int, low: int) -> tuple[float | None, bool, bool]:
    """(low ÷ present, more than half low, present ≥ ⌈2/3 · eligible⌉)."""
    share = low / present if present else None
    return share, 2 * low > present, 3 * present >= 2 * eligible


CONFIDENCE_CSV_COLUMNS = ("cadre_code", "vote_date", "eligible", "present", "high", "medium", "low")
CONFIDENCE_CSV_REQUIRED = CONFIDENCE_CSV_COLUMNS
CONFIDENCE_UPLOAD = UploadSpec(
    ConfidenceVoteIn,
    CONFIDENCE_CSV_COLUMNS,
    CONFIDENCE_CSV_REQUIRED,
    key=lambda r: f"{r.cadre_code}/{r.vote_date}",
    key_field="vote_date",
)
