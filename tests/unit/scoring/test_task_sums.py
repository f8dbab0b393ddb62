"""Pre-aggregated task sums (the recomputation's input path) score like raw records."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from evalsvc.scoring.inputs import Org, TaskRecords, TaskSums
from evalsvc.scoring.monthly import score_month
from evalsvc.scoring.profiles import ND335
from evalsvc.scoring.tasks import task_sums
from tests.unit.scoring.helpers import month, org


def _city(seed: int) -> tuple[Org, TaskRecords]:
    rng = np.random.default_rng(seed)
    n, u = 60, 6
    parent = [-1, 0, 0, 1, 1, 2]
    position = rng.choice([0, 0, 0, 0, 1, 2], n).tolist()
    o = org(position, rng.integers(0, u, n).tolist(), parent)
    r = 400
    tasks = TaskRecords(
        cadre=rng.integers(0, n - 3, r),  # the last cadres have no records at all
        k=rng.choice([0.5, 1.0, 2.0], r),
        assigned=rng.integers(0, 4, r).astype(np.float64),
        done=rng.integers(0, 4, r).astype(np.float64),
        errors=rng.integers(0, 6, r),
        delays=rng.integers(0, 6, r),
        exceeded=rng.random(r) < 0.2,
    )
    return o, tasks


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_sums_score_like_raw_records(seed: int) -> None:
    o, tasks = _city(seed)
    raw = score_month(o, month(o, tasks=tasks), ND335)
    sums = task_sums(tasks, ND335)
    assert sums.cadre.size < tasks.cadre.size
    agg = score_month(o, month(o, tasks=sums), ND335)
    np.testing.assert_array_equal(raw.level, agg.level)
    np.testing.assert_allclose(raw.m, agg.m, rtol=0, atol=1e-9, equal_nan=True)
    np.testing.assert_allclose(raw.totals.late, agg.totals.late)
    np.testing.assert_allclose(raw.totals.exceeded, agg.totals.exceeded)


def test_sums_with_other_penalties_are_refused() -> None:
    o, tasks = _city(4)
    sums = task_sums(tasks, ND335)
    other = dataclasses.replace(ND335, error_penalty=0.5)
    with pytest.raises(ValueError, match="raw task records are needed"):
        score_month(o, month(o, tasks=sums), other)


def test_sums_shapes_are_checked() -> None:
    o, _ = _city(5)
    one, two = np.ones(1), np.ones(2)
    bad = TaskSums(np.array([0, 1]), two, two, one, two, np.zeros(2), np.zeros(2))
    with pytest.raises(ValueError, match=r"month.tasks.quality"):
        score_month(o, month(o, tasks=bad), ND335)
