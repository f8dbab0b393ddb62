"""Remediation items (khắc phục tồn tại, hạn chế): open → done (verified) or cancelled.

Overdue is derived, never stored: an open item whose due date has passed. An item verified
after its due date is done but late (``verified_late``); scoring counts it as a task with
delays (DOMAIN part 3).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Literal

import msgspec

from evalsvc.domain.bulk import UploadSpec
from evalsvc.domain.codes import Code, Name
from evalsvc.domain.vietnamese import nfc

Origin = Literal["ballot_round", "inspection", "review_meeting", "citizen_feedback"]
Status = Literal["open", "done", "cancelled"]
Text = Annotated[str, msgspec.Meta(min_length=1, max_length=4000)]
Ref = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]


class RemediationIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """A shortcoming to remedy, of one cadre or one unit.

    With ``origin_ref`` (e.g. the ballot round id) the item is idempotent per
    (origin, origin_ref, subject, item_code): sending it again changes nothing.
    """

    origin: Origin
    description: Text
    identified_on: date
    due_on: date
    cadre_code: Code | None = None
    unit_code: Code | None = None
    origin_ref: Ref | None = None
    item_code: Annotated[str, msgspec.Meta(max_length=64)] = ""

    def __post_init__(self) -> None:
        if (self.cadre_code is None) == (self.unit_code is None):
            raise ValueError("cadre_code: give exactly one of cadre_code and unit_code")
        if self.due_on < self.identified_on:
            raise ValueError("due_on: before identified_on")
        self.description = nfc(self.description)


class RemediationVerify(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    verified_by: Name
    verified_on: date

    def __post_init__(self) -> None:
        self.verified_by = nfc(self.verified_by)


class RemediationCancel(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    reason: Text

    def __post_init__(self) -> None:
        self.reason = nfc(self.reason)


class Remediation(msgspec.Struct, kw_only=True):
    id: int
    cadre_code: str | None
    unit_code: str | None
    origin: str
    origin_ref: str | None
    item_code: str
    description: str
    identified_on: date
    due_on: date
    status: str
    verified_by: str | None
    verified_on: date | None
    cancel_reason: str | None
    overdue: bool
    verified_late: bool
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class NewItem:
    """An item opened by other code (ballot rounds) with ids already known; exactly one of
    cadre_id and unit_id."""

    origin: str
    description: str
    identified_on: date
    due_on: date
    cadre_id: int | None = None
    unit_id: int | None = None
    origin_ref: str | None = None
    item_code: str = ""


REMEDIATION_CSV_COLUMNS = (
    "cadre_code",
    "unit_code",
    "origin",
    "origin_ref",
    "item_code",
    "description",
    "identified_on",
    "due_on",
)
REMEDIATION_CSV_REQUIRED = ("origin", "description", "identified_on", "due_on")
REMEDIATION_UPLOAD = UploadSpec(RemediationIn, REMEDIATION_CSV_COLUMNS, REMEDIATION_CSV_REQUIRED)
