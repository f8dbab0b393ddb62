"""``POST /scoring/periods``: cadre-periods' inputs from an HR system that keeps its own data.

Scored by the same core as a recomputation, nothing stored (DOMAIN part 3; issue 15).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

import msgspec

from evalsvc.domain.codes import Code
from evalsvc.domain.recompute import Period

NonNeg = Annotated[float, msgspec.Meta(ge=0)]
Factor = Annotated[float, msgspec.Meta(ge=0, le=1)]
SubScore = Annotated[float, msgspec.Meta(ge=0, le=10)]


class TaskIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """One task record (Decree 335 Art. 14): errors and delays *without* a confirmed
    objective cause."""

    k: Annotated[float, msgspec.Meta(gt=0)] = 1.0
    assigned: NonNeg
    done: NonNeg
    errors: Annotated[int, msgspec.Meta(ge=0)] = 0
    delays: Annotated[int, msgspec.Meta(ge=0)] = 0
    exceeded: bool = False


class TotalsIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """The k-weighted sums of the period's records (as ``GET /tasks/totals`` shows them):
    Σk·assigned, Σk·done, Σk·done·max(0, 1 − 0.25·errors), Σk·done·max(0, 1 − 0.25·delays),
    Σk·done of exceeded records, Σk·done of records with a counted delay."""

    assigned: NonNeg
    done: NonNeg
    quality: NonNeg
    timely: NonNeg
    exceeded: NonNeg = 0.0
    late: NonNeg = 0.0


class PeriodAssessmentIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """The supervisor's three sub-criteria (Decree 335 Art. 12), 0-10 each."""

    politics: SubScore
    capacity: SubScore
    innovation: SubScore


class ManifestationIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """A manifestation confirmed by a valid ballot round covering the period."""

    item: Annotated[int, msgspec.Meta(ge=0)]
    group: Annotated[int, msgspec.Meta(ge=1, le=3)]


class PeriodRemediationIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """A remediation item of the cadre (counted as a task in the month it is due)."""

    due: date
    verified: date | None = None


class CadrePeriodIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """One cadre-period. ``tasks`` or ``totals`` (not both); no assessment = full marks.

    A leader's ``d`` (1 or 0.5) is given by the caller, who knows their subordinates'
    scores; omitted, it is computed from the staff of the same ``unit`` in the request.
    """

    code: Code
    period: Period | None = None
    position: Literal["staff", "deputy", "head"] = "staff"
    unit: Code | None = None
    active: bool = True
    tasks: list[TaskIn] | None = None
    totals: TotalsIn | None = None
    assessment: PeriodAssessmentIn | None = None
    d: Factor | None = None
    dd: Factor | None = None
    e: Factor | None = None
    manifestations: list[ManifestationIn] = msgspec.field(default_factory=list)
    remediation: list[PeriodRemediationIn] = msgspec.field(default_factory=list)
    discipline: Annotated[int, msgspec.Meta(ge=0)] = 0
    low_confidence: bool = False

    def __post_init__(self) -> None:
        if self.tasks is not None and self.totals is not None:
            raise ValueError("totals: give tasks or totals, not both")


class ScoringRequest(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """What to score: a profile (or a variant of it) and the cadre-periods."""

    period: Period
    profile: Annotated[str, msgspec.Meta(min_length=1, max_length=64)] = "nd335"
    changes: dict[str, Any] | None = None
    cadres: Annotated[list[CadrePeriodIn], msgspec.Meta(min_length=1, max_length=10_000)]
