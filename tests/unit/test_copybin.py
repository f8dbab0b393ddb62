"""Binary COPY encoding: byte layout checked against a slow struct-based reference."""

from __future__ import annotations

import struct

import numpy as np

from evalsvc.store import copybin


def reference(rows: list[tuple[int, str | None, float, bool]]) -> bytes:
    out = bytearray(copybin.HEADER)
    for i8, text, f8, flag in rows:
        out += struct.pack(">h", 4)
        out += struct.pack(">iq", 8, i8)
        if text is None:
            out += struct.pack(">i", -1)
        else:
            raw = text.encode()
            out += struct.pack(">i", len(raw)) + raw
        out += struct.pack(">id", 8, f8)
        out += struct.pack(">ib", 1, flag)
    return bytes(out + copybin.TRAILER)


def test_encode_matches_reference() -> None:
    rows = [(1, "Hà Nội", 1.5, True), (-7, None, -0.25, False), (2**40, "x", 3.0, True)]
    data = copybin.encode(
        [
            copybin.Fixed(np.array([r[0] for r in rows], np.int64), "int8"),
            copybin.Text([(r[1] or "").encode() for r in rows], empty_is_null=True),
            copybin.Fixed(np.array([r[2] for r in rows]), "float8"),
            copybin.Fixed(np.array([r[3] for r in rows]), "bool"),
        ]
    )
    assert data == reference(rows)


def test_patch_last_int8_values() -> None:
    cols = [
        copybin.Text([b"a", b"bcd"]),
        copybin.Fixed(np.array([5, 6], np.int64), "int8"),
    ]
    data, ends = copybin.encode_with_row_ends(cols)
    patched = copybin.patch_last_int8_values(data, ends, np.array([70, 80], np.int64))
    expected = copybin.encode([cols[0], copybin.Fixed(np.array([70, 80], np.int64), "int8")])
    assert patched == expected


def test_padded_and_scattered_layouts_agree() -> None:
    """Many rows (several cache-sized chunks) with text of varying length, NULLs, empty
    strings and one very long value: both layouts give the reference bytes."""
    rng = np.random.default_rng(7)
    n = 5000
    words = [b"", b"a", "Trưởng phòng".encode(), b"xyz" * 20]
    texts = [words[int(i)] for i in rng.integers(0, len(words), n)]
    ints = rng.integers(-(2**62), 2**62, n)
    floats = rng.normal(size=n)
    flags = rng.random(n) < 0.5
    rows = [
        (int(i), t.decode() if t else None, float(f), bool(b))
        for i, t, f, b in zip(ints, texts, floats, flags, strict=True)
    ]
    cols: list[copybin.Column] = [
        copybin.Fixed(ints, "int8"),
        copybin.Text(texts, empty_is_null=True),
        copybin.Fixed(floats, "float8"),
        copybin.Fixed(flags, "bool"),
    ]
    spans = [c.spans() if isinstance(c, copybin.Text) else None for c in cols]
    padded = copybin._encode_padded(cols, spans, n, header=True, trailer=True)
    scattered = copybin._encode_scattered(cols, spans, n, header=True, trailer=True)
    assert padded[0] == scattered[0] == reference(rows)
    assert (padded[1] == scattered[1]).all()
    long = copybin.encode([copybin.Text([b"x" * 5000] + [b"y"] * 999)])
    assert (
        long
        == copybin.HEADER
        + b"".join(struct.pack(">hi", 1, len(v)) + v for v in [b"x" * 5000] + [b"y"] * 999)
        + copybin.TRAILER
    )
