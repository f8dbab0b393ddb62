"""People-facing numbers and labels (issue 15 item 9; DOMAIN part 3 rounding)."""

from __future__ import annotations

import math
from datetime import date

from evalsvc.domain.recompute import parse_period, quarter_of
from evalsvc.published.results import Labels, r2, reasons_view, whole
from evalsvc.scoring import levels as lv
from evalsvc.scoring.profiles import HN3814


def test_half_up_at_two_decimals_like_the_scoring() -> None:
    assert r2(89.995) == 90.0  # a plain round() gives 89.99
    assert r2(25.700000000000003) == 25.7
    assert r2(42.01637922483702) == 42.02
    assert r2(-0.0021621622) == 0.0
    assert r2(float("nan")) is None
    assert r2(None) is None


def test_ranks_are_integers_or_none() -> None:
    assert whole(3.0) == 3
    assert whole(float("nan")) is None
    assert whole(-1) is None


def test_levels_follow_the_run_profile() -> None:
    hn = Labels(HN3814.to_dict())
    assert [hn.code(i) for i in range(4)] == ["D", "C", "B", "A"]
    assert hn.view(3) == {"code": "A", "label": "Xuất sắc"}
    assert Labels().view(2) == {"code": "HTT", "label": "Hoàn thành tốt nhiệm vụ"}
    assert Labels({}).view(-1) == {"code": "not_rated", "label": "Không xếp loại"}


def test_reasons_are_a_list_with_labels_beside() -> None:
    mask = lv.REASON_BIT["discipline"] | lv.REASON_BIT["absence_cap"]
    view = reasons_view(mask)
    assert view["reasons"] == ["absence_cap", "discipline"]
    assert len(view["reason_labels"]) == 2
    assert reasons_view(0) == {"reasons": [], "reason_labels": []}


def test_quarter_periods() -> None:
    q = parse_period("2026-Q2")
    assert (q.kind, q.months, q.first_month.month) == ("quarter", 3, 4)
    assert q.previous() == "2026-Q1"
    assert parse_period("2026-Q1").previous() == "2025-Q4"
    assert quarter_of(q.first_month) == "2026-Q2"
    assert not math.isnan(q.year)


def test_a_year_cut_to_the_periods_over() -> None:
    year = parse_period("2026")
    assert year.over_by(date(2026, 12, 1)).month_starts()[-1] == date(2026, 11, 1)
    assert year.over_by(date(2026, 12, 1), 3).months == 9  # whole quarters only
    assert year.over_by(date(2027, 1, 1)).months == 12
    assert year.over_by(date(2026, 1, 15)).months == 1  # at least the first
    month = parse_period("2026-12")
    assert month.over_by(date(2026, 12, 1)) == month
