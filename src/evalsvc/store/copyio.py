"""Binary COPY straight between PostgreSQL and numpy arrays (no Python tuples).

PostgreSQL's binary COPY format is a header, then per row an ``int16`` field count and per
field an ``int32`` length and the big-endian value, then a ``-1`` trailer
(https://www.postgresql.org/docs/current/sql-copy.html). When every column of a batch has
one width (fixed-size scalars, ``bytea`` of one length per batch, one constant ``text``)
and no NULLs, each row has the same size, so a numpy structured dtype describes the whole
payload: writing is one ``tobytes()``, reading one ``frombuffer``. Measured here: 200,000
rows written in about 0.13 s against 1.4 s with ``copy_records_to_table`` of tuples.

Batches of different row widths (e.g. two forms with different item counts) are laid out
in any given row order by :func:`interleave`.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from typing import Any, Final

import asyncpg
import numpy as np
import numpy.typing as npt

SIGNATURE: Final = b"PGCOPY\n\xff\r\n\x00"
HEADER: Final = SIGNATURE + b"\x00\x00\x00\x00" + b"\x00\x00\x00\x00"
TRAILER: Final = b"\xff\xff"
PG_EPOCH_DAYS: Final = 10957  # 2000-01-01 in days since 1970-01-01

# PostgreSQL type name -> big-endian numpy dtype of its binary form.
PG_TYPES: Final[dict[str, str]] = {
    "int2": ">i2",
    "int4": ">i4",
    "int8": ">i8",
    "float4": ">f4",
    "float8": ">f8",
    "bool": "?",
    "date": ">i4",
}

Column = tuple[str, Any]
"""``(pg_type, values)``: a scalar type with ``(n,)`` values or one scalar; ``"bytea"`` with
an ``(n, ...)`` array whose rows are stored raw (one width per batch); ``"text"`` with one
``str`` for every row."""


def _dtype(types: Sequence[str]) -> np.dtype[Any]:
    fields: list[tuple[str, str]] = [("n", ">i2")]
    for i, t in enumerate(types):
        fields += [(f"l{i}", ">i4"), (f"v{i}", PG_TYPES[t])]
    return np.dtype(fields)


def _to_pg(values: npt.ArrayLike, pg_type: str) -> npt.NDArray[Any]:
    arr = np.asarray(values)
    if pg_type == "date":
        return arr.astype("datetime64[D]").astype(np.int64) - PG_EPOCH_DAYS
    return arr


def _raw(values: Any, n: int) -> npt.NDArray[np.uint8]:
    """The bytes of each row of a ``bytea`` column as an ``(n, width)`` uint8 array."""
    arr = np.asarray(values)
    if arr.dtype.kind == "f":
        arr = arr.astype("<f8")  # floats travel as little-endian float8 (frombuffer "<f8")
    arr = np.ascontiguousarray(arr)
    if arr.shape[:1] != (n,):
        raise ValueError(f"bytea column has {arr.shape[:1]} rows, expected {n}")
    return arr.view(np.uint8).reshape(n, -1) if arr.size else np.zeros((n, 0), np.uint8)


def rows(columns: Sequence[Column], n: int) -> npt.NDArray[Any]:
    """The ``n`` rows of a batch (without header or trailer) as one structured array."""
    fields: list[tuple[str, Any]] = [("n", ">i2")]
    cells: list[tuple[str, Any]] = []
    for i, (t, values) in enumerate(columns):
        cell: Any
        if t == "bytea":
            cell = _raw(values, n)
            width = cell.shape[1]
            value_dtype: Any = ("u1", (width,))
        elif t == "text":
            cell = str(values).encode()
            width = len(cell)
            value_dtype = f"S{width}"
        else:
            width = np.dtype(PG_TYPES[t]).itemsize
            cell = _to_pg(values, t)
            value_dtype = PG_TYPES[t]
        fields.append((f"l{i}", ">i4"))
        cells.append((f"l{i}", width))
        if width:  # an empty bytea or text is its length word alone
            fields.append((f"v{i}", value_dtype))
            cells.append((f"v{i}", cell))
    rec = np.empty(n, dtype=np.dtype(fields))
    rec["n"] = len(columns)
    for name, value in cells:
        rec[name] = value
    return rec


def encode(columns: Sequence[Column], n: int) -> bytes:
    """A binary COPY payload of ``n`` rows from ``(pg_type, values)`` columns.

    Scalars broadcast (e.g. the run id). No NULLs: store NaN for a missing float.
    """
    return HEADER + rows(columns, n).tobytes() + TRAILER


def interleave(batches: Sequence[tuple[npt.NDArray[np.intp], npt.NDArray[Any]]], n: int) -> bytes:
    """Rows (no header, no trailer) whose row ``positions[k]`` is ``batch[k]`` (from :func:`rows`).

    Batches may have different row widths; each batch's ``positions`` must be increasing and
    all of them together a permutation of ``0 .. n-1``. The payload is the join of one slice
    per run of consecutive rows from the same batch (no per-row Python).
    """
    owner = np.full(n, -1, np.intp)
    rank = np.empty(n, np.intp)
    for b, (positions, batch) in enumerate(batches):
        if len(positions) != len(batch) or (np.diff(positions) <= 0).any():
            raise ValueError("interleave: positions must be increasing, one per row")
        owner[positions] = b
        rank[positions] = np.arange(len(positions))
    if (owner < 0).any():
        raise ValueError("interleave: positions do not cover every row")
    starts = np.flatnonzero(np.r_[True, owner[1:] != owner[:-1]]) if n else np.zeros(0, np.intp)
    ends = np.r_[starts[1:], n]
    raw = [memoryview(batch.tobytes()) for _, batch in batches]
    sizes = [batch.dtype.itemsize for _, batch in batches]
    parts: list[memoryview] = []
    for b, first, count in zip(
        owner[starts].tolist(), rank[starts].tolist(), (ends - starts).tolist(), strict=True
    ):
        size = sizes[b]
        parts.append(raw[b][first * size : (first + count) * size])
    return b"".join(parts)


async def _once(payload: bytes) -> AsyncIterator[bytes]:
    yield payload  # a ``copy_to_table`` source (plain bytes would be taken for a path)


async def write_payload(
    conn: asyncpg.Connection, table: str, column_names: Sequence[str], payload: bytes
) -> None:
    """Send a whole binary COPY ``payload`` (from :func:`encode`) to ``table``."""
    await conn.copy_to_table(
        table, source=_once(payload), columns=list(column_names), format="binary"
    )


async def write_parts(
    conn: asyncpg.Connection,
    table: str,
    column_names: Sequence[str],
    make_rows: Callable[[int], bytes],
    n_parts: int,
) -> None:
    """One binary COPY into ``table`` of the rows ``make_rows(0) + ... + make_rows(n_parts-1)``.

    Each part is built in a worker thread one part ahead of the one being sent, so the
    server stores part k while part k+1 is computed (numpy releases the GIL): on two cores
    the building hides behind the server's work instead of adding to it.
    """

    async def source() -> AsyncIterator[bytes]:
        yield HEADER
        pending = asyncio.ensure_future(asyncio.to_thread(make_rows, 0)) if n_parts else None
        try:
            for k in range(n_parts):
                assert pending is not None
                part = await pending
                pending = (
                    asyncio.ensure_future(asyncio.to_thread(make_rows, k + 1))
                    if k + 1 < n_parts
                    else None
                )
                yield part
        finally:
            if pending is not None:  # the COPY failed: let the worker finish, then drop it
                await asyncio.wait([pending])
        yield TRAILER

    await conn.copy_to_table(table, source=source(), columns=list(column_names), format="binary")


async def write(
    conn: asyncpg.Connection,
    table: str,
    columns: Mapping[str, Column],
    n: int,
    *,
    freeze: bool = False,
    chunk: int = 25_000,
) -> int:
    """Append ``n`` rows to ``table`` with one binary COPY; returns ``n``.

    Args:
        conn: a connection (inside the caller's transaction, if any).
        table: target table.
        columns: column name -> ``(pg_type, values)``; values are ``(n,)`` or scalars
            (``"bytea"``: ``(n, k)`` arrays, floats stored as ``k`` little-endian float8).
        n: number of rows.
        freeze: ``COPY ... FREEZE`` (the table was created in this transaction).
        chunk: rows per message; encoding the next one overlaps the server parsing this one.
    """
    if n == 0:
        return 0
    cols = list(columns.values())

    async def parts() -> AsyncIterator[bytes]:
        yield HEADER
        for lo in range(0, n, chunk):
            hi = min(n, lo + chunk)
            yield rows([(t, _slice(v, lo, hi)) for t, v in cols], hi - lo).tobytes()
        yield TRAILER

    await conn.copy_to_table(
        table, source=parts(), columns=list(columns), format="binary", freeze=freeze
    )
    return n


def _slice(values: Any, lo: int, hi: int) -> Any:
    """Rows ``lo:hi`` of a column; scalars and ``text`` constants apply to every row."""
    if isinstance(values, str) or np.ndim(values) == 0:
        return values
    return values[lo:hi]


def decode(payload: bytes, types: Sequence[str]) -> dict[str, npt.NDArray[Any]]:
    """Columns ``c0, c1, ...`` of a binary COPY payload of fixed-width NOT NULL columns.

    Raises:
        ValueError: the payload has NULLs, an unexpected type width or header extension.
    """
    if not payload.startswith(SIGNATURE):
        raise ValueError("not a binary COPY payload")
    ext = int.from_bytes(payload[15:19], "big")
    body = memoryview(payload)[19 + ext : len(payload) - len(TRAILER)]
    dtype = _dtype(types)
    if len(body) % dtype.itemsize:
        raise ValueError("binary COPY rows are not fixed-width (a NULL or a variable type?)")
    rec = np.frombuffer(body, dtype=dtype)
    if rec.size and np.any(rec["n"] != len(types)):
        raise ValueError("binary COPY rows have an unexpected number of fields")
    out: dict[str, npt.NDArray[Any]] = {}
    for i, t in enumerate(types):
        if rec.size and np.any(rec[f"l{i}"] != np.dtype(PG_TYPES[t]).itemsize):
            raise ValueError(f"column {i}: NULL or unexpected width in binary COPY")
        v = rec[f"v{i}"]
        if t == "date":
            out[f"c{i}"] = (v.astype(np.int64) + PG_EPOCH_DAYS).astype("datetime64[D]")
        else:
            out[f"c{i}"] = v.astype(v.dtype.newbyteorder("="))
    return out


async def read_payload(conn: asyncpg.Connection, query: str, *args: object) -> bytes:
    """The raw binary COPY output of ``query`` (for rows of variable width)."""
    chunks: list[bytes] = []

    async def sink(chunk: bytes) -> None:
        chunks.append(chunk)

    await conn.copy_from_query(query, *args, output=sink, format="binary")
    return b"".join(chunks)


async def read(
    conn: asyncpg.Connection, query: str, types: Sequence[str], *args: object
) -> list[npt.NDArray[Any]]:
    """Run ``query`` (whose columns have ``types``, all NOT NULL) into numpy arrays.

    Use ``coalesce`` in the query for nullable columns.
    """
    cols = decode(await read_payload(conn, query, *args), types)
    return [cols[f"c{i}"] for i in range(len(types))]
