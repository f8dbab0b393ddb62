"""The vectorised CSV pieces agree with the stdlib on every cell they accept."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from evalsvc.domain.fastcsv import TextCol, parse_decimal, parse_months, split_fields

decimals = st.one_of(
    st.integers(-(10**14), 10**14).map(str),
    st.decimals(
        min_value=-(10**8), max_value=10**8, places=4, allow_nan=False, allow_infinity=False
    ).map(lambda d: format(d, "f")),
    st.sampled_from(["1e3", " 2", "nan", "", "-", ".", "1.2.3", "0x1", "12345678901234567"]),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(decimals, min_size=1, max_size=40))
def test_parse_decimal_matches_float(cells: list[str]) -> None:
    col = TextCol.from_list([c.encode() for c in cells])
    values, ok = parse_decimal(col.data, col.starts, col.lens)
    for cell, value, parsed in zip(cells, values, ok, strict=True):
        if parsed:
            assert value == float(cell), cell
        else:  # left for the Python fallback: only cells outside plain decimal notation
            plain = cell.lstrip("-").replace(".", "", 1)
            assert not (plain.isdigit() and len(plain) <= 15 and cell.count("-") <= 1), cell


def test_integers_refuse_a_decimal_point() -> None:
    col = TextCol.from_list([b"3", b"3.0", b"-2"])
    values, ok = parse_decimal(col.data, col.starts, col.lens, integer=True)
    assert ok.tolist() == [True, False, True]
    assert values[[0, 2]].tolist() == [3, -2]


def test_months() -> None:
    cells = [b"2026-05", b"2026-13", b"1999-12", b"2026-5", b"2026/05", b"2100-12"]
    col = TextCol.from_list(cells)
    months, ok = parse_months(col.data, col.starts, col.lens)
    assert ok.tolist() == [True, False, False, False, False, True]
    assert months[ok].tolist() == [202605, 210012]


def test_split_fields_finds_ragged_rows() -> None:
    buf = np.frombuffer(b"a,b,c\nd,e,f\n", np.uint8)
    spans = split_fields(buf, 3)
    assert spans is not None
    starts, ends = spans
    assert bytes(buf[starts[1, 2] : ends[1, 2]]) == b"f"
    assert split_fields(np.frombuffer(b"a,b,c\nd,e\nf,g,h,i\n", np.uint8), 3) is None


def test_runs_of_equal_values() -> None:
    values = [b"C1", b"C1", b"C10", b"C1", b"", b"", b"x" * 80, b"x" * 80, b"C1"]
    col = TextCol.from_list(values)
    runs = col.runs(max_width=64).tolist()
    assert runs == [0, 2, 3, 4, 6, 7, 8]  # long values each start a run of their own
    assert TextCol.from_list([]).runs().tolist() == []
    # every run start begins a new value, and no two consecutive runs share one
    starts = col.take(np.asarray(runs)).to_list()
    bounds = zip(runs, [*runs[1:], len(values)], strict=True)
    assert all(values[i] == values[r] for r, e in bounds for i in range(r, e))
    assert starts[:4] == [b"C1", b"C10", b"C1", b""]
