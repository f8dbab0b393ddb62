"""Cadres (cán bộ, công chức, viên chức) with their employment spells and absences."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Literal

import msgspec

from evalsvc.domain.bulk import csv_bool
from evalsvc.domain.codes import Code, Name
from evalsvc.domain.vietnamese import nfc

PersonnelType = Literal["can_bo", "cong_chuc", "vien_chuc", "nguoi_lao_dong"]
Position = Literal["head", "deputy", "staff"]
AbsenceKind = Literal["maternity", "sick", "study", "unpaid", "other"]

LEADER_POSITIONS: frozenset[str] = frozenset({"head", "deputy"})


class EmploymentSpell(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    start: date
    end: date | None = None

    def __post_init__(self) -> None:
        if self.end is not None and self.end < self.start:
            raise ValueError("employment: end is before start")


class Absence(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    kind: AbsenceKind
    start: date
    end: date

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError("absences: end is before start")


class CadreCreate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """A cadre as sent by a caller or an HR system, keyed by the HR system's code.

    Omitted ``employment`` / ``absences`` keep what is stored; a list replaces it.
    """

    code: Code
    full_name: Name
    personnel_type: PersonnelType
    position: Position
    unit_code: Code
    peer_group: Code | None = None
    party_member: bool = False
    employment: list[EmploymentSpell] | msgspec.UnsetType = msgspec.UNSET
    absences: list[Absence] | msgspec.UnsetType = msgspec.UNSET
    # Where the service sends ballot invitations. Omitted (or an empty CSV cell) keeps what is
    # stored; null, "" or a CSV cell "-" removes it (the voter then gets a sealed paper slip).
    email: Annotated[str, msgspec.Meta(max_length=254)] | msgspec.UnsetType | None = msgspec.UNSET

    def __post_init__(self) -> None:
        self.full_name = nfc(self.full_name)
        if not self.full_name:
            raise ValueError("full_name: empty after trimming spaces")
        if isinstance(self.email, str):
            self.email = self.email.strip() or None
            if self.email is not None and not _EMAIL.match(self.email):
                raise ValueError("email: not an email address")


_EMAIL = re.compile(r"^[^@\s,;<>]+@[^@\s,;<>]+\.[^@\s,;<>]+$")


CADRE_CSV_COLUMNS = (
    "code",
    "full_name",
    "personnel_type",
    "position",
    "unit_code",
    "peer_group",
    "party_member",
    "employment_start",
    "employment_end",
    "email",
)
CADRE_CSV_REQUIRED = ("code", "full_name", "personnel_type", "position", "unit_code")
CADRE_CSV_FIELDS = {
    "employment[0].start": "employment_start",
    "employment[0].end": "employment_end",
    "employment[0]": "employment_end",
}


def cadre_csv_row(row: dict[str, str]) -> dict[str, object]:
    """CSV cells to the JSON shape: one employment spell from two optional columns."""
    out: dict[str, object] = {
        k: v for k, v in row.items() if k not in ("employment_start", "employment_end")
    }
    if "party_member" in row:
        out["party_member"] = csv_bool(row["party_member"])
    if "email" in row:
        # Empty cells are left out by the parser (the address is kept); "-" removes it.
        out["email"] = None if row["email"].strip() == "-" else row["email"]
    if "employment_start" in row:
        spell: dict[str, str] = {"start": row["employment_start"]}
        if "employment_end" in row:
            spell["end"] = row["employment_end"]
        out["employment"] = [spell]
    elif "employment_end" in row:
        out["employment"] = [{"end": row["employment_end"]}]  # reported as missing start
    return out


class CadreMove(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Move a cadre to another unit from a date on (the history keeps the old unit)."""

    unit_code: Code
    effective_date: date
    position: Position | None = None


class Cadre(msgspec.Struct, kw_only=True):
    """A stored cadre."""

    id: int
    code: str
    full_name: str
    personnel_type: str
    position: str
    unit_code: str
    peer_group: str | None
    party_member: bool
    employment: list[EmploymentSpell]
    absences: list[Absence]
    email: str | None = None
    created_at: datetime
    updated_at: datetime


class PeerGroupCreate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """A group of cadres with similar tasks (nhóm có nhiệm vụ tương đồng): the quota's scope."""

    code: Code
    name: Name


class PeerGroup(msgspec.Struct, kw_only=True):
    id: int
    code: str
    name: str
