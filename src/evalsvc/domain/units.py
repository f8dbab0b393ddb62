"""Units (cơ quan, đơn vị): a tree with kind, ranking block and per-year outstanding flags."""

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
    outstanding_years: list[Year] | msgspec.UnsetType = msgspec.UNSET

    def __post_init__(self) -> None:
        if self.parent_code == self.code:
            raise ValueError("parent_code: a unit cannot be its own parent")


UNIT_CSV_COLUMNS = ("code", "name", "kind", "parent_code", "ranking_block", "outstanding_years")
UNIT_CSV_REQUIRED = ("code", "name", "kind")


def unit_csv_row(row: dict[str, str]) -> dict[str, object]:
    """CSV cells to the JSON shape: ``outstanding_years`` is ``2024;2025``."""
    out: dict[str, object] = dict(row)
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
    outstanding_years: list[int]
    created_at: datetime
    updated_at: datetime


class UpsertSummary(msgspec.Struct, kw_only=True):
    """What a bulk upsert did: every row was inserted, updated or already as sent."""

    inserted: int
    updated: int
    unchanged: int
