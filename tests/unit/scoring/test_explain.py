"""Explanations add up; what-if reports shifts and stores nothing."""

from __future__ import annotations

import numpy as np
import pytest

from evalsvc.scoring import levels as lv
from evalsvc.scoring.annual import empty_year, rate_year
from evalsvc.scoring.explain import explain_month, explain_year
from evalsvc.scoring.monthly import score_month
from evalsvc.scoring.profiles import ND335
from evalsvc.scoring.whatif import what_if

from .helpers import month, org, tasks
from .test_annual import months_with_done
from .test_monthly import worked_example_month


def test_month_breakdown_adds_up_and_next_level() -> None:
    o, m = worked_example_month()
    r = score_month(o, m, ND335)
    ex = explain_month(o, m, r, 0, ND335)
    assert sum(c.points for c in ex.components) == pytest.approx(87.83, abs=1e-9)
    assert [c.name for c in ex.components].count("manifestation") == 2
    assert ex.level == lv.HTT
    nxt = ex.next_level
    assert nxt is not None
    assert nxt.level == lv.HTXS
    assert nxt.points_needed == 2.17
    # 2 extra converted units done well: a,b,c each +0.1 -> T = 70 * 0.9833 = 68.83 -> 94.83
    assert nxt.extra_done_units is not None
    assert 0 < nxt.extra_done_units <= 2
    assert nxt.manifestations_to_clear == 2  # clearing one (2 pts) is not enough for 2.17
    # check the task route really reaches the cut
    extra = nxt.extra_done_units
    m2 = month(
        o,
        tasks=tasks(
            [
                (0, 1, 10, 10, 0, 0),
                (0, 2, 1, 1, 1, 0),
                (0, 1, 1, 1, 0, 2),
                (0, 1, 7, 5 + extra, 0, 0),
            ]
        ),
        manifestations=m.manifestations,
    )
    assert score_month(o, m2, ND335).m[0] >= 90.0


def test_year_explanation_lists_quota_decision() -> None:
    done = [1.0, 0.99, 0.98, 0.97, 0.96, 0.95] + [0.6] * 15
    o = org([0] * 21, [0] * 21, [-1])
    ms = months_with_done(o, done)
    res = rate_year(o, ms, empty_year(o, []), ND335)
    ex = explain_year(ms, res, 5, ND335)
    assert len(ex.months) == 12
    assert ex.decisions[-1].stage == "quota"
    assert ex.decisions[-1].level_before == lv.HTXS
    assert ex.decisions[-1].level_after == lv.HTT
    assert "rank 6 of 6" in ex.decisions[-1].detail
    assert ex.points_to_next_level is None  # the quota, not the score, decides


def test_what_if_reports_shifts() -> None:
    from .test_units import _city

    o, year = _city(3)
    w = what_if(o, year, ND335, {"level_cuts": [50, 60, 75]})
    assert w.transitions.sum() == o.n
    moved = w.cadre_levels
    assert (moved.after >= moved.before).all()
    assert moved.rows.size > 0
    assert w.alt.profile.level_cuts == (50.0, 60.0, 75.0)
    with pytest.raises(ValueError, match="quota_ratio"):
        what_if(o, year, ND335, {"quota_ratio": -1})
    same = what_if(o, year, ND335, ND335)
    assert same.cadre_levels.rows.size == 0
    assert np.array_equal(same.base.ranking.rank, same.alt.ranking.rank)
