"""Supervisor assessments per cadre and month (Decree 335 Art. 12 general criteria).

The three sub-criteria — politics/ethics/discipline, capacity/responsibility/service,
innovation/daring — are stored on the decree's scale, 0 to ``SUB_CRITERION_MAX`` (10) each;
scoring rescales to its profile. For leaders the superior also gives đ (organising capacity)
and e (cohesion), each 1 or 0.5; d is computed by scoring from the leader's subordinates.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec

from evalsvc.domain.bulk import UploadSpec
from evalsvc.domain.codes import Code
from evalsvc.domain.tasks import parse_month

SUB_CRITERION_MAX = 10.0
"""Upper bound of each sub-criterion (also a CHECK in 0003_tasks.sql)."""
LEADER_FACTORS = (0.5, 1.0)

SubCriterion = Annotated[float, msgspec.Meta(ge=0, le=SUB_CRITERION_MAX)]
Month = Annotated[str, msgspec.Meta(pattern=r"^\d{4}-\d{2}$", description="YYYY-MM")]


class AssessmentIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    cadre_code: Code
    month: Month
    politics: SubCriterion
    capacity: SubCriterion
    innovation: SubCriterion
    organising: float | None = None
    cohesion: float | None = None
    assessed_by: Annotated[str, msgspec.Meta(max_length=300)] = ""

    def __post_init__(self) -> None:
        if parse_month(self.month) is None:
            raise ValueError("month: not a month between 2000-01 and 2100-12")
        for name in ("organising", "cohesion"):
            value = getattr(self, name)
            if value is not None and value not in LEADER_FACTORS:
                raise ValueError(f"{name}: must be 1 or 0.5")


class Assessment(msgspec.Struct, kw_only=True):
    cadre_code: str
    month: str
    politics: float
    capacity: float
    innovation: float
    general_total: float
    organising: float | None
    cohesion: float | None
    assessed_by: str
    updated_at: datetime


ASSESSMENT_CSV_COLUMNS = (
    "cadre_code",
    "month",
    "politics",
    "capacity",
    "innovation",
    "organising",
    "cohesion",
    "assessed_by",
)
ASSESSMENT_CSV_REQUIRED = ASSESSMENT_CSV_COLUMNS[:5]
ASSESSMENT_UPLOAD = UploadSpec(
    AssessmentIn,
    ASSESSMENT_CSV_COLUMNS,
    ASSESSMENT_CSV_REQUIRED,
    key=lambda r: f"{r.cadre_code}/{r.month}",
    key_field="month",
)
