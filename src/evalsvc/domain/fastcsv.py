"""Vectorised CSV reading for large uploads: field spans and numbers parsed with numpy.

A block of whole lines without quote characters is split by locating every comma and line
break at once; fields stay as (start, end) offsets into the block, so no Python object is made
per field. Numbers in plain decimal notation (``-12.5``) are parsed arithmetically; anything
else (exponents, spaces, ``nan``) falls back to Python's ``float``/``int`` for those cells only,
so the results equal the stdlib's. Blocks with quotes go through the ``csv`` module instead.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

Bytes = npt.NDArray[np.uint8]
Offsets = npt.NDArray[np.int64]
COMMA, NEWLINE, DOT, MINUS, ZERO, NINE = 44, 10, 46, 45, 48, 57
MAX_DIGITS = 15  # float64 holds every integer of up to 15 decimal digits exactly


@dataclass(frozen=True, slots=True)
class TextCol:
    """A text column as spans of one byte buffer: value i is ``data[start:start + len]``."""

    data: Bytes
    starts: Offsets
    lens: Offsets

    @classmethod
    def from_list(cls, values: list[bytes]) -> TextCol:
        lens = np.fromiter(map(len, values), np.int64, len(values))
        starts = np.zeros(len(values), np.int64)
        if len(values):
            np.cumsum(lens[:-1], out=starts[1:])
        return cls(np.frombuffer(b"".join(values) or b"\0", np.uint8), starts, lens)

    @classmethod
    def constant(cls, value: bytes, n: int) -> TextCol:
        data = np.frombuffer(value or b"\0", np.uint8)
        return cls(data, np.zeros(n, np.int64), np.full(n, len(value), np.int64))

    def __len__(self) -> int:
        return len(self.lens)

    def value(self, i: int) -> bytes:
        start = int(self.starts[i])
        return self.data[start : start + int(self.lens[i])].tobytes()

    def to_list(self) -> list[bytes]:
        raw = self.data.tobytes()
        return [
            raw[s : s + n] for s, n in zip(self.starts.tolist(), self.lens.tolist(), strict=True)
        ]

    def runs(self, max_width: int = 64) -> npt.NDArray[np.int64]:
        """Indices where a run of equal consecutive values starts (always includes 0).

        Values longer than ``max_width`` bytes are each taken as a run of their own.
        """
        n = len(self.lens)
        if n == 0:
            return np.zeros(0, np.int64)
        width = int(min(self.lens.max(), max_width))
        cells, _ = _cells(self.data, self.starts, np.minimum(self.lens, width), width)
        differs = (self.lens[1:] != self.lens[:-1]) | (self.lens[1:] > width)
        if width:
            differs |= (cells[1:] != cells[:-1]).any(1)
        runs: npt.NDArray[np.int64] = np.r_[0, np.flatnonzero(differs) + 1].astype(np.int64)
        return runs

    def take(self, index: npt.NDArray[np.intp]) -> TextCol:
        return TextCol(self.data, self.starts[index], self.lens[index])


def split_fields(buf: Bytes, ncol: int) -> tuple[Offsets, Offsets] | None:
    """Start and end offsets, shape (rows, ncol), of the fields of whole ``\\n``-ended lines.

    Returns None when some line has another number of fields (the caller reports which).
    """
    newline = buf == NEWLINE
    seps = np.flatnonzero(newline | (buf == COMMA))
    if len(seps) % ncol:
        return None
    n = len(seps) // ncol
    ends = seps.reshape(n, ncol)
    # Every row ends with a line break and holds no other: as many line breaks as rows, each
    # the last separator of its row.
    if n and (np.count_nonzero(newline) != n or not newline[ends[:, -1]].all()):
        return None
    flat = np.empty_like(seps)
    if n:
        flat[0] = 0
        np.add(seps[:-1], 1, out=flat[1:])
    starts = flat.reshape(n, ncol)
    return starts, ends


def _cells(
    buf: Bytes, starts: Offsets, lens: Offsets, width: int
) -> tuple[Bytes, npt.NDArray[np.bool_]]:
    cols = np.arange(width)
    valid = cols < lens[:, None]
    idx = starts[:, None] + cols
    np.minimum(idx, len(buf) - 1, out=idx)
    cells = buf[idx]
    cells *= valid  # bytes past the end of a cell read as 0
    return cells, valid


def parse_decimal(
    buf: Bytes, starts: Offsets, lens: Offsets, *, integer: bool = False
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.bool_]]:
    """Plain decimals (``-?digits[.digits]``) as float64, and a mask of the cells parsed.

    Cells not parsed here (empty, exponent, spaces, too many digits) are left for the caller.
    The digits are accumulated position by position (Horner's rule, exact in int64 for up to
    15 digits), then divided once by a power of ten: the correctly rounded result, as
    Python's ``float`` gives.
    """
    n = len(lens)
    width = int(min(lens.max(initial=0), MAX_DIGITS + 2))
    if n == 0 or width == 0:
        return np.zeros(n, np.float64), np.zeros(n, np.bool_)
    last = len(buf) - 1
    if width == 1:  # one character each (e.g. counts): a digit or not
        digit = buf[np.minimum(starts, last)] - np.uint8(ZERO)
        ok = (lens == 1) & (digit <= 9)
        return digit.astype(np.float64), ok
    whole = np.zeros(n, np.int64)
    ndigits = np.zeros(n, np.int64)
    frac = np.zeros(n, np.int64)
    seen_dot = np.zeros(n, np.bool_)
    ndots = np.zeros(n, np.int64)
    bad = lens > width
    minus = np.zeros(n, np.bool_)
    index = starts.copy()
    for j in range(width):
        ch = buf[np.minimum(index, last)]
        index += 1
        valid = lens > j
        digit = ch - np.uint8(ZERO)
        is_digit = valid & (digit <= 9)
        is_dot = valid & (ch == DOT)
        whole = np.where(is_digit, whole * 10 + digit, whole)
        ndigits += is_digit
        frac += is_digit & seen_dot
        seen_dot |= is_dot
        ndots += is_dot
        other = valid & ~(is_digit | is_dot)
        if j == 0:
            minus = other & (ch == MINUS)
            other &= ~minus
        bad |= other
    ok = ~bad & (ndigits > 0) & (ndigits <= MAX_DIGITS) & (ndots <= (0 if integer else 1))
    value = whole.astype(np.float64) / _POW10[np.minimum(frac, MAX_DIGITS)]
    np.negative(value, out=value, where=minus)
    return value, ok


_POW10 = 10.0 ** np.arange(MAX_DIGITS + 1)


def parse_months(
    buf: Bytes, starts: Offsets, lens: Offsets
) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.bool_]]:
    """``YYYY-MM`` cells as yyyymm ints (2000-01 .. 2100-12) and a mask of the valid ones."""
    n = len(lens)
    if n == 0:
        return np.zeros(0, np.int32), np.zeros(0, np.bool_)
    ch, _ = _cells(buf, starts, np.minimum(lens, 7), 7)
    d = ch.astype(np.int32) - ZERO
    digits = (d[:, [0, 1, 2, 3, 5, 6]] >= 0) & (d[:, [0, 1, 2, 3, 5, 6]] <= 9)
    year = d[:, 0] * 1000 + d[:, 1] * 100 + d[:, 2] * 10 + d[:, 3]
    month = d[:, 5] * 10 + d[:, 6]
    ok = (
        (lens == 7)
        & digits.all(1)
        & (ch[:, 4] == MINUS)
        & (year >= 2000)
        & (year <= 2100)
        & (month >= 1)
        & (month <= 12)
    )
    return np.where(ok, year * 100 + month, 0).astype(np.int32), ok


def pack_tokens(
    buf: Bytes, starts: Offsets, lens: Offsets, width: int = 6
) -> npt.NDArray[np.int64]:
    """Short cells, lower-cased, packed into one int64 each (longer cells get -1)."""
    ch, _ = _cells(buf, starts, np.minimum(lens, width), width)
    lower = np.where((ch >= 65) & (ch <= 90), ch + 32, ch).astype(np.int64)
    packed = (lower << (8 * np.arange(width))).sum(1)
    return np.where(lens <= width, packed, -1)


def pack_token(token: bytes) -> int:
    return sum(b << (8 * i) for i, b in enumerate(token.lower()))
