"""The shapes of published results as the JSON API answers them.

``evalsvc.published`` builds plain dicts (the pages read them too); the handlers convert
them to these structs, so an answer cannot drift from its documented schema unnoticed: a
missing or mistyped field fails the conversion in the tests, not in a client.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

import msgspec

from evalsvc.domain.cadres import Position


class LevelView(msgspec.Struct):
    """A level as a code of the run's profile (HTXS, HTT, HT, KHT, not_rated) and its
    Vietnamese label."""

    code: str
    label: str


class RunProfile(msgspec.Struct):
    name: str
    version: str
    variant: dict[str, Any] | None
    variant_digest: str | None


class RunView(msgspec.Struct, kw_only=True):
    """A result run: what was computed, with which profile and code, and when."""

    id: int
    period: str
    profile: RunProfile
    scoring_version: str | None
    fingerprint: str
    published: bool
    published_at: datetime | None
    unit_code: str | None
    base_run_id: int | None
    timings: dict[str, float]
    counts: dict[str, int]
    created_at: datetime
    status: str


class RunPage(msgspec.Struct):
    items: list[RunView]
    total: int
    limit: int
    offset: int


class RankingRow(msgspec.Struct, kw_only=True):
    """A unit in its block: U and its parts U1-U5, the rank with its interval and movement.

    An unranked unit (no task basis in any period) has ``rank``, ``u*``, ``level`` and
    ``movement`` null and ``status`` "chưa xếp hạng"."""

    block: str
    rank: int | None
    code: str
    name: str
    u: float | None
    u1: float | None
    u2: float | None
    u3: float | None
    u4: float | None
    u5: float | None
    level: str | None
    level_label: str
    members: int
    kht: int
    pairs: int
    prev_rank: int | None
    movement: int | None
    rank_low: int | None
    rank_high: int | None
    ranked: bool
    status: str
    reasons: list[str]
    reason_labels: list[str]
    run_id: int
    variant_digest: str | None


class RankingPage(msgspec.Struct):
    items: list[RankingRow]
    total: int
    limit: int
    offset: int


class MemberRow(msgspec.Struct, kw_only=True):
    """A member of a unit with the level the run gave them and why."""

    code: str
    full_name: str
    position: Position
    unit_code: str
    score: float | None
    level: str
    level_label: str
    reasons: list[str]
    reason_labels: list[str]
    run_id: int
    variant_digest: str | None


class MemberPage(msgspec.Struct):
    items: list[MemberRow]
    total: int
    limit: int
    offset: int


class CadreLevelChange(msgspec.Struct, kw_only=True):
    """A cadre whose level differs between run ``a`` and run ``b``."""

    code: str
    full_name: str
    level_a: str
    level_b: str
    score_a: float | None
    score_b: float | None


class UnitRankChange(msgspec.Struct, kw_only=True):
    """A unit whose rank or level differs between run ``a`` and run ``b`` (rank -1:
    unranked)."""

    code: str
    name: str
    block: str | None
    rank_a: int
    rank_b: int
    level_a: str
    level_b: str
    u_a: float | None
    u_b: float | None


class CadreComparison(msgspec.Struct, kw_only=True):
    """``what=cadres``: who changed level between the runs ``a`` and ``b``."""

    what: Literal["cadres"]
    items: list[CadreLevelChange]
    total: int
    limit: int
    offset: int
    a: int
    b: int


class UnitComparison(msgspec.Struct, kw_only=True):
    """``what=units``: which units changed rank or level between the runs ``a`` and ``b``."""

    what: Literal["units"]
    items: list[UnitRankChange]
    total: int
    limit: int
    offset: int
    a: int
    b: int


class CadreRef(msgspec.Struct):
    """The cadre as the run saw it (its organisation snapshot): an appeal against an old
    run shows the name, position and unit of then."""

    code: str
    full_name: str
    position: Position
    unit_code: str
    unit_name: str | None = None
    peer_group: str | None = None


class TaskRatios(msgspec.Struct, kw_only=True):
    """The task ratios of a period with 4 decimals and T with 2; null without a task basis."""

    a: float | None
    b: float | None
    c: float | None
    d: float | None
    dd: float | None
    e: float | None
    kq: float | None
    t: float | None


class TaskFigures(TaskRatios, kw_only=True):
    """The ratios and the converted task units assigned and done."""

    assigned: float | None
    done: float | None


class GeneralFigures(msgspec.Struct):
    """The general criteria: the supervisor's raw points, the deduction for manifestations,
    G kept in [0, 30]."""

    g_raw: float | None
    deduction: float | None
    g: float | None
    n_manifestations: int


class ScoreComponent(msgspec.Struct):
    """One part of a score; the parts add up to the score exactly (rounding included)."""

    name: str
    points: float | None
    detail: str


class PeriodRating(msgspec.Struct, kw_only=True):
    """A cadre's rating of one month or quarter, explained."""

    period: str
    score: float | None
    level: LevelView | None
    reasons: list[str]
    reason_labels: list[str]
    task: TaskFigures
    general: GeneralFigures
    components: list[ScoreComponent]


class UnitRef(msgspec.Struct):
    code: str
    name: str


class LevelStep(msgspec.Struct, kw_only=True, omit_defaults=True):
    """A stage of the annual rule that changed the level (or would have): caps, overrides,
    gates, link, quota. A quota step names the agency whose cap applied."""

    stage: str
    from_: LevelView | None = msgspec.field(name="from")
    to: LevelView | None
    reasons: list[str]
    reason_labels: list[str]
    agency: UnitRef | None = None
    cap: int | None = None
    keep_rank: int | None = None
    htxs_before: int | None = None


class RemediationFigures(msgspec.Struct):
    due: int
    on_time: int
    verified: int
    rate: float | None


class AnnualRating(msgspec.Struct, kw_only=True, omit_defaults=True):
    """A cadre's annual rating with every stage that changed the level."""

    score: float | None
    level: LevelView | None
    base_level: LevelView | None
    reasons: list[str]
    reason_labels: list[str]
    changes: list[LevelStep]
    periods_scored: int
    months_worked: int
    remediation: RemediationFigures
    manifestations: int
    violations: int
    quota_keep_rank: int | None = None


class CadreResults(msgspec.Struct, kw_only=True):
    """A cadre's rating of a period: the annual rating (for a year) and the periods'."""

    cadre: CadreRef
    period: str
    run: RunView
    annual: AnnualRating | None
    months: list[PeriodRating]


class ProfileRef(msgspec.Struct):
    name: str
    version: str


class LevelShift(msgspec.Struct, kw_only=True):
    """How many cadres move from one level to another."""

    from_: str = msgspec.field(name="from")
    to: str
    cadres: int


class ShiftExample(msgspec.Struct, kw_only=True):
    code: str | None
    from_: str = msgspec.field(name="from")
    to: str


class LevelCounts(msgspec.Struct):
    before: dict[str, int]
    after: dict[str, int]


class WhatIfResult(msgspec.Struct, kw_only=True):
    """How a year's levels and ranks would shift under a changed profile (nothing stored)."""

    period: str
    profile: ProfileRef
    changes: dict[str, Any]
    variant_digest: str | None
    cadres_changed: int
    transitions: list[LevelShift]
    units_level_changed: int
    units_rank_changed: int
    examples: list[ShiftExample]
    stored: Literal[False]
    level_counts: LevelCounts


class ScoredPeriod(msgspec.Struct, kw_only=True):
    """One cadre-period of a stateless scoring request, rated and explained."""

    code: str
    period: str
    score: float | None
    level: LevelView | None
    reasons: list[str]
    reason_labels: list[str]
    task: TaskRatios
    general: GeneralFigures
    components: list[ScoreComponent]


class ScoringResult(msgspec.Struct, kw_only=True):
    """``POST /scoring/periods``: the ratings in the order of the request (nothing stored)."""

    profile: RunProfile
    items: list[ScoredPeriod]
    total: int
    stored: Literal[False]
