"""PostgreSQL binary COPY built straight from columns with numpy (no Python object per row).

Each row is ``int16 field count`` then, per field, ``int32 length`` and the big-endian value.
Fixed-width columns are scattered into place with one fancy-index assignment each; text
columns (lists of UTF-8 bytes) are joined once and scattered by a repeat-based index, so the
cost per row is a handful of vectorised operations whatever the row count.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from evalsvc.domain.fastcsv import TextCol

Lengths = npt.NDArray[np.int32]
HEADER = b"PGCOPY\n\xff\r\n\x00" + b"\x00\x00\x00\x00" + b"\x00\x00\x00\x00"
TRAILER = b"\xff\xff"

_BIG_ENDIAN = {"int8": ">i8", "int4": ">i4", "int2": ">i2", "float8": ">f8", "bool": "u1"}


@dataclass(frozen=True, slots=True)
class Fixed:
    """A fixed-width column: ``pg_type`` is int8, int4, int2, float8 or bool."""

    values: npt.NDArray[np.generic]
    pg_type: str


@dataclass(frozen=True, slots=True)
class Text:
    """A text column of UTF-8 bytes (a list, or spans of one buffer); with ``empty_is_null``
    an empty value is written as NULL."""

    values: list[bytes] | TextCol
    empty_is_null: bool = False

    def spans(self) -> TextCol:
        if isinstance(self.values, TextCol):
            return self.values
        return TextCol.from_list(self.values)


Column = Fixed | Text


def encode(columns: list[Column], *, header: bool = True, trailer: bool = True) -> bytes:
    """Binary COPY data for ``len(columns[0])`` rows of these columns, in table column order."""
    return encode_with_row_ends(columns, header=header, trailer=trailer)[0]


def encode_with_row_ends(
    columns: list[Column], *, header: bool = True, trailer: bool = True
) -> tuple[bytes, npt.NDArray[np.int64]]:
    """Like :func:`encode`, also giving the offset just past each row (to patch its last field)."""
    n = len(columns[0].values)
    widths: list[npt.NDArray[np.int64] | int] = []
    texts: list[TextCol] = []
    payloads: list[
        tuple[npt.NDArray[np.uint8], npt.NDArray[np.int64] | int, npt.NDArray[np.int32]]
    ] = []
    for col in columns:
        if isinstance(col, Fixed):
            be = np.ascontiguousarray(col.values.astype(_BIG_ENDIAN[col.pg_type]))
            size = be.dtype.itemsize
            data = be.view(np.uint8)
            lengths = np.full(n, size, np.int32)
            widths.append(size)
            payloads.append((data, size, lengths))
        else:
            spans = col.spans()
            lens = spans.lens
            lengths = lens.astype(np.int32)
            if col.empty_is_null:
                lengths[lens == 0] = -1
            widths.append(lens)
            texts.append(spans)
            payloads.append((spans.data, lens, lengths))
    row_size = np.full(n, 2, np.int64)
    for w in widths:
        row_size += 4 + w
    starts = np.zeros(n, np.int64)
    if n:
        np.cumsum(row_size[:-1], out=starts[1:])
    body = int(row_size.sum()) if n else 0
    pre = len(HEADER) if header else 0
    out = np.empty(pre + body + (len(TRAILER) if trailer else 0), np.uint8)
    if header:
        out[:pre] = np.frombuffer(HEADER, np.uint8)
    if trailer:
        out[pre + body :] = np.frombuffer(TRAILER, np.uint8)
    starts += pre
    count = np.frombuffer(np.array([len(columns)], ">i2").tobytes(), np.uint8)
    _scatter_fixed(out, starts, np.broadcast_to(count, (n, 2)))
    pos = starts + 2
    text_cols = iter(texts)
    for data, width, lengths in payloads:
        _scatter_fixed(out, pos, lengths.astype(">i4").view(np.uint8).reshape(n, 4))
        pos = pos + 4
        if isinstance(width, int):
            _scatter_fixed(out, pos, data.reshape(n, width))
            pos = pos + width
        else:
            spans = next(text_cols)
            total = int(width.sum())
            if total:
                packed_start = np.zeros(n, np.int64)
                np.cumsum(width[:-1], out=packed_start[1:])
                within = np.arange(total, dtype=np.int64) - np.repeat(packed_start, width)
                out[np.repeat(pos, width) + within] = data[np.repeat(spans.starts, width) + within]
            pos = pos + width
    return out.tobytes(), pos


def patch_last_int8_values(
    data: bytes, row_ends: npt.NDArray[np.int64], values: npt.NDArray[np.int64]
) -> bytes:
    """A copy of ``data`` whose rows end in these int8 values."""
    out = np.frombuffer(data, np.uint8).copy()
    block = values.astype(">i8").view(np.uint8).reshape(len(values), 8)
    _scatter_fixed(out, row_ends - 8, block)
    return out.tobytes()


def _scatter_fixed(
    out: npt.NDArray[np.uint8], pos: npt.NDArray[np.int64], block: npt.NDArray[np.uint8]
) -> None:
    width = block.shape[1]
    out[pos[:, None] + np.arange(width)] = block
