"""PostgreSQL binary COPY built straight from columns with numpy (no Python object per row).

Each row is ``int16 field count`` then, per field, ``int32 length`` and the big-endian value.
Rows are first laid out at full width in one numpy structured array (fixed-width values in
place, each text column padded to its longest value in the batch), then the padding is squeezed
out by one boolean compaction: per column one strided assignment, so the cost per row is a few
bytes' worth of vector work whatever the row count. Batches where a few very long texts would
make the padding large are scattered field by field instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

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
    spans = [c.spans() if isinstance(c, Text) else None for c in columns]
    padded = sum(n * int(s.lens.max(initial=0)) for s in spans if s is not None)
    actual = sum(int(s.lens.sum()) for s in spans if s is not None)
    if padded > PADDING_FACTOR * actual + PADDING_SLACK:
        return _encode_scattered(columns, spans, n, header=header, trailer=trailer)
    return _encode_padded(columns, spans, n, header=header, trailer=trailer)


PADDING_FACTOR = 4
PADDING_SLACK = 1 << 20
CHUNK_BYTES = 256 << 10
"""A block whose text columns, padded to their longest value, would take more than this many
times their real size (plus the slack) is encoded by scattering instead (a few very long values
among short ones)."""


def _encode_padded(
    columns: list[Column],
    spans: list[TextCol | None],
    n: int,
    *,
    header: bool,
    trailer: bool,
) -> tuple[bytes, npt.NDArray[np.int64]]:
    """Every row laid out at full width in one structured array (text padded to the longest
    value of its column), then the padding squeezed out with one boolean compaction.

    Per column this is one strided assignment (one gather for text), instead of one scatter
    per field into the output: the cost per row is a few bytes' worth of vector work.
    """
    fields: list[tuple[str, Any]] = [("n", ">i2")]
    for i, (col, span) in enumerate(zip(columns, spans, strict=True)):
        fields.append((f"l{i}", ">i4"))
        if isinstance(col, Fixed):
            fields.append((f"v{i}", _BIG_ENDIAN[col.pg_type]))
        else:
            assert span is not None
            width = int(span.lens.max(initial=0))
            if width:
                fields.append((f"v{i}", ("u1", (width,))))
    dtype = np.dtype(fields)
    row_size = np.full(n, 2, np.int64)
    lengths: list[npt.NDArray[np.int32] | int] = []
    gathers: list[tuple[TextCol, int] | None] = []
    keep: list[tuple[int, npt.NDArray[np.int64], int]] = []  # (offset, lengths, width)
    for i, (col, span) in enumerate(zip(columns, spans, strict=True)):
        if isinstance(col, Fixed):
            size = np.dtype(_BIG_ENDIAN[col.pg_type]).itemsize
            lengths.append(size)
            gathers.append(None)
            row_size += 4 + size
            continue
        assert span is not None
        lens = span.lens
        text_lengths = lens.astype(np.int32)
        if col.empty_is_null:
            text_lengths[lens == 0] = -1
        lengths.append(text_lengths)
        row_size += 4 + lens
        width = int(lens.max(initial=0))
        gathers.append((span, width) if width else None)
        if width and (lens != width).any():
            keep.append((_offset(dtype, f"v{i}"), lens, width))
    ends = np.cumsum(row_size)
    pre = len(HEADER) if header else 0
    body = int(ends[-1]) if n else 0
    out = np.empty(pre + body + (len(TRAILER) if trailer else 0), np.uint8)
    if header:
        out[:pre] = np.frombuffer(HEADER, np.uint8)
    if trailer:
        out[pre + body :] = np.frombuffer(TRAILER, np.uint8)
    # Chunks of rows small enough for the CPU cache: each field is a strided pass over the
    # chunk, which would otherwise go to memory once per field.
    chunk = max(1, CHUNK_BYTES // dtype.itemsize)
    rec = np.empty(min(n, chunk), dtype)
    raw = rec.view(np.uint8).reshape(len(rec), dtype.itemsize)
    mask = np.ones((len(rec), dtype.itemsize), np.bool_)
    steps = {w: np.arange(w) for _, _, w in keep}
    rec["n"] = len(columns)
    for i, length in enumerate(lengths):
        if isinstance(length, int):
            rec[f"l{i}"] = length
    at = pre
    for lo in range(0, n, chunk):
        hi = min(n, lo + chunk)
        m = hi - lo
        part = rec[:m]
        for i, (col, length, gather) in enumerate(zip(columns, lengths, gathers, strict=True)):
            if isinstance(col, Fixed):
                part[f"v{i}"] = col.values[lo:hi]
                continue
            assert not isinstance(length, int)
            part[f"l{i}"] = length[lo:hi]
            if gather is not None:
                span, width = gather
                index = span.starts[lo:hi, None] + np.arange(width)
                np.minimum(index, len(span.data) - 1, out=index)
                part[f"v{i}"] = span.data[index]
        size = int(ends[hi - 1]) - (int(ends[lo - 1]) if lo else 0)
        if keep:
            for offset, lens, width in keep:
                np.less(steps[width], lens[lo:hi, None], out=mask[:m, offset : offset + width])
            out[at : at + size] = raw[:m][mask[:m]]
        else:
            out[at : at + size] = raw[:m].ravel()
        at += size
    return out.tobytes(), ends + pre


def _offset(dtype: np.dtype[Any], name: str) -> int:
    fields = dtype.fields
    assert fields is not None
    return int(fields[name][1])


def _encode_scattered(
    columns: list[Column],
    spans: list[TextCol | None],
    n: int,
    *,
    header: bool,
    trailer: bool,
) -> tuple[bytes, npt.NDArray[np.int64]]:
    """Each field scattered into place (any text lengths; slower per row than padding)."""
    widths: list[npt.NDArray[np.int64] | int] = []
    texts: list[TextCol] = []
    payloads: list[
        tuple[npt.NDArray[np.uint8], npt.NDArray[np.int64] | int, npt.NDArray[np.int32]]
    ] = []
    for col, span in zip(columns, spans, strict=True):
        if isinstance(col, Fixed):
            be = np.ascontiguousarray(col.values.astype(_BIG_ENDIAN[col.pg_type]))
            size = be.dtype.itemsize
            data = be.view(np.uint8)
            lengths = np.full(n, size, np.int32)
            widths.append(size)
            payloads.append((data, size, lengths))
        else:
            assert span is not None
            lens = span.lens
            lengths = lens.astype(np.int32)
            if col.empty_is_null:
                lengths[lens == 0] = -1
            widths.append(lens)
            texts.append(span)
            payloads.append((span.data, lens, lengths))
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
            span = next(text_cols)
            total = int(width.sum())
            if total:
                packed_start = np.zeros(n, np.int64)
                np.cumsum(width[:-1], out=packed_start[1:])
                within = np.arange(total, dtype=np.int64) - np.repeat(packed_start, width)
                out[np.repeat(pos, width) + within] = data[np.repeat(span.starts, width) + within]
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
