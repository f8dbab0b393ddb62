"""Units (cơ quan, đơn vị): a tree with kind, ranking block, the agency flag (the unit rates
its own staff: the HTXS quota's scope; default: the units of a ranking block) and per-year
outstanding flags."""

from __future__ import annotations

from datetime import datetime

import msgspec

from evalsvc.domain.codes import Code, Name, ShortText, Year


class UnitCreate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """A unit as sent by a caller; ``parent_code`` may name a unit of the same upload."""

    code: Code
    name: Name
    kind: ShortText
    parent_code: Code | None = None
    ranking_block: Name | None = None
    agency: bool | msgspec.UnsetType | None = msgspec.UNSET
    outstanding_years: list[Year] | msgspec.UnsetType = msgspec.UNSET

    def __post_init__(self) -> None:
        if self.parent_code == self.code:
            raise ValueError("parent_code: a unit cannot be its own parent")


UNIT_CSV_COLUMNS = (
    "code",
    "name",
    "kind",
    "parent_code",
    "ranking_block",
    "agency",
    "outstanding_years",
)
_TRUE = {"true", "1", "yes", "có", "x"}
_FALSE = {"false", "0", "no", "không"}
UNIT_CSV_REQUIRED = ("code", "name", "kind")


def unit_csv_row(row: dict[str, str]) -> dict[str, object]:
    """CSV cells to the JSON shape: ``outstanding_years`` is ``2024;2025``; ``agency`` is
    ``true``/``false`` (also 1/0, yes/no, có/không), empty = the default."""
    out: dict[str, object] = dict(row)
    if "agency" in row:
        cell = row["agency"].strip().lower()
        if cell == "":
            out["agency"] = None
        elif cell in _TRUE or cell in _FALSE:
            out["agency"] = cell in _TRUE
        # anything else stays a string: the struct refuses it, naming the field
    if "outstanding_years" in row:
        out["outstanding_years"] = [y.strip() for y in row["outstanding_years"].split(";") if y]
    return out


class Unit(msgspec.Struct, kw_only=True):
    """A stored unit."""

    id: int
    code: str
    name: str
    kind: str
    parent_code: str | None
    ranking_block: str | None
    agency: bool
    outstanding_years: list[int]
    created_at: datetime
    updated_at: datetime


class UpsertSummary(msgspec.Struct, kw_only=True):
    """What a bulk upsert did: every row was inserted, updated or already as sent."""

    inserted: int
    updated: int
    unchanged: int
