"""The rules of DOMAIN parts 2, 3 and 5 as revised (issue 15): agency quotas, U3 per capita,
quarters, reasons in rule order, the qd366 gates' shares, hn3814 codes, variants."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from evalsvc.scoring import levels as lv
from evalsvc.scoring.annual import empty_year, rate_year
from evalsvc.scoring.explain import explain_year
from evalsvc.scoring.inputs import (
    DisciplineRecords,
    Manifestations,
    Org,
    Remediation,
    TaskRecords,
    agency_units,
    cadre_agency,
)
from evalsvc.scoring.monthly import MonthResult, score_month
from evalsvc.scoring.pipeline import rate_all
from evalsvc.scoring.profiles import (
    HN3814,
    ND335,
    QD366,
    Profile,
    profile_from_dict,
    variant_changes,
    variant_digest,
)
from evalsvc.scoring.quarter import pool_quarter
from evalsvc.scoring.units import score_units_month

from .helpers import month, org, tasks


def _year(o: Org, done: list[float], profile: Profile = ND335) -> list[MonthResult]:
    recs = tasks([(i, 1, 100, 100 * d, 0, 0) for i, d in enumerate(done)])
    return [score_month(o, month(o, f"2026-{k:02d}", tasks=recs), profile) for k in range(1, 13)]


def _department(outstanding: bool = False) -> tuple[Org, list[float]]:
    """City root 0 (no block), department 1 (block 0), divisions 2, 3, 4 (no block).

    Each division has 5 staff: one scoring 100 (HTXS) and four scoring 80 (HTT).
    """
    units = [u for u in (2, 3, 4) for _ in range(5)]
    done = [1.0, 0.6, 0.6, 0.6, 0.6] * 3  # T = 70 or 42 -> M = 100 or 72... see below
    o = org(
        [0] * 15,
        units,
        [-1, 0, 1, 1, 1],
        unit_block=[-1, 0, -1, -1, -1],
        outstanding=[False, outstanding, False, False, False],
    )
    return o, done


def test_agency_is_the_nearest_flagged_unit_at_or_above() -> None:
    o, _ = _department()
    # default flags: the units of a ranking block; the root has no agency at or above it
    assert agency_units(o).tolist() == [-1, 1, 1, 1, 1]
    assert cadre_agency(o).tolist() == [1] * 15
    assert cadre_agency(o, "unit").tolist() == [2] * 5 + [3] * 5 + [4] * 5
    flagged = dataclasses.replace(o, unit_agency=np.array([False, False, True, False, False]))
    # division 2 rates its own staff; 3 and 4 have no agency above them -> own unit
    assert agency_units(flagged).tolist() == [-1, -1, 2, -1, -1]
    assert cadre_agency(flagged).tolist() == [2] * 5 + [3] * 5 + [4] * 5


def test_three_divisions_share_their_departments_quota() -> None:
    o, done = _department()
    months = _year(o, done)
    res = rate_year(o, months, empty_year(o, []), ND335)
    assert res.level_link.tolist().count(lv.HTXS) == 3
    # one quota for the department: 3 HTXS, 12 HTT -> j = 1 (2 <= floor(0.2 * 13))
    assert (res.level == lv.HTXS).sum() == 2
    assert res.agency.tolist() == [1] * 15
    demoted = np.flatnonzero(res.quota.demoted).tolist()
    assert demoted == [10]  # equal Y: the last external code loses
    assert res.quota.cap[10] == 2
    assert res.quota.top_before[10] == 3
    exp = explain_year(months, res, 10, ND335, unit_names=["city", "SNV", "P1", "P2", "P3"])
    quota = next(d for d in exp.decisions if d.stage == "quota")
    assert "agency SNV" in quota.detail
    assert "cap 2" in quota.detail
    assert quota.reasons == ["quota"]
    # per own unit (quota_scope = unit) each division of 5 needs 5 HTT for one HTXS
    per_unit = rate_year(o, months, empty_year(o, []), ND335.replace(quota_scope="unit"))
    assert (per_unit.level == lv.HTXS).sum() == 0


def test_the_agencys_outstanding_flag_raises_the_quota() -> None:
    o, done = _department(outstanding=True)
    res = rate_year(o, _year(o, done), empty_year(o, []), ND335)
    assert (res.level == lv.HTXS).sum() == 3  # 3 <= floor(0.25 * 12)
    # a division's own flag does not count when the department is the agency
    o2, _ = _department()
    o2 = dataclasses.replace(o2, unit_outstanding=np.array([False, False, True, True, True]))
    assert (rate_year(o2, _year(o2, done), empty_year(o2, []), ND335).level == 3).sum() == 2


def test_u3_per_capita_in_a_unit_of_500() -> None:
    n = 500
    o = org([0] * n, [0] * n, [-1])
    pairs = [(i, 1 + (i % 3), 1) for i in range(60)]
    m = month(
        o,
        tasks=tasks([(i, 1, 10, 10, 0, 0) for i in range(n)]),
        manifestations=Manifestations(*(np.array(c) for c in zip(*pairs, strict=True))),
        discipline=np.array([1, 1] + [0] * (n - 2)),
    )
    r = score_month(o, m, ND335)
    u = score_units_month(o, m, r, ND335)
    # 15 - 5 * 60/500 - 30 * 2/500 = 15 - 0.6 - 0.12
    assert u.components[0, 2] == pytest.approx(14.28)
    assert 0 < u.components[0, 2] < 15
    assert u.members[0] == 500
    assert u.pairs[0] == 60


def test_u3_counts_members_employed_not_only_active() -> None:
    o = org([0] * 4, [0] * 4, [-1])
    m = month(
        o,
        tasks=tasks([(i, 1, 10, 10, 0, 0) for i in range(4)]),
        manifestations=Manifestations(np.array([0]), np.array([1]), np.array([1])),
        active=np.array([True, True, False, False]),  # two on (non-maternity) leave
        employed=np.ones(4, dtype=bool),
    )
    u = score_units_month(o, m, score_month(o, m, ND335), ND335)
    assert u.components[0, 2] == pytest.approx(15 - 5 * 1 / 4)
    empty = month(o, active=np.zeros(4, bool), employed=np.zeros(4, bool))
    u0 = score_units_month(o, empty, score_month(o, empty, ND335), ND335)
    assert u0.components[0, 2] == 15.0  # no members employed -> full


def _quarter_months(o: Org) -> list:  # type: ignore[type-arg]
    n = o.n
    recs = [
        # cadre 0 staff: month 1: 10 assigned 10 done; month 2: 10 assigned 6 done, one
        # k=2 item with a major error; month 3 inactive (its records do not count)
        tasks([(0, 1, 10, 10, 0, 0), (1, 1, 10, 10, 0, 0)]),
        tasks([(0, 1, 8, 6, 0, 0), (0, 2, 1, 1, 1, 0), (1, 1, 10, 10, 0, 0)]),
        tasks([(0, 1, 50, 0, 0, 0), (1, 1, 10, 10, 0, 0)]),
    ]
    subs = [np.array([[10, 10, 10], [9, 9, 9]]), np.array([[7, 7, 7], [9, 9, 9]]), None]
    out = []
    for k in range(3):
        m = month(o, f"2026-{4 + k:02d}", profile=QD366, tasks=recs[k])
        active = np.array([k < 2, True])
        has = np.array([True, True]) if subs[k] is not None else np.zeros(n, bool)
        sub = subs[k] if subs[k] is not None else np.zeros((n, 3))
        out.append(
            dataclasses.replace(
                m,
                active=active,
                has_assessment=has,
                sub_criteria=sub.astype(float),
                capacity=np.array([np.nan, [1.0, 0.5, np.nan][k]]),
            )
        )
    return out


def test_a_qd366_quarter_pools_its_active_months() -> None:
    # cadre 1 is the head of the unit, cadre 0 its staff
    o = org([0, 2], [0, 0], [-1])
    q = pool_quarter(_quarter_months(o), QD366)
    assert q.active.tolist() == [True, True]
    assert q.active_months.tolist() == [[True, True, False], [True, True, True]]
    # the head's month 3 has no assessment: counted as full (10 each)
    np.testing.assert_allclose(q.sub_criteria, [[8.5, 8.5, 8.5], [28 / 3] * 3])
    assert q.capacity[1] == pytest.approx(2.5 / 3)  # mean of 1, 0.5, missing = 1
    items = Remediation(
        subject=np.array([0, 0]),
        due=np.array(["2026-05-10", "2026-06-10"], dtype="datetime64[D]"),
        verified=np.array(["2026-05-01", "NaT"], dtype="datetime64[D]"),
        cancelled=np.zeros(2, bool),
    )
    r = score_month(o, q, QD366, items)
    # cadre 0: A = 10 + 8 + 2 + 1 (the May item; June is not an active month) = 21
    assert r.totals.assigned[0] == 21
    a, b = 19 / 21, (19 - 2 * 0.25) / 21
    kq = (a + b + a) / 3
    assert r.m[0] == pytest.approx(round(25.5 + 70 * kq, 2))
    assert r.level[0] == lv.level_from_score(r.m[:1], QD366.level_cuts)[0]
    # the head's d looks at the quarter score of their staff (>= 50 -> 1)
    assert r.d[1] == 1.0
    assert r.dd[1] == pytest.approx(2.5 / 3)


def test_quarterly_annual_averages_quarters_and_gates_read_active_periods() -> None:
    o = org([0], [0], [-1])
    quarters = []
    for k, done in enumerate([10.0, 8.0, 10.0, 10.0]):
        months = [
            month(
                o, f"2026-{3 * k + j + 1:02d}", profile=QD366, tasks=tasks([(0, 1, 10, done, 0, 0)])
            )
            for j in range(3)
        ]
        quarters.append(score_month(o, pool_quarter(months, QD366), QD366))
    res = rate_year(o, quarters, empty_year(o, []), QD366)
    ms = [float(q.m[0]) for q in quarters]
    assert res.periods_scored[0] == 4
    assert res.y[0] == pytest.approx(round(sum(ms) / 4, 2))
    assert res.done_share[0] == pytest.approx(114 / 120)


def test_reasons_are_kept_in_rule_order() -> None:
    o = org([0, 0], [0, 0], [-1])
    year = dataclasses.replace(
        empty_year(o, []),
        months_absent=np.array([4, 0]),
        discipline=DisciplineRecords(
            np.array([0]), np.array([7]), np.array([0]), np.zeros(1, bool)
        ),
    )
    res = rate_year(o, _year(o, [1.0, 1.0]), year, ND335)
    assert res.level[0] == lv.KHT
    assert lv.reason_names(int(res.reasons[0])) == ["absence_cap", "discipline"]
    exp = explain_year(_year(o, [1.0, 1.0]), res, 0, ND335)
    assert [d.stage for d in exp.decisions] == ["base", "eligibility", "overrides"]
    # not rated (worked < 6) keeps its marker and no level rule runs after it
    year2 = dataclasses.replace(empty_year(o, []), months_employed=np.array([5, 12]))
    res2 = rate_year(o, _year(o, [1.0, 1.0]), year2, ND335)
    assert lv.reason_names(int(res2.reasons[0])) == ["not_enough_months"]
    assert res2.level[0] == lv.NOT_RATED
    assert res2.y[0] == 100.0
    # month: the low-confidence cap, then the discipline override
    m = month(
        o,
        tasks=tasks([(0, 1, 10, 10, 0, 0), (1, 1, 10, 10, 0, 0)]),
        low_confidence=np.array([True, False]),
        discipline=np.array([1, 0]),
    )
    r = score_month(o, m, ND335)
    assert lv.reason_names(int(r.reasons[0])) == ["low_confidence_ballot", "discipline"]
    assert lv.reason_labels(["discipline"]) == ["Bị kỷ luật: Không hoàn thành nhiệm vụ"]


def test_qd366_gate_shares_are_k_weighted_as_domain_says() -> None:
    o = org([0, 0], [0, 0], [-1])
    qd = QD366.replace(period="month")
    recs = TaskRecords(
        cadre=np.array([0, 0, 1, 1]),
        k=np.array([1.0, 1.0, 1.0, 2.0]),
        assigned=np.array([10.0, 5.0, 10.0, 5.0]),
        done=np.array([10.0, 5.0, 10.0, 5.0]),
        errors=np.zeros(4, np.int64),
        delays=np.array([0, 1, 0, 0]),
        exceeded=np.array([False, False, True, False]),
    )
    months = [score_month(o, month(o, f"2026-{k:02d}", qd, tasks=recs), qd) for k in range(1, 13)]
    # an inactive month whose records would change every share does not count
    idle = dataclasses.replace(
        month(o, "2026-12", qd, tasks=tasks([(1, 1, 100, 0, 0, 0)])), active=np.array([True, False])
    )
    months[11] = score_month(o, idle, qd)
    res = rate_year(o, months, empty_year(o, []), qd)
    # cadre 0: late = 5 of 15 done (a third) > 20 %
    assert res.late_share[0] == pytest.approx(5 / 15)
    # cadre 1: exceeded = 10 of 20 k-weighted assigned; done share 1
    assert res.exceeded_share[1] == pytest.approx(0.5)
    assert res.done_share[1] == 1.0
    assert res.level[0] == lv.KHT
    assert lv.reason_names(int(res.reasons[0]))[-1] == "gate_late_tasks"


def test_late_share_is_of_what_was_done() -> None:
    o = org([0], [0], [-1])
    qd = QD366.replace(period="month")
    recs = TaskRecords(
        cadre=np.array([0, 0]),
        k=np.array([1.0, 1.0]),
        assigned=np.array([10.0, 5.0]),
        done=np.array([10.0, 3.0]),
        errors=np.zeros(2, np.int64),
        delays=np.array([0, 1]),
        exceeded=np.zeros(2, bool),
    )
    months = [score_month(o, month(o, f"2026-{k:02d}", qd, tasks=recs), qd) for k in range(1, 13)]
    res = rate_year(o, months, empty_year(o, []), qd)
    assert res.late_share[0] == pytest.approx(3 / 13)  # of done, not of assigned (3 / 15)
    assert "gate_late_tasks" in lv.reason_names(int(res.reasons[0]))


def test_hn3814_levels_are_a_b_c_d() -> None:
    assert [HN3814.level_code(i) for i in range(4)] == ["D", "C", "B", "A"]
    assert HN3814.level_title(3) == "Xuất sắc"
    assert HN3814.level_title(-1) == "Không xếp loại"
    assert ND335.level_code(2) == "HTT"
    assert ND335.level_title(3) == "Hoàn thành xuất sắc nhiệm vụ"


def test_profiles_carry_period_and_quota_scope() -> None:
    assert ND335.period == "month"
    assert QD366.period == "quarter"
    assert QD366.period_months == 3
    assert ND335.quota_scope == "agency"
    old = {k: v for k, v in ND335.to_dict().items() if k != "period"} | {"period_months": 3}
    assert profile_from_dict(old).period == "quarter"
    with pytest.raises(ValueError, match="quota_scope"):
        ND335.replace(quota_scope="city")


def test_a_variant_names_its_changes() -> None:
    alt = ND335.replace(quota_ratio=0.5)
    changes = variant_changes(ND335, alt)
    assert changes == {"quota_ratio": 0.5}
    digest = variant_digest(changes)
    assert digest is not None
    assert len(digest) == 16
    assert variant_digest({"quota_ratio": 0.5}) == digest
    assert variant_changes(ND335, ND335.replace(quota_ratio=0.2)) == {}
    assert variant_digest({}) is None


def test_rate_all_unit_year_uses_distinct_pairs_and_members_employed_in_the_year() -> None:
    o = org([0, 0], [0, 0], [-1])
    mf = Manifestations(np.array([0]), np.array([3]), np.array([1]))
    periods = [
        month(
            o,
            f"2026-{k:02d}",
            tasks=tasks([(0, 1, 10, 10, 0, 0), (1, 1, 10, 10, 0, 0)]),
            manifestations=mf,
            active=np.array([True, k < 3]),
            employed=np.array([True, k < 3]),
        )
        for k in range(1, 13)
    ]
    rating = rate_all(o, dataclasses.replace(empty_year(o, periods)), ND335)
    assert rating.units.pairs[0] == 1  # the same pair confirmed in 12 months counts once
    assert rating.units.members[0] == 2
    assert rating.units.pairs_per_100[0] == 50.0
