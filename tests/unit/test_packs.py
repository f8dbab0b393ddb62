"""Input packs: what a run read as rows comes back unpacked exactly as it was read."""

from __future__ import annotations

import dataclasses
from datetime import date
from typing import Any

import numpy as np
import pytest

from evalsvc.domain.recompute import parse_period
from evalsvc.jobs import packing, packs
from evalsvc.jobs.inputs import Base, MonthRows, Registry, Spells
from evalsvc.scoring import Org, Remediation

RNG = np.random.default_rng(7)


def _registry(n: int = 50, u: int = 6) -> Registry:
    org = Org(
        position=RNG.integers(0, 3, n),
        unit=RNG.integers(0, u, n),
        peer_group=RNG.integers(0, 4, n),
        code=np.array([f"CB{i:05d}" for i in range(n)]),
        unit_parent=np.r_[-1, np.zeros(u - 1, np.int64)],
        unit_block=RNG.integers(-1, 2, u),
        unit_outstanding=RNG.random(u) < 0.3,
    )
    start = np.array(["2020-01-01"] * n, dtype="datetime64[D]")
    spells = Spells(np.arange(n, dtype=np.int64) + 100, start, start + 4000)
    return Registry(
        np.arange(n, dtype=np.int64) + 100, np.arange(u, dtype=np.int64) + 7, org, spells
    )


def _remediation(k: int, subjects: int) -> Remediation:
    due = np.array(["2026-05-10"] * k, dtype="datetime64[D]")
    verified = np.where(RNG.random(k) < 0.5, due, np.datetime64("NaT")).astype("datetime64[D]")
    return Remediation(RNG.integers(0, subjects, k), due, verified, RNG.random(k) < 0.2)


def _base(with_ballots: bool) -> Base:
    reg = _registry()
    n = reg.org.n
    dates = np.array(["2026-04-01", "2026-06-30"], dtype="datetime64[D]")
    confirmed = [np.array([100, 101]), np.array([3, 5]), np.array([1, 2]), dates, dates]
    low = [np.array([104]), dates[:1], dates[1:]]
    return Base(
        parse_period("2026-05"),
        {"task_month_totals", "remediation_items"},
        {"cadres": n, "units": reg.org.u, "remediation_items": 9, "registry_rows": 2 * n},
        reg,
        reg.cadre_ids,
        reg.unit_ids,
        reg.org,
        RNG.random((12, n)) < 0.9,
        RNG.integers(0, 13, n),
        RNG.integers(0, 3, n),
        (np.array([101]), np.array([202605]), np.array([1]), np.array([1]), np.array([False])),
        _remediation(7, n),
        _remediation(2, reg.org.u),
        np.where(RNG.random(n) < 0.1, RNG.random(n), np.nan),
        confirmed if with_ballots else None,
        low if with_ballots else None,
    )


def _same(a: Any, b: Any) -> None:
    if a is None or b is None:
        assert a is None
        assert b is None
    elif dataclasses.is_dataclass(a):
        for f in dataclasses.fields(a):
            _same(getattr(a, f.name), getattr(b, f.name))
    elif isinstance(a, list | tuple):
        assert len(a) == len(b)
        for x, y in zip(a, b, strict=True):
            _same(x, y)
    elif isinstance(a, np.ndarray):
        assert a.dtype == b.dtype
        assert a.shape == b.shape
        assert np.array_equal(a, b, equal_nan=a.dtype.kind in "fcM")
    else:
        assert a == b


@pytest.mark.parametrize("with_ballots", [True, False])
def test_base_comes_back_as_it_was_read(with_ballots: bool) -> None:
    base = _base(with_ballots)
    votes = np.where(RNG.random(base.org.n) < 0.2, 0.6, np.nan)  # read fresh, never packed
    back = packs.unpack_base(packs.pack_base(base), base.period, base.registry, votes)
    expected = dataclasses.replace(
        base,
        counts={k: v for k, v in base.counts.items() if k != "registry_rows"},
        confidence_low_share=votes,
    )
    _same(back, expected)


def test_registry_comes_back_as_it_was_read() -> None:
    reg = _registry()
    _same(packs.unpack_registry(packs.pack_registry(reg)), reg)


def _rows(months: list[date], tables: bool = True) -> MonthRows:
    yms = np.repeat([m.year * 100 + m.month for m in months], 4).astype(np.int32)
    k = len(yms)
    tasks = [np.tile(np.arange(4, dtype=np.int64), len(months)), yms] + [
        RNG.integers(0, 10**8, k) for _ in range(7)
    ]
    assessments = [tasks[0], yms] + [RNG.random(k) * 10 for _ in range(5)]
    indicators = [np.arange(k, dtype=np.int64), yms, RNG.random(k) * 100]
    return MonthRows(months, tasks, assessments if tables else None, indicators)


def test_months_split_pack_and_join_back() -> None:
    months = [date(2026, 3, 1), date(2026, 4, 1), date(2026, 5, 1)]
    rows = _rows(months)
    split = packs.split_months(rows)
    assert list(split) == months
    back = {m: packs.unpack_month(packs.pack_month(r), m) for m, r in split.items()}
    for m in months:
        _same(back[m], split[m])
        assert back[m].tasks is not None
        assert set(back[m].tasks[1].tolist()) == {m.year * 100 + m.month}
    _same(packs.join_months(list(back.values())), rows)


def test_a_month_is_packed_in_id_order_with_its_rows_intact() -> None:
    month = date(2026, 5, 1)
    rows = _rows([month])
    assert rows.tasks is not None
    assert rows.assessments is not None
    shuffle = np.array([2, 0, 3, 1])
    scanned = MonthRows(
        [month],
        [c[shuffle] for c in rows.tasks],
        [c[shuffle] for c in rows.assessments],
        rows.indicators,
    )
    back = packs.unpack_month(packs.pack_month(scanned), month)
    _same(back, rows)  # every column reordered alike: the rows as they were, by id


def test_a_table_missing_from_a_part_is_missing_from_the_join() -> None:
    a = _rows([date(2026, 1, 1)])
    b = _rows([date(2026, 2, 1)], tables=False)
    b_back = packs.unpack_month(packs.pack_month(b), date(2026, 2, 1))
    assert b_back.assessments is None
    joined = packs.join_months([a, b_back])
    assert joined.assessments is None
    assert joined.tasks is not None
    assert len(joined.tasks[0]) == 8


def test_an_upgrade_renames_every_kind(monkeypatch: pytest.MonkeyPatch) -> None:
    keys = (
        packs.registry_key(2026, 1),
        packs.base_key(parse_period("2026"), 1),
        packs.month_key(date(2026, 5, 1), 1),
    )
    monkeypatch.setattr(packs.packing, "MAGIC", b"EVC9")
    after = (
        packs.registry_key(2026, 1),
        packs.base_key(parse_period("2026"), 1),
        packs.month_key(date(2026, 5, 1), 1),
    )
    assert all(a.kind != b.kind and a.year == b.year for a, b in zip(keys, after, strict=True))


def test_payloads_are_compressed_and_refuse_anything_else() -> None:
    """A payload is smaller than its arrays when they repeat, comes back equal, and one of
    another format or a damaged one is refused, never misread."""
    arrays = {"ids": np.tile(np.arange(1000, dtype=np.int64), 100), "x": np.full(100_000, 0.1)}
    payload = packing.pack(arrays)
    assert len(payload) < sum(a.nbytes for a in arrays.values()) // 10
    back = packing.unpack(payload)
    assert all(np.array_equal(back[k], v) for k, v in arrays.items())
    for bad in (b"EVC2" + payload[4:], payload[:4] + b"not zstd", payload[:-10]):
        with pytest.raises(ValueError, match="not a packed array payload"):
            packing.unpack(bad)
