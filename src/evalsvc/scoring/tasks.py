"""Task aggregation: task records and remediation items -> per-cadre k-weighted sums.

Decree 335 Art. 14-15 (DOMAIN part 3, "Task component T" and "Remediation counts as
tasks"). All sums are k-weighted; a cadre without records has zeros.
"""

from __future__ import annotations

import dataclasses
from typing import Any, cast

import numpy as np
import numpy.typing as npt

from evalsvc.scoring.inputs import Remediation, TaskRecords, TaskSums
from evalsvc.scoring.profiles import Profile

F64 = npt.NDArray[np.float64]


@dataclasses.dataclass(frozen=True, slots=True)
class TaskTotals:
    """k-weighted task sums per subject (cadre or unit), each ``(n,)`` float.

    Attributes:
        assigned: A = Σ k·assigned.
        done: Σ k·done.
        quality: Σ k·done·max(0, 1 − error_penalty·errors).
        timely: Σ k·done·max(0, 1 − delay_penalty·delays).
        exceeded: Σ k·done over records flagged exceeded (gates).
        late: Σ k·done over records with at least one counted delay (gates).
    """

    assigned: F64
    done: F64
    quality: F64
    timely: F64
    exceeded: F64
    late: F64

    def __add__(self, other: TaskTotals) -> TaskTotals:
        return TaskTotals(*(getattr(self, f) + getattr(other, f) for f in _FIELDS))

    @staticmethod
    def zeros(n: int) -> TaskTotals:
        """All-zero totals for ``n`` subjects."""
        return TaskTotals(*(np.zeros(n) for _ in _FIELDS))

    def stack(self) -> F64:
        """``(n, 6)`` array of the six sums in field order."""
        return np.stack([getattr(self, f) for f in _FIELDS], axis=1)


_FIELDS = tuple(f.name for f in dataclasses.fields(TaskTotals))


def wsum(rows: npt.NDArray[np.integer[Any]], weights: npt.ArrayLike, n: int) -> F64:
    """Weighted ``np.bincount`` typed as float64 (``(n,)``)."""
    return np.asarray(np.bincount(rows, weights, minlength=n), dtype=np.float64)


def as_month(x: Any) -> np.datetime64:
    """A scalar ``datetime64[M]`` from any date-like."""
    return cast(np.datetime64, np.asarray(x, dtype="datetime64[M]")[()])


def month_int(x: Any) -> int:
    """Months since 1970-01 of a scalar date-like (``datetime64``, ``"2026-03"``, ...)."""
    return int(np.asarray(x, dtype="datetime64[M]").astype(np.int64))


def _sums(
    rows: npt.NDArray[np.integer[Any]],
    n: int,
    k: F64,
    assigned: F64,
    done: F64,
    qf: F64,
    tf: F64,
    exceeded: npt.NDArray[np.bool_],
    late: npt.NDArray[np.bool_],
) -> TaskTotals:
    kd = k * done
    return TaskTotals(
        wsum(rows, k * assigned, n),
        wsum(rows, kd, n),
        wsum(rows, kd * qf, n),
        wsum(rows, kd * tf, n),
        wsum(rows, kd * exceeded, n),
        wsum(rows, kd * late, n),
    )


def aggregate_tasks(tasks: TaskRecords | TaskSums, n: int, profile: Profile) -> TaskTotals:
    """Sum task records per cadre (Decree 335 Art. 14-15; DOMAIN part 3).

    Args:
        tasks: ``(r,)`` task records of one period, or their per-cadre sums.
        n: number of cadres.
        profile: uses ``error_penalty`` and ``delay_penalty``.

    Returns:
        :class:`TaskTotals` of shape ``(n,)``.

    Raises:
        ValueError: pre-aggregated sums built with other penalties than the profile's.
    """
    if isinstance(tasks, TaskSums):
        if (tasks.error_penalty, tasks.delay_penalty) != (
            profile.error_penalty,
            profile.delay_penalty,
        ):
            raise ValueError(
                "month.tasks: sums were aggregated with error/delay penalties "
                f"{tasks.error_penalty}/{tasks.delay_penalty}, the profile uses "
                f"{profile.error_penalty}/{profile.delay_penalty}; raw task records are needed"
            )
        rows = np.asarray(tasks.cadre, dtype=np.int64)
        return TaskTotals(
            *(wsum(rows, np.asarray(getattr(tasks, f), dtype=np.float64), n) for f in _FIELDS)
        )
    errors = np.asarray(tasks.errors, dtype=np.float64)
    delays = np.asarray(tasks.delays, dtype=np.float64)
    return _sums(
        np.asarray(tasks.cadre, dtype=np.int64),
        n,
        np.asarray(tasks.k, dtype=np.float64),
        np.asarray(tasks.assigned, dtype=np.float64),
        np.asarray(tasks.done, dtype=np.float64),
        np.maximum(0.0, 1.0 - profile.error_penalty * errors),
        np.maximum(0.0, 1.0 - profile.delay_penalty * delays),
        np.asarray(tasks.exceeded, dtype=bool),
        delays > 0,
    )


def month_index(dates: npt.NDArray[np.datetime64]) -> npt.NDArray[np.int64]:
    """Months since 1970-01 of ``datetime64`` values (NaT -> a very negative int)."""
    return np.asarray(dates).astype("datetime64[M]").astype(np.int64)


def remediation_delays(items: Remediation) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.int64]]:
    """Verification status and delay in months of each item (DOMAIN part 3).

    Verified on or before the due date -> 0 delays; verified later -> months between the
    due month and the verification month, at least 1.

    Returns:
        ``(verified (r,) bool, delays (r,) int)``; delays are 0 for unverified items.
    """
    verified = ~np.isnat(items.verified)
    late = verified & (items.verified > items.due)
    months = month_index(items.verified) - month_index(items.due)
    delays = np.where(late, np.maximum(1, months), 0)
    return verified, delays.astype(np.int64)


def remediation_tasks(
    items: Remediation,
    n: int,
    period: Any,
    profile: Profile,
    active_months: npt.NDArray[np.bool_] | None = None,
) -> TaskTotals:
    """Remediation items due in the period as task records (DOMAIN part 3).

    Each non-cancelled item due in ``[period, period + period_months)`` is a task with
    factor ``k_rem`` and quantity 1: done 1 if verified (late verification adds delays),
    done 0 if not verified when the recomputation runs. In a quarter only the items due
    in the subject's active months count (``active_months``).

    Args:
        items: ``(r,)`` items; ``subject`` is the cadre (or unit) row.
        n: number of subjects.
        period: ``datetime64[M]`` first month of the period.
        profile: uses ``k_rem``, ``delay_penalty``, ``period_months``.
        active_months: ``(n, period_months)`` bool, ``None`` = every month.

    Returns:
        :class:`TaskTotals` of shape ``(n,)``.
    """
    start = month_int(period)
    due_m = month_index(items.due)
    months = profile.period_months
    sel = (~items.cancelled) & (due_m >= start) & (due_m < start + months)
    if active_months is not None and sel.any():
        am = np.asarray(active_months, dtype=bool)
        subj = np.asarray(items.subject, dtype=np.int64)
        offset = due_m - start
        inside = (offset >= 0) & (offset < am.shape[1])
        sel &= inside & am[np.clip(subj, 0, n - 1), np.clip(offset, 0, am.shape[1] - 1)]
    verified, delays = remediation_delays(items)
    verified, delays = verified[sel], delays[sel]
    r = int(sel.sum())
    return _sums(
        np.asarray(items.subject, dtype=np.int64)[sel],
        n,
        np.full(r, profile.k_rem),
        np.ones(r),
        verified.astype(np.float64),
        np.ones(r),
        np.maximum(0.0, 1.0 - profile.delay_penalty * delays),
        np.zeros(r, dtype=bool),
        delays > 0,
    )


@dataclasses.dataclass(frozen=True, slots=True)
class RemediationCounts:
    """Per-subject remediation counts over a window, each ``(n,)`` int.

    Attributes:
        due: non-cancelled items due in the window.
        on_time: of those, verified on or before the due date.
        verified: of those, verified at all.
    """

    due: npt.NDArray[np.int64]
    on_time: npt.NDArray[np.int64]
    verified: npt.NDArray[np.int64]

    def rate(self) -> F64:
        """On-time rate; no item due -> 1 (DOMAIN part 3 step 7, part 5 U2)."""
        return np.where(self.due > 0, self.on_time / np.maximum(self.due, 1), 1.0)


def remediation_counts(items: Remediation, n: int, first: Any, last: Any) -> RemediationCounts:
    """Count items due in months ``[first, last]`` per subject.

    Args:
        items: ``(r,)`` items.
        n: number of subjects.
        first: ``datetime64[M]`` first month of the window.
        last: ``datetime64[M]`` last month of the window (inclusive).
    """
    due_m = month_index(items.due)
    lo, hi = month_int(first), month_int(last)
    sel = (~items.cancelled) & (due_m >= lo) & (due_m <= hi)
    verified, delays = remediation_delays(items)
    subj = np.asarray(items.subject, dtype=np.int64)[sel]
    return RemediationCounts(
        np.bincount(subj, minlength=n).astype(np.int64),
        np.bincount(subj, (verified & (delays == 0))[sel], minlength=n).astype(np.int64),
        np.bincount(subj, verified[sel], minlength=n).astype(np.int64),
    )


def manifestation_deductions(
    cadre: npt.NDArray[np.integer[Any]],
    item: npt.NDArray[np.integer[Any]],
    group: npt.NDArray[np.integer[Any]],
    n: int,
    deductions: tuple[float, float, float],
) -> tuple[F64, npt.NDArray[np.int64]]:
    """Peer deductions from confirmed manifestations (DOMAIN part 3, "General component G").

    The same (cadre, item) pair counts once however many rounds confirmed it.

    Args:
        cadre, item, group: ``(r,)`` confirmed pairs and the item's group (1-3).
        n: number of cadres.
        deductions: points per group 1, 2, 3 (profile ``group_deductions``).

    Returns:
        ``(points (n,) float, distinct items (n,) int)``.
    """
    if len(cadre) == 0:
        return np.zeros(n), np.zeros(n, dtype=np.int64)
    c = np.asarray(cadre, dtype=np.int64)
    it = np.asarray(item, dtype=np.int64)
    it = it - it.min()
    _, first = np.unique(c * (int(it.max()) + 1) + it, return_index=True)
    c, g = c[first], np.asarray(group, dtype=np.int64)[first]
    pts = np.asarray(deductions, dtype=np.float64)[g - 1]
    return wsum(c, pts, n), np.bincount(c, minlength=n).astype(np.int64)


def task_sums(tasks: TaskRecords, profile: Profile) -> TaskSums:
    """Pre-aggregate raw task records into one :class:`TaskSums` row per cadre.

    ``score_month`` gives the same result on either form (up to float summation order)
    under any profile with the same penalties.
    """
    cadre = np.asarray(tasks.cadre, dtype=np.int64)
    rows, inverse = np.unique(cadre, return_inverse=True)
    totals = aggregate_tasks(
        TaskRecords(
            inverse, tasks.k, tasks.assigned, tasks.done, tasks.errors, tasks.delays, tasks.exceeded
        ),
        int(rows.size),
        profile,
    )
    return TaskSums(
        rows,
        totals.assigned,
        totals.done,
        totals.quality,
        totals.timely,
        totals.exceeded,
        totals.late,
        error_penalty=profile.error_penalty,
        delay_penalty=profile.delay_penalty,
    )
