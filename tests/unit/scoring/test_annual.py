"""Golden cases of the annual rating and the quota (DOMAIN part 3)."""

from __future__ import annotations

import dataclasses

import numpy as np

from evalsvc.scoring import levels as lv
from evalsvc.scoring.annual import empty_year, rate_gated, rate_year
from evalsvc.scoring.inputs import DisciplineRecords, Org
from evalsvc.scoring.monthly import MonthResult, score_month
from evalsvc.scoring.profiles import ND335, Profile, profile_from_dict
from evalsvc.scoring.quota import apply_quota, quota_demotions

from .helpers import month, org, tasks


def months_with_done(o: Org, done: list[float], profile: Profile = ND335) -> list[MonthResult]:
    recs = tasks([(i, 1, 100, 100 * d, 0, 0) for i, d in enumerate(done)])
    return [score_month(o, month(o, f"2026-{k:02d}", tasks=recs), profile) for k in range(1, 13)]


def test_quota_six_htxs_fifteen_htt() -> None:
    done = [1.0, 0.99, 0.98, 0.97, 0.96, 0.95] + [0.6] * 15
    o = org([0] * 21, [0] * 21, [-1])
    res = rate_year(o, months_with_done(o, done), empty_year(o, []), ND335)
    assert res.y[:6].tolist() == [100.0, 99.3, 98.6, 97.9, 97.2, 96.5]
    assert (res.level_link == lv.HTXS).sum() == 6
    assert (res.level == lv.HTXS).sum() == 3
    assert (res.level == lv.HTT).sum() == 18
    assert res.quota.demoted.tolist() == [False] * 3 + [True] * 3 + [False] * 15
    assert lv.reason_names(int(res.reasons[5])) == ["quota"]
    assert res.quota.cap[0] == 3  # floor(0.2 * 18)


def test_quota_outstanding_unit_25_percent() -> None:
    done = [1.0] * 6 + [0.6] * 15
    o = org([0] * 21, [0] * 21, [-1], outstanding=[True])
    res = rate_year(o, months_with_done(o, done), empty_year(o, []), ND335)
    # j: 6 - j <= floor(0.25 (15 + j)) -> j = 2: 4 <= floor(4.25)
    assert (res.level == lv.HTXS).sum() == 4


def test_quota_tie_break_remediation_then_manifestations_then_code() -> None:
    level = np.array([3, 3, 3, 2, 2, 2, 2, 2], dtype=np.int8)
    # keep order: 2 best, then 0, then 1 -> 1 is demoted (cap floor(0.2*5)=1 ... converges)
    q = apply_quota(
        level, np.zeros(8, np.int64), np.full(8, 0.2), np.array([2, 0, 1, 3, 4, 5, 6, 7])
    )
    # 3 - j <= floor(0.2 (5 + j)): j=2 -> 1 <= 1
    assert q.level.tolist() == [2, 2, 3, 2, 2, 2, 2, 2]
    assert q.keep_rank.tolist()[:3] == [2, 3, 1]


def test_quota_demotions_matches_literal_loop() -> None:
    for h in range(0, 30):
        for t in range(0, 60):
            for r in (0.2, 0.25, 0.3, 0.0, 1.0):
                hh, tt = h, t
                while hh > int(np.floor(r * tt + 1e-9)):
                    hh, tt = hh - 1, tt + 1
                assert quota_demotions([h], [t], [r], True)[0] == h - hh


def test_discipline_in_year_is_kht_once_per_violation() -> None:
    o = org([0, 0, 0], [0, 0, 0], [-1])
    year = dataclasses.replace(
        empty_year(o, []),
        discipline=DisciplineRecords(
            cadre=np.array([0, 0, 1]),
            violation=np.array([7, 7, 8]),  # party + administrative record of one violation
            form=np.array([0, 1, 0]),
            counted_before=np.array([False, False, True]),
        ),
    )
    res = rate_year(o, months_with_done(o, [1.0, 1.0, 1.0]), year, ND335)
    assert res.level_link.tolist() == [lv.KHT, lv.HTXS, lv.HTXS]
    # two HTXS and no HTT: the quota demotes both (2 - j <= floor(0.2 j) -> j = 2)
    assert res.level.tolist() == [lv.KHT, lv.HTT, lv.HTT]
    assert res.violations.tolist() == [1, 0, 0]
    assert "discipline" in lv.reason_names(int(res.reasons[0]))


def test_fewer_than_six_months_not_rated() -> None:
    o = org([0, 0, 0], [0, 0, 0], [-1])
    year = dataclasses.replace(
        empty_year(o, []),
        months_employed=np.array([5, 12, 12]),
        months_absent=np.array([0, 7, 4]),
    )
    res = rate_year(o, months_with_done(o, [0.8, 0.8, 0.8]), year, ND335)
    assert res.level.tolist() == [lv.NOT_RATED, lv.NOT_RATED, lv.HT]
    assert lv.reason_names(int(res.reasons[0])) == ["not_enough_months"]
    assert lv.reason_names(int(res.reasons[2])) == ["absence_cap"]


def test_score_below_50_and_leader_overrides() -> None:
    o = org([0, 2, 2], [0, 0, 0], [-1])
    year = dataclasses.replace(
        empty_year(o, []),
        corruption_in_charge=np.array([True, True, False]),
        confidence_low_share=np.array([0.9, np.nan, 0.51]),
    )
    res = rate_year(o, months_with_done(o, [0.1, 1.0, 1.0]), year, ND335)
    assert res.level.tolist() == [lv.KHT, lv.KHT, lv.KHT]
    assert lv.reason_names(int(res.reasons[0])) == ["score_below_50"]  # staff: leader rules off
    assert lv.reason_names(int(res.reasons[1])) == ["corruption_in_charge"]
    assert lv.reason_names(int(res.reasons[2])) == ["low_confidence"]


def test_y_is_mean_over_scored_months_only() -> None:
    o = org([0], [0], [-1])
    ms = months_with_done(o, [1.0])
    ms[0] = score_month(o, month(o, "2026-01"), ND335)  # no task basis in January
    res = rate_year(o, ms, empty_year(o, []), ND335)
    assert res.periods_scored[0] == 11
    assert res.y[0] == 100.0


def test_gates_qd366_and_leader_link() -> None:
    qd = profile_from_dict({"base": "qd366", "period": "month"})
    o = org([2, 0], [0, 0], [-1])
    res = rate_year(o, months_with_done(o, [1.0, 1.0], qd), empty_year(o, []), qd)
    # nothing exceeded -> HTXS gate fails for both
    assert res.level.tolist() == [lv.HTT, lv.HTT]
    assert "gate_exceeded" in lv.reason_names(int(res.reasons[0]))
    strict = profile_from_dict({"base": "nd335", "leader_link": "strict"})
    unit_level = np.array([lv.HT], dtype=np.int8)
    res = rate_year(o, months_with_done(o, [1.0, 1.0]), empty_year(o, []), strict, unit_level)
    assert res.level_link.tolist() == [lv.HT, lv.HTXS]
    assert lv.reason_names(int(res.reasons[0])) == ["leader_cap"]


def test_steps_up_to_the_gates_are_reused_with_the_same_result() -> None:
    """``rate_year(..., gated=rate_gated(...))`` equals a rating from scratch, and the
    shared stages are not changed by the link and the quota applied after them."""
    strict = profile_from_dict({"base": "nd335", "leader_link": "strict"})
    o = org([2, 0, 0, 1], [0, 0, 0, 0], [-1])
    months = months_with_done(o, [1.0, 1.0, 0.97, 0.4], strict)
    year = empty_year(o, [])
    unit_level = np.array([lv.HT], dtype=np.int8)
    gated = rate_gated(o, months, year, strict)
    reasons_before = gated.reasons.copy()
    reused = rate_year(o, months, year, strict, unit_level, gated=gated)
    fresh = rate_year(o, months, year, strict, unit_level)
    assert lv.reason_names(int(reused.reasons[0])) == ["leader_cap"]
    for field in dataclasses.fields(fresh):
        a, b = getattr(fresh, field.name), getattr(reused, field.name)
        assert repr(a) == repr(b), field.name
    assert np.array_equal(gated.reasons, reasons_before)
