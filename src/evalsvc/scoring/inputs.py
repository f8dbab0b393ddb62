"""Columnar input containers of the scoring core (frozen dataclasses of numpy arrays).

Cadres are rows ``0..n-1`` and units rows ``0..u-1`` everywhere; the recomputation job
maps database ids to rows. Shapes: ``(n,)`` per cadre, ``(u,)`` per unit, ``(r,)`` per
record. Constructors do no work; :func:`check_org` and the public scoring functions
validate shapes and raise ``ValueError`` naming the bad field.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
I8 = npt.NDArray[np.int8]
BOOL = npt.NDArray[np.bool_]
DATES = npt.NDArray[np.datetime64]


@dataclasses.dataclass(frozen=True, slots=True)
class Org:
    """Who is who: cadres, their units and the unit tree (DOMAIN part 2).

    Attributes:
        position: ``(n,)`` int, 0 staff, 1 deputy (cấp phó), 2 head (người đứng đầu).
        unit: ``(n,)`` int, the cadre's own unit row.
        peer_group: ``(n,)`` int, "nhóm có nhiệm vụ tương đồng" (quota scope with ``unit``).
        code: ``(n,)`` external HR codes (str or int), last quota tie-break, ascending.
        unit_parent: ``(u,)`` int, parent unit row, ``-1`` for a root.
        unit_block: ``(u,)`` int, ranking block, ``-1`` when the unit is not ranked.
        unit_outstanding: ``(u,)`` bool, flagged outstanding this year (quota 25 %).
        unit_agency: ``(u,)`` bool, the unit is an agency (cơ quan, tổ chức, đơn vị that
            rates its own staff: the quota's scope); ``None`` = the DOMAIN default, every
            unit of a ranking block.
    """

    position: npt.NDArray[np.integer[Any]]
    unit: npt.NDArray[np.integer[Any]]
    peer_group: npt.NDArray[np.integer[Any]]
    code: npt.NDArray[Any]
    unit_parent: npt.NDArray[np.integer[Any]]
    unit_block: npt.NDArray[np.integer[Any]]
    unit_outstanding: BOOL
    unit_agency: BOOL | None = None

    @property
    def n(self) -> int:
        """Number of cadres."""
        return int(self.position.shape[0])

    @property
    def u(self) -> int:
        """Number of units."""
        return int(self.unit_parent.shape[0])


@dataclasses.dataclass(frozen=True, slots=True)
class TaskRecords:
    """Task records of one period (DOMAIN part 2, "Task record"; Decree 335 Art. 14).

    Attributes:
        cadre: ``(r,)`` int cadre row.
        k: ``(r,)`` float conversion factor (> 0).
        assigned: ``(r,)`` float quantity assigned.
        done: ``(r,)`` float quantity done.
        errors: ``(r,)`` int major errors *without* a confirmed objective cause.
        delays: ``(r,)`` int delays *without* a confirmed objective cause.
        exceeded: ``(r,)`` bool exceeded-requirement flag (gates only).
    """

    cadre: npt.NDArray[np.integer[Any]]
    k: F64
    assigned: F64
    done: F64
    errors: npt.NDArray[np.integer[Any]]
    delays: npt.NDArray[np.integer[Any]]
    exceeded: BOOL

    @staticmethod
    def empty() -> TaskRecords:
        """No records."""
        z = np.zeros(0)
        zi = np.zeros(0, dtype=np.int64)
        return TaskRecords(zi, z, z, z, zi, zi, np.zeros(0, dtype=bool))


@dataclasses.dataclass(frozen=True, slots=True)
class TaskSums:
    """Task records pre-aggregated per (cadre, period): the city-scale input path.

    The ingestion keeps per-(cadre, month) sums so a recomputation never rescans raw
    records; the sums are the ones :func:`~evalsvc.scoring.tasks.aggregate_tasks` would
    build (Decree 335 Art. 14-15), with the error and delay penalties they were made
    with. Several rows per cadre are summed. A profile with other penalties cannot use
    them (``ValueError``); what-if with changed penalties needs raw :class:`TaskRecords`.

    Attributes:
        cadre: ``(r,)`` int cadre row.
        assigned: ``(r,)`` Σ k·assigned.
        done: ``(r,)`` Σ k·done.
        quality: ``(r,)`` Σ k·done·max(0, 1 − error_penalty·errors).
        timely: ``(r,)`` Σ k·done·max(0, 1 − delay_penalty·delays).
        exceeded: ``(r,)`` Σ k·done over records flagged exceeded.
        late: ``(r,)`` Σ k·done over records with at least one counted delay.
        error_penalty: penalty per major error the quality sums were built with.
        delay_penalty: penalty per delay the timeliness sums were built with.
    """

    cadre: npt.NDArray[np.integer[Any]]
    assigned: F64
    done: F64
    quality: F64
    timely: F64
    exceeded: F64
    late: F64
    error_penalty: float = 0.25
    delay_penalty: float = 0.25


@dataclasses.dataclass(frozen=True, slots=True)
class Remediation:
    """Remediation items "khắc phục tồn tại, hạn chế" (DOMAIN part 2 and 3).

    Attributes:
        subject: ``(r,)`` int cadre row (or unit row for a unit's own items).
        due: ``(r,)`` ``datetime64[D]`` due date.
        verified: ``(r,)`` ``datetime64[D]`` verification date, ``NaT`` if not verified.
        cancelled: ``(r,)`` bool; cancelled items are ignored.
    """

    subject: npt.NDArray[np.integer[Any]]
    due: DATES
    verified: DATES
    cancelled: BOOL

    @staticmethod
    def empty() -> Remediation:
        """No items."""
        d = np.zeros(0, dtype="datetime64[D]")
        return Remediation(np.zeros(0, dtype=np.int64), d, d, np.zeros(0, dtype=bool))


@dataclasses.dataclass(frozen=True, slots=True)
class Manifestations:
    """Manifestations confirmed for cadres by valid ballot rounds (DOMAIN part 4).

    The same (cadre, item) pair confirmed by two rounds counts once; duplicates are fine.

    Attributes:
        cadre: ``(r,)`` int cadre row.
        item: ``(r,)`` int catalog item id.
        group: ``(r,)`` int item group 1, 2 or 3 (Directive 24-CT/TU appendix).
    """

    cadre: npt.NDArray[np.integer[Any]]
    item: npt.NDArray[np.integer[Any]]
    group: npt.NDArray[np.integer[Any]]

    @staticmethod
    def empty() -> Manifestations:
        """No manifestations."""
        z = np.zeros(0, dtype=np.int64)
        return Manifestations(z, z, z)


@dataclasses.dataclass(frozen=True, slots=True)
class MonthInputs:
    """Everything of one rating period (a month, or a quarter under ``qd366``).

    Attributes:
        period: ``datetime64[M]``, first month of the period.
        tasks: task records of the period, raw or pre-aggregated (:class:`TaskSums`);
            remediation items are added by the core.
        active: ``(n,)`` bool, employed and not absent (any kind) in the period.
        sub_criteria: ``(n, 3)`` float, supervisor's three sub-criteria (Decree 335 Art. 12).
        has_assessment: ``(n,)`` bool, a supervisor assessment exists.
        capacity: ``(n,)`` float đ for leaders (1 or 0.5), NaN = missing -> 1.
        cohesion: ``(n,)`` float e for leaders (1 or 0.5), NaN = missing -> 1.
        manifestations: confirmed manifestations of rounds covering the period.
        discipline: ``(n,)`` int, discipline records effective in the period.
        low_confidence: ``(n,)`` bool, a ballot round covering the period had > 1/2
            "tín nhiệm thấp" for the cadre.
        bonus: ``(n,)`` float in [0, 1], share of the profile's bonus points (``hn3814``).
        satisfaction: ``(u,)`` float SIPAS % (0-100) per unit, NaN = missing.
        employed: ``(n,)`` bool, employed in the period (absent or not): U3's members;
            ``None`` = ``active``.
        active_months: ``(n, months)`` bool, the months of a quarter in which the cadre
            is active (their remediation items count as tasks only in those);
            ``None`` = every month of the period for an active cadre.
        leader_d: ``(n,)`` float, a leader's d as given by a caller that scores a few
            cadres without their subordinates (``POST /scoring/periods``); NaN or
            ``None`` = computed from the managed cadres' scores.
    """

    period: np.datetime64
    tasks: TaskRecords | TaskSums
    active: BOOL
    sub_criteria: F64
    has_assessment: BOOL
    capacity: F64
    cohesion: F64
    manifestations: Manifestations
    discipline: npt.NDArray[np.integer[Any]]
    low_confidence: BOOL
    bonus: F64
    satisfaction: F64
    employed: BOOL | None = None
    active_months: BOOL | None = None
    leader_d: F64 | None = None

    @property
    def employed_or_active(self) -> BOOL:
        """U3's members: ``employed``, or ``active`` when not given."""
        return np.asarray(self.active if self.employed is None else self.employed, dtype=bool)


@dataclasses.dataclass(frozen=True, slots=True)
class DisciplineRecords:
    """Discipline records effective in the year (Decree 335 KHT override; Decree 48/2023).

    Attributes:
        cadre: ``(r,)`` int cadre row.
        violation: ``(r,)`` int violation id; party and administrative records of one
            violation share it, so it counts once.
        form: ``(r,)`` int 0 khiển trách .. 5 buộc thôi việc.
        counted_before: ``(r,)`` bool, the violation was already counted in an earlier year.
    """

    cadre: npt.NDArray[np.integer[Any]]
    violation: npt.NDArray[np.integer[Any]]
    form: npt.NDArray[np.integer[Any]]
    counted_before: BOOL

    @staticmethod
    def empty() -> DisciplineRecords:
        """No records."""
        z = np.zeros(0, dtype=np.int64)
        return DisciplineRecords(z, z, z, np.zeros(0, dtype=bool))


@dataclasses.dataclass(frozen=True, slots=True)
class YearInputs:
    """Everything of one year (DOMAIN part 3, "Annual rating").

    Attributes:
        periods: the rating periods of the year, in order.
        remediation: the cadres' remediation items (all that may fall due in the year).
        unit_remediation: the units' own remediation items (``subject`` is a unit row).
        months_employed: ``(n,)`` int whole calendar months employed in the year.
        months_absent: ``(n,)`` int whole months of absence other than maternity.
        discipline: discipline records effective in the year.
        degradation: ``(n,)`` bool, concluded degradation (suy thoái).
        corruption_in_charge: ``(n,)`` bool, leader: corruption/waste handled in a unit
            under their direct charge.
        confidence_low_share: ``(n,)`` float, formal QĐ 96 vote: share of "tín nhiệm
            thấp", NaN = no vote.
    """

    periods: Sequence[MonthInputs]
    remediation: Remediation
    unit_remediation: Remediation
    months_employed: npt.NDArray[np.integer[Any]]
    months_absent: npt.NDArray[np.integer[Any]]
    discipline: DisciplineRecords
    degradation: BOOL
    corruption_in_charge: BOOL
    confidence_low_share: F64


def _need(name: str, arr: Any, shape: tuple[int, ...]) -> None:
    got = np.shape(arr)
    if got != shape:
        raise ValueError(f"{name}: expected shape {shape}, got {got}")


def check_org(org: Org) -> None:
    """Validate shapes and ranges of an :class:`Org`.

    Raises:
        ValueError: naming the bad field.
    """
    n, u = org.n, org.u
    for name in ("position", "unit", "peer_group", "code"):
        _need(f"org.{name}", getattr(org, name), (n,))
    for name in ("unit_parent", "unit_block", "unit_outstanding"):
        _need(f"org.{name}", getattr(org, name), (u,))
    if org.unit_agency is not None:
        _need("org.unit_agency", org.unit_agency, (u,))
    if n and (org.unit.min() < 0 or org.unit.max() >= u):
        raise ValueError("org.unit: unit rows must be in 0..u-1")
    if n and (org.position.min() < 0 or org.position.max() > 2):
        raise ValueError("org.position: must be 0 staff, 1 deputy or 2 head")
    if u and (org.unit_parent.min() < -1 or org.unit_parent.max() >= u):
        raise ValueError("org.unit_parent: parent rows must be -1 or in 0..u-1")


def check_month(org: Org, m: MonthInputs) -> None:
    """Validate the shapes of one period's inputs against ``org``.

    Raises:
        ValueError: naming the bad field.
    """
    n = org.n
    for name in ("active", "has_assessment", "capacity", "cohesion", "discipline"):
        _need(f"month.{name}", getattr(m, name), (n,))
    for name in ("low_confidence", "bonus"):
        _need(f"month.{name}", getattr(m, name), (n,))
    _need("month.sub_criteria", m.sub_criteria, (n, 3))
    _need("month.satisfaction", m.satisfaction, (org.u,))
    if m.employed is not None:
        _need("month.employed", m.employed, (n,))
    if m.active_months is not None and (
        np.ndim(m.active_months) != 2 or np.shape(m.active_months)[0] != n
    ):
        raise ValueError(f"month.active_months: expected shape ({n}, months)")
    r = np.shape(m.tasks.cadre)
    if isinstance(m.tasks, TaskSums):
        fields: tuple[str, ...] = ("assigned", "done", "quality", "timely", "exceeded", "late")
    else:
        fields = ("k", "assigned", "done", "errors", "delays", "exceeded")
    for name in fields:
        _need(f"month.tasks.{name}", getattr(m.tasks, name), r)
    if r[0] and (m.tasks.cadre.min() < 0 or m.tasks.cadre.max() >= n):
        raise ValueError("month.tasks.cadre: cadre rows must be in 0..n-1")
    if isinstance(m.tasks, TaskRecords) and r[0] and np.any(m.tasks.k <= 0):
        raise ValueError("month.tasks.k: conversion factors must be > 0")
    mr = np.shape(m.manifestations.cadre)
    _need("month.manifestations.item", m.manifestations.item, mr)
    _need("month.manifestations.group", m.manifestations.group, mr)
    if mr[0] and (m.manifestations.group.min() < 1 or m.manifestations.group.max() > 3):
        raise ValueError("month.manifestations.group: must be 1, 2 or 3")


def unit_depth(parent: npt.NDArray[np.integer[Any]]) -> I64:
    """Depth of every unit (roots 0), one vectorised pass per tree level.

    Args:
        parent: ``(u,)`` parent rows, -1 for roots.

    Raises:
        ValueError: the parent array has a cycle.
    """
    parent = np.asarray(parent, dtype=np.int64)
    u = parent.shape[0]
    depth = np.zeros(u, dtype=np.int64)
    anc = parent.copy()
    for _ in range(u + 1):
        has = anc >= 0
        if not has.any():
            return depth
        depth += has
        anc = np.where(has, parent[np.maximum(anc, 0)], -1)
    raise ValueError("org.unit_parent: the unit tree has a cycle")


def agency_units(org: Org) -> I64:
    """Each unit's agency row: the nearest unit at or above it flagged as an agency, -1
    when there is none (DOMAIN part 2 and part 3 step 7).

    Without flags (``unit_agency is None``) every unit of a ranking block is an agency.
    """
    parent = np.asarray(org.unit_parent, dtype=np.int64)
    flag = (
        np.asarray(org.unit_block) >= 0
        if org.unit_agency is None
        else np.asarray(org.unit_agency, dtype=bool)
    )
    u = parent.shape[0]
    agency = np.where(flag, np.arange(u, dtype=np.int64), -1)
    anc = parent.copy()
    for _ in range(u + 1):  # one vectorised step per tree level
        todo = (agency < 0) & (anc >= 0)
        if not todo.any():
            return agency
        hit = todo & flag[np.maximum(anc, 0)]
        agency = np.where(hit, anc, agency)
        anc = np.where(todo & ~hit, parent[np.maximum(anc, 0)], -1)
    raise ValueError("org.unit_parent: the unit tree has a cycle")


def cadre_agency(org: Org, scope: str = "agency") -> I64:
    """Each cadre's quota unit: their agency (none -> their own unit) under
    ``quota_scope = "agency"``, their own unit under ``"unit"``."""
    unit = np.asarray(org.unit, dtype=np.int64)
    if scope == "unit":
        return unit
    agency = agency_units(org)[unit]
    return np.where(agency >= 0, agency, unit)
