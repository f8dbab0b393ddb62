"""Golden cases of the monthly score (DOMAIN part 3 and 6)."""

from __future__ import annotations

import numpy as np
import pytest

from evalsvc.scoring import levels as lv
from evalsvc.scoring.inputs import Remediation
from evalsvc.scoring.monthly import score_month
from evalsvc.scoring.profiles import ND335, profile_from_dict

from .helpers import manifestations, month, org, tasks


def worked_example_month():  # type: ignore[no-untyped-def]
    o = org([0], [0], [-1])
    m = month(
        o,
        tasks=tasks(
            [(0, 1, 10, 10, 0, 0), (0, 2, 1, 1, 1, 0), (0, 1, 1, 1, 0, 2), (0, 1, 7, 5, 0, 0)]
        ),
        sub_criteria=np.array([[10.0, 10.0, 10.0]]),
        manifestations=manifestations([(0, 11, 2), (0, 12, 2), (0, 12, 2)]),
    )
    return o, m


def test_worked_example_part6() -> None:
    o, m = worked_example_month()
    r = score_month(o, m, ND335)
    assert r.totals.assigned[0] == 20
    assert r.a[0] == pytest.approx(0.9)
    assert r.b[0] == pytest.approx(0.875)
    assert r.c[0] == pytest.approx(0.875)
    assert r.kq[0] == pytest.approx(0.88333333)
    assert round(float(r.t[0]), 2) == 61.83
    assert r.g[0] == 26.0  # the duplicate confirmation of item 12 counts once
    assert r.m[0] == 87.83
    assert r.level[0] == lv.HTT
    assert r.reasons[0] == 0


def test_no_task_basis_is_insufficient_data() -> None:
    o = org([0], [0], [-1])
    r = score_month(o, month(o), ND335)
    assert np.isnan(r.m[0])
    assert r.level[0] == lv.NOT_RATED
    assert lv.reason_names(int(r.reasons[0])) == ["insufficient_data"]
    zero = profile_from_dict({"base": "nd335", "no_task_basis": "zero_task"})
    r = score_month(o, month(o), zero)
    assert r.m[0] == 30.0


def test_leader_with_one_subordinate_below_50() -> None:
    # unit 0 (root) has a head (row 0) and staff rows 1, 2; unit 1 (child) has head row 3.
    o = org([2, 0, 0, 2], [0, 0, 0, 1], [-1, 0])
    full = [(i, 1, 10, 10, 0, 0) for i in range(4)]
    m = month(o, tasks=tasks(full))
    r = score_month(o, m, ND335)
    assert r.d[0] == 1.0
    assert r.m[0] == 100.0
    # staff row 2 does nothing: 30 + 0 < 50
    bad = month(o, tasks=tasks([*full[:2], (2, 1, 10, 0, 0, 0), full[3]]))
    r = score_month(o, bad, ND335)
    assert r.m[2] == 30.0
    assert r.d[0] == 0.5
    assert r.kq[0] == pytest.approx(5.5 / 6)
    assert r.m[0] == round(30 + 70 * 5.5 / 6, 2)
    assert r.d[3] == 1.0  # child head manages nobody below 50


def test_leader_d_uses_heads_of_direct_sub_units_bottom_up() -> None:
    # root unit 0: head row 0; unit 1 child: head row 1, staff row 2 doing nothing.
    o = org([2, 2, 0], [0, 1, 1], [-1, 0])
    m = month(o, tasks=tasks([(0, 1, 1, 1, 0, 0), (1, 1, 1, 0, 0, 0), (2, 1, 1, 0, 0, 0)]))
    r = score_month(o, m, ND335)
    # row 1: a=b=c=0, d=0.5 -> KQ = 2.5/6 -> M = 30 + 29.17 = 59.17 >= 50 -> root head d = 1
    assert r.d[1] == 0.5
    assert r.m[1] == 59.17
    assert r.d[0] == 1.0
    # an unscored subordinate is skipped
    m2 = month(o, tasks=tasks([(0, 1, 1, 1, 0, 0), (1, 1, 1, 1, 0, 0)]))
    assert score_month(o, m2, ND335).d[1] == 1.0


def test_remediation_counts_as_tasks() -> None:
    o = org([0, 0, 0], [0, 0, 0], [-1])
    items = Remediation(
        subject=np.array([0, 1, 2, 2]),
        due=np.array(["2026-03-10"] * 4, dtype="datetime64[D]"),
        verified=np.array(["2026-03-09", "2026-05-02", "NaT", "2026-03-01"], dtype="datetime64[D]"),
        cancelled=np.array([False, False, False, True]),
    )
    r = score_month(o, month(o), ND335, remediation=items)
    assert r.a.tolist() == [1.0, 1.0, 0.0]
    assert r.c.tolist() == [1.0, 0.5, 0.0]  # 2 months late: 1 - 2 * 0.25
    assert r.m.tolist() == [100.0, round(30 + 70 * 2.5 / 3, 2), 30.0]


def test_monthly_overrides_discipline_and_low_confidence() -> None:
    o = org([0, 0], [0, 0], [-1])
    m = month(
        o,
        tasks=tasks([(0, 1, 1, 1, 0, 0), (1, 1, 1, 1, 0, 0)]),
        discipline=np.array([1, 0]),
        low_confidence=np.array([False, True]),
    )
    r = score_month(o, m, ND335)
    assert r.level.tolist() == [lv.KHT, lv.HT]
    assert lv.reason_names(int(r.reasons[0])) == ["discipline"]
    assert lv.reason_names(int(r.reasons[1])) == ["low_confidence_ballot"]


def test_rounding_half_up_at_cut_point() -> None:
    from evalsvc.scoring.rounding import round_half_up

    assert round_half_up(89.995) == 90.0
    assert round_half_up(0.125) == 0.13
    assert round_half_up(49.994999) == 49.99
