"""Discipline records (kỷ luật): form, party or administrative track, dates, violation."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

import msgspec

from evalsvc.domain.bulk import UploadSpec
from evalsvc.domain.codes import Code

DisciplineForm = Literal[
    "khien_trach", "canh_cao", "ha_bac_luong", "giang_chuc", "cach_chuc", "buoc_thoi_viec"
]
"""Khiển trách, cảnh cáo, hạ bậc lương, giáng chức, cách chức, buộc thôi việc (lightest first)."""
Track = Literal["party", "administrative"]
ViolationId = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]


class DisciplineIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """One discipline decision. The key is (cadre, track, violation_id): the same violation may
    be punished once by the party and once by the administration; the rating counts it once."""

    cadre_code: Code
    form: DisciplineForm
    track: Track
    violation_id: ViolationId
    decided_on: date
    effective_on: date
    decision_no: Annotated[str, msgspec.Meta(max_length=100)] = ""

    def __post_init__(self) -> None:
        if self.effective_on < self.decided_on:
            raise ValueError("effective_on: before decided_on")


class Discipline(msgspec.Struct, kw_only=True):
    id: int
    cadre_code: str
    form: str
    track: str
    violation_id: str
    decision_no: str
    decided_on: date
    effective_on: date
    created_at: datetime
    updated_at: datetime


DISCIPLINE_CSV_COLUMNS = (
    "cadre_code",
    "form",
    "track",
    "violation_id",
    "decided_on",
    "effective_on",
    "decision_no",
)
DISCIPLINE_CSV_REQUIRED = DISCIPLINE_CSV_COLUMNS[:-1]
DISCIPLINE_UPLOAD = UploadSpec(
    DisciplineIn,
    DISCIPLINE_CSV_COLUMNS,
    DISCIPLINE_CSV_REQUIRED,
    key=lambda r: f"{r.cadre_code}/{r.track}/{r.violation_id}",
    key_field="violation_id",
)
