"""Unit indicators per unit and month: SIPAS satisfaction, administrative dossiers, PAR score."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec

from evalsvc.domain.assessments import Month
from evalsvc.domain.bulk import UploadSpec
from evalsvc.domain.codes import Code
from evalsvc.domain.tasks import parse_month

Percent = Annotated[float, msgspec.Meta(ge=0, le=100)]
Count = Annotated[int, msgspec.Meta(ge=0, le=100_000_000)]


class UnitIndicatorIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Any indicator may be missing (null): scoring then treats it as absent, not as zero."""

    unit_code: Code
    month: Month
    satisfaction_pct: Percent | None = None
    dossiers_received: Count | None = None
    dossiers_late: Count | None = None
    par_score: Percent | None = None

    def __post_init__(self) -> None:
        if parse_month(self.month) is None:
            raise ValueError("month: not a month between 2000-01 and 2100-12")
        if (
            self.dossiers_late is not None
            and self.dossiers_received is not None
            and self.dossiers_late > self.dossiers_received
        ):
            raise ValueError("dossiers_late: more than dossiers_received")
        if self.dossiers_late is not None and self.dossiers_received is None:
            raise ValueError("dossiers_received: needed with dossiers_late")


class UnitIndicator(msgspec.Struct, kw_only=True):
    unit_code: str
    month: str
    satisfaction_pct: float | None
    dossiers_received: int | None
    dossiers_late: int | None
    late_share: float | None
    par_score: float | None
    updated_at: datetime


UNIT_INDICATOR_CSV_COLUMNS = (
    "unit_code",
    "month",
    "satisfaction_pct",
    "dossiers_received",
    "dossiers_late",
    "par_score",
)
UNIT_INDICATOR_CSV_REQUIRED = ("unit_code", "month")
UNIT_INDICATOR_UPLOAD = UploadSpec(
    UnitIndicatorIn,
    UNIT_INDICATOR_CSV_COLUMNS,
    UNIT_INDICATOR_CSV_REQUIRED,
    key=lambda r: f"{r.unit_code}/{r.month}",
    key_field="month",
)
