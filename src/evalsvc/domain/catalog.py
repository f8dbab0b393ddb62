"""Manifestation catalogs (biểu hiện vi phạm): versioned lists of items for the ballot forms.

The official texts of Directive 24's 25 manifestations (and Long Biên's 41/36) are not public;
the service ships an illustrative sample, labelled as such, and loads official catalogs as data.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec

from evalsvc.domain.codes import Code, Name
from evalsvc.domain.vietnamese import nfc

Group = Annotated[int, msgspec.Meta(ge=1, le=3)]
Points = Annotated[float, msgspec.Meta(ge=0, le=30)]
Form = Literal["leader", "staff"]

GROUP_TITLES = {
    1: "Nhóm các biểu hiện vi phạm kỷ luật, kỷ cương",
    2: "Nhóm các biểu hiện né tránh, đùn đẩy, thiếu trách nhiệm trong thực thi nhiệm vụ",
    3: "Nhóm biểu hiện vi phạm trong việc thực hiện cơ chế bảo vệ, khuyến khích cán bộ "
    "năng động, sáng tạo",
}


class CatalogItemIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """One manifestation: its code, Vietnamese text, group and which forms carry it."""

    code: Code
    text: Annotated[str, msgspec.Meta(min_length=1, max_length=2000)]
    group: Group
    forms: Annotated[list[Form], msgspec.Meta(min_length=1, max_length=2)]

    def __post_init__(self) -> None:
        self.text = nfc(self.text)
        if len(set(self.forms)) != len(self.forms):
            raise ValueError("forms: a form is listed twice")


class GroupPoints(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Points deducted from the general criteria per confirmed item of each group."""

    group1: Points = 3.0
    group2: Points = 2.0
    group3: Points = 2.0


class CatalogCreate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """A new catalog version; ``name`` groups versions, the version number is assigned."""

    name: Code
    title: Name
    items: Annotated[list[CatalogItemIn], msgspec.Meta(min_length=1, max_length=500)]
    is_sample: bool = False
    points: GroupPoints = msgspec.field(default_factory=GroupPoints)
    publish: bool = False


CATALOG_CSV_COLUMNS = ("code", "text", "group", "forms")
CATALOG_CSV_REQUIRED = CATALOG_CSV_COLUMNS


def catalog_csv_row(row: dict[str, str]) -> dict[str, object]:
    """CSV cells to the JSON shape: ``forms`` is ``leader;staff``."""
    out: dict[str, object] = dict(row)
    if "forms" in row:
        out["forms"] = [f.strip() for f in row["forms"].split(";") if f.strip()]
    return out


class CatalogItem(msgspec.Struct, kw_only=True):
    code: str
    text: str
    group: int
    forms: list[str]
    ordinal: int


class Catalog(msgspec.Struct, kw_only=True, omit_defaults=True):
    id: int
    name: str
    version: int
    title: str
    is_sample: bool
    status: str
    points: GroupPoints
    created_at: datetime
    published_at: datetime | None
    leader_items: int
    staff_items: int
    items: list[CatalogItem] | None = None
