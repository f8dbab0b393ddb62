"""Recomputation jobs and result periods (vocabulary only; no I/O)."""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Any, Literal

import msgspec

from evalsvc.domain.codes import Code
from evalsvc.domain.errors import field_error

PERIOD_PATTERN = r"^[0-9]{4}(-(0[1-9]|1[0-2]|Q[1-4]))?$"
PERIOD_WORDS = "a month 'YYYY-MM', a quarter 'YYYY-Qn' or a year 'YYYY'"
Period = Annotated[
    str,
    msgspec.Meta(
        pattern=PERIOD_PATTERN,
        description="A month 'YYYY-MM', a quarter 'YYYY-Qn' (n = 1..4) or a year 'YYYY'.",
    ),
]
READABLE_PATTERNS = {PERIOD_PATTERN: PERIOD_WORDS}
"""Patterns whose validation message says what is expected in words (api/errors.py)."""
JobState = Literal["queued", "running", "succeeded", "failed"]


@dataclass(frozen=True, slots=True)
class PeriodSpan:
    """A rating period: a month, a quarter or a whole year."""

    text: str
    kind: Literal["month", "quarter", "year"]
    first_month: date
    months: int

    @property
    def year(self) -> int:
        return self.first_month.year

    def month_starts(self) -> list[date]:
        return [date(self.year, self.first_month.month + i, 1) for i in range(self.months)]

    def over_by(self, today: date, period_months: int = 1) -> PeriodSpan:
        """A year cut to its rating periods (of ``period_months``) that are over by ``today``
        (at least the first): a year rated before it ends is rated over what has ended,
        and no month still running gets a row (docs/recompute.md, "A year not yet over").
        Months and quarters are returned as they are."""
        if self.kind != "year":
            return self
        ended = sum(1 for s in self.month_starts() if _month_after(s) <= today)
        keep = max(period_months, ended - ended % period_months)
        return dataclasses.replace(self, months=min(self.months, keep))

    def previous(self) -> str:
        """The period before (movement in rankings is against it)."""
        if self.kind == "year":
            return str(self.year - 1)
        if self.kind == "quarter":
            q = (self.first_month.month - 1) // 3
            return f"{self.year - 1}-Q4" if q == 0 else f"{self.year}-Q{q}"
        y, m = self.year, self.first_month.month - 1
        if m == 0:
            y, m = y - 1, 12
        return f"{y:04d}-{m:02d}"


def _month_after(start: date) -> date:
    return date(start.year + start.month // 12, start.month % 12 + 1, 1)


def parse_period(text: str, field: str = "period") -> PeriodSpan:
    """``"2026-05"`` -> the month, ``"2026-Q2"`` -> the quarter, ``"2026"`` -> the year.

    Raises:
        RuleViolation: naming ``field``.
    """
    if not re.fullmatch(PERIOD_PATTERN, text or ""):
        raise field_error(field, f"must be {PERIOD_WORDS}")
    year = int(text[:4])
    if not 2000 <= year <= 2100:
        raise field_error(field, "year must be between 2000 and 2100")
    if len(text) == 4:
        return PeriodSpan(text, "year", date(year, 1, 1), 12)
    if text[5] == "Q":
        return PeriodSpan(text, "quarter", date(year, 3 * int(text[6]) - 2, 1), 3)
    return PeriodSpan(text, "month", date(year, int(text[5:]), 1), 1)


def quarter_of(month: date) -> str:
    """``2026-05-01`` -> ``"2026-Q2"``."""
    return f"{month.year}-Q{(month.month - 1) // 3 + 1}"


class RecomputeRequest(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """``POST /recomputations``: what to recompute.

    Attributes:
        period: ``YYYY-MM`` (a month) or ``YYYY`` (a year).
        unit_code: recompute only this unit's subtree (the rest of the published set is
            carried forward); omitted = the whole city.
        profile: a built-in profile name (``nd335``, ``qd366``, ``hn3814``).
        changes: optional profile field changes on top of ``profile``: the run is a
            variant of the profile (recorded with its digest on the job, the run and every
            result), never published as the period's official set unless ``publish``.
        publish: an admin's explicit wish to publish a variant as the official set
            (default: a run without changes publishes, a variant does not).
    """

    period: Period
    unit_code: Code | None = None
    profile: Annotated[str, msgspec.Meta(min_length=1, max_length=64)] = "nd335"
    changes: dict[str, Any] | None = None
    publish: bool | None = None


class Job(msgspec.Struct, kw_only=True):
    """A recomputation job as callers see it."""

    id: int
    period: str
    unit_code: str | None
    profile_name: str
    profile_version: str
    state: JobState
    stage: str
    percent: float
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    timings: dict[str, float]
    counts: dict[str, int]
    error: str | None
    run_id: int | None
    variant: dict[str, Any] | None = None
    variant_digest: str | None = None
