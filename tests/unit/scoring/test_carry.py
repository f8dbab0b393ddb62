"""A year rated from month carries equals the year scored from its inputs.

The carries also travel through the payload codec the month runs store
(``jobs/carry_codec.py``), so what a year run reads back rates exactly as scoring again.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from evalsvc.jobs import carry_codec, packing
from evalsvc.scoring import levels as lv
from evalsvc.scoring.annual import distinct_per_row, empty_year
from evalsvc.scoring.carry import carry_member_matrix, summed_member_matrix
from evalsvc.scoring.inputs import Remediation
from evalsvc.scoring.pipeline import YearRating, rate_all, rate_carried, score_periods
from evalsvc.scoring.profiles import ND335, QD366, Profile
from evalsvc.scoring.units import member_matrix

from .helpers import manifestations, month, org, tasks


def _city(seed: int):  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(seed)
    u, n = 14, 300
    parent = np.array([-1] + [0] * 4 + list(rng.integers(1, 5, u - 5)))
    unit = rng.integers(0, u, n)
    pos = np.zeros(n, dtype=int)
    heads = rng.choice(n, u, replace=False)
    pos[heads] = lv.HEAD
    unit[heads] = np.arange(u)
    o = org(pos.tolist(), unit.tolist(), parent.tolist(), unit_block=[-1] + [0, 0, 1, 1] + [-1] * 9)
    periods = []
    for k in range(1, 13):
        recs = [
            (
                i,
                float(rng.choice([0.5, 1, 2])),
                10.0,
                float(rng.integers(3, 11)),
                int(rng.integers(0, 2)),
                int(rng.integers(0, 2)),
            )
            for i in range(n)
            if rng.random() > 0.03
        ]
        marked = rng.choice(n, 12, replace=False)
        man = manifestations(
            [(int(c), int(rng.integers(1, 9)), int(rng.integers(1, 4))) for c in marked]
        )
        discipline = np.zeros(n, dtype=np.int64)
        discipline[rng.choice(n, 2, replace=False)] = 1
        sat = rng.uniform(60, 100, u)
        sat[rng.random(u) < 0.2] = np.nan
        periods.append(
            month(
                o,
                f"2026-{k:02d}",
                tasks=tasks(recs),
                satisfaction=sat,
                manifestations=man,
                discipline=discipline,
                active=rng.random(n) > 0.02,
            )
        )
    due = np.array([f"2026-{m:02d}-15" for m in rng.integers(1, 13, 40)], dtype="datetime64[D]")
    verified = np.where(rng.random(40) < 0.7, due - 3, np.datetime64("NaT"))
    rem = Remediation(rng.integers(0, n, 40), due, verified, np.zeros(40, dtype=bool))
    urem = Remediation(rng.integers(0, u, 8), due[:8], verified[:8], np.zeros(8, dtype=bool))
    year = dataclasses.replace(
        empty_year(o, periods),
        remediation=rem,
        unit_remediation=urem,
        confidence_low_share=np.where(rng.random(n) < 0.05, 0.6, np.nan),
    )
    return o, year


def _same(a: YearRating, b: YearRating) -> None:
    for name in ("cadres", "units"):
        for f in dataclasses.fields(getattr(a, name)):
            x, y = getattr(getattr(a, name), f.name), getattr(getattr(b, name), f.name)
            if isinstance(x, np.ndarray):
                assert np.array_equal(x, y, equal_nan=x.dtype.kind == "f"), f"{name}.{f.name}"
    assert np.array_equal(a.ranking.rank, b.ranking.rank)
    assert a.intervals is not None
    assert b.intervals is not None
    assert np.array_equal(a.intervals.low, b.intervals.low)
    assert np.array_equal(a.intervals.high, b.intervals.high)
    for ua, ub in zip(a.unit_months, b.unit_months, strict=True):
        assert np.array_equal(ua.u, ub.u, equal_nan=True)
        assert np.array_equal(ua.sums, ub.sums)


@pytest.mark.parametrize("profile", [ND335, QD366.replace(period="month")], ids=["nd335", "qd366"])
def test_year_from_carries_equals_year_from_inputs(profile: Profile) -> None:
    o, year = _city(5)
    full = rate_all(o, year, profile, seed=3)
    _, carries = score_periods(o, year, profile)
    # Through the stored payload, and with the year's periods no longer at hand.
    stored = [carry_codec.decode(carry_codec.encode(c)) for c in carries]
    carried = rate_carried(o, stored, dataclasses.replace(year, periods=[]), profile, seed=3)
    _same(full, carried)
    assert (full.cadres.level >= 0).sum() > 200
    assert full.cadres.n_manifestations.sum() > 0


def test_mixed_fresh_and_carried_months() -> None:
    o, year = _city(9)
    full = rate_all(o, year, ND335, seed=1)
    _, carries = score_periods(o, year, ND335)
    fresh = dataclasses.replace(year, periods=list(year.periods[4:6]))
    _, fresh_carries = score_periods(o, fresh, ND335)
    mixed = [carry_codec.decode(carry_codec.encode(c)) for c in carries]
    mixed[4:6] = fresh_carries
    _same(full, rate_carried(o, mixed, year, ND335, seed=1))


def test_payload_keeps_every_array() -> None:
    o, year = _city(2)
    months, carries = score_periods(o, year, ND335)
    c = carries[7]
    d = carry_codec.decode(carry_codec.encode(c))
    expected = member_matrix(o, year.periods[7], months[7], year.remediation, ND335)
    assert np.array_equal(carry_member_matrix(o, d, year.remediation, ND335), expected)
    assert np.array_equal(d.discipline, np.asarray(year.periods[7].discipline))
    assert d.period == c.period
    assert np.array_equal(d.m, c.m, equal_nan=True)
    assert d.level.dtype == np.int8
    assert np.array_equal(d.level, c.level)
    assert np.array_equal(d.manifestations.item, np.asarray(c.manifestations.item))
    assert np.array_equal(d.totals.late, c.totals.late)
    assert np.array_equal(d.units.components, c.units.components, equal_nan=True)


def test_distinct_per_row_bitmap_and_sort_agree() -> None:
    rng = np.random.default_rng(4)
    rows = rng.integers(0, 50, 2000)
    small = rng.integers(0, 30, 2000)
    expected = np.array([len(set(small[rows == r].tolist())) for r in range(50)])
    assert np.array_equal(distinct_per_row(rows, small, 50), expected)
    wide = small * 10_000_000  # the sort path: 50 rows x 290 million values
    assert np.array_equal(distinct_per_row(rows, wide, 50), expected)


def test_summed_member_matrix_equals_the_sum_of_the_periods_matrices() -> None:
    o, year = _city(6)
    months, carries = score_periods(o, year, ND335)
    expected = sum(
        member_matrix(o, m, r, year.remediation, ND335)
        for m, r in zip(year.periods, months, strict=True)
    )
    assert np.array_equal(summed_member_matrix(o, carries, year.remediation, ND335), expected)


def test_packing_narrows_losslessly_and_restores_dtypes() -> None:
    exact = np.array([0.5, 37.25, 1e6, np.nan])  # float32 holds these exactly
    inexact = np.array([87.83, 0.1])
    small = np.array([0, 2, -3], dtype=np.int64)
    wide = np.array([0, 2**40], dtype=np.int64)
    payload = packing.pack({"e": exact, "i": inexact, "s": small, "w": wide, "p": np.int64(7)})
    out = packing.unpack(payload)
    for name, arr in {"e": exact, "i": inexact, "s": small, "w": wide}.items():
        assert out[name].dtype == arr.dtype
        assert np.array_equal(out[name], arr, equal_nan=True)
    assert out["p"].shape == ()
    assert out["p"][()] == 7
    # stored narrow: half the bytes of the same shape that float32 cannot hold
    assert len(packing.pack({"x": exact})) + 16 == len(packing.pack({"x": exact + 0.1}))
