"""A run's cadre result rows as compressed column chunks (``result_month_chunks``,
``result_year_chunks``).

Why: stored as rows, the 200,000 cadre rows of one month cost the server 0.4 s (39 MB of
tuples plus a 200,000-entry index) however fast the client sends them — most of a month
run. The same numbers as columns of 4,096 cadres each, every column a zstd frame of a
little-endian array, are 7 MB in 49 rows and store in under 0.1 s. Readers fetch the one
chunk that holds a cadre (``first_cadre_id``/``last_cadre_id``), or a run's chunks for a
list, and decode them with numpy; joins with the registry go through ``unnest``.

Layout of one chunk row: ``n_cadres`` cadres in ``cadre_id`` order; each column below is
``zstd(array.astype(dtype).tobytes())``; ``detail`` is the explanation numbers of the
chunk, field by field (``detail_fields`` order), i.e. a ``(fields, rows)`` float8 array.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import asyncpg
import numpy as np
import numpy.typing as npt
import zstandard

CHUNK_ROWS = 4096
"""Cadres per chunk: one cadre's lookup decodes this many (about a millisecond)."""

_ZSTD_LEVEL = 1  # level 3 saves 1 % of the bytes at twice the time
_encoders = ThreadPoolExecutor(max_workers=2, thread_name_prefix="evalsvc-chunks")


@dataclass(frozen=True, slots=True)
class Layout:
    """One chunked table: its columns (name, little-endian dtype) and detail fields."""

    table: str
    columns: tuple[tuple[str, str], ...]
    detail_fields: tuple[str, ...]

    @property
    def score(self) -> str:
        return self.columns[2][0]

    def partition(self, run_id: int) -> str:
        return f"{self.table}_r{int(run_id)}"


Arrays = dict[str, npt.NDArray[Any]]
"""Decoded columns by name; ``detail`` is ``(len(detail_fields), rows)`` float8."""


def _detail_columns(values: Any, n: int, k: int) -> list[npt.NDArray[Any]]:
    """The explanation numbers as ``k`` float8 columns of ``n`` (a tuple or an (n, k))."""
    if isinstance(values, tuple):
        cols = [np.asarray(v, dtype=np.float64) for v in values]
    else:
        arr = np.asarray(values, dtype=np.float64).reshape(n, k)
        cols = [arr[:, j] for j in range(k)]
    if len(cols) != k or any(c.shape != (n,) for c in cols):
        raise ValueError(f"expected {k} detail columns of {n} values")
    return cols


def _arrays_from_columns(
    layout: Layout, columns: Mapping[str, tuple[str, Any]], n: int
) -> tuple[Arrays, list[npt.NDArray[Any]]]:
    """The layout's columns from a writer's column set (other names are ignored)."""
    arrays: Arrays = {}
    for name, dtype in layout.columns:
        arr = np.asarray(columns[name][1]).astype(dtype, copy=False)
        if arr.shape != (n,):
            raise ValueError(f"column {name}: expected {n} values, got shape {arr.shape}")
        arrays[name] = arr
    return arrays, _detail_columns(columns["detail"][1], n, len(layout.detail_fields))


def _encode_chunk(
    layout: Layout, arrays: Arrays, detail: list[npt.NDArray[Any]], lo: int, hi: int
) -> tuple[Any, ...]:
    zc = zstandard.ZstdCompressor(level=_ZSTD_LEVEL)
    ids = arrays["cadre_id"]
    encoded = [
        zc.compress(np.ascontiguousarray(arrays[name][lo:hi]).tobytes())
        for name, _ in layout.columns
    ]
    stacked = np.stack([d[lo:hi] for d in detail]) if detail else np.empty((0, hi - lo))
    encoded.append(zc.compress(stacked.astype("<f8", copy=False).tobytes()))
    return (int(ids[lo]), int(ids[hi - 1]), hi - lo, *encoded)


def _chunk_names(layout: Layout) -> list[str]:
    return [
        "first_cadre_id",
        "last_cadre_id",
        "n_cadres",
        *(n for n, _ in layout.columns),
        "detail",
    ]


async def _encoded(
    layout: Layout, arrays: Arrays, detail: list[npt.NDArray[Any]], run_id: int, n: int
) -> AsyncIterator[tuple[Any, ...]]:
    """Chunk records in order, encoded in two threads (zstd releases the GIL) while the
    previous ones are sent."""
    loop = asyncio.get_running_loop()
    bounds = [(lo, min(lo + CHUNK_ROWS, n)) for lo in range(0, n, CHUNK_ROWS)]
    pending = [
        loop.run_in_executor(_encoders, _encode_chunk, layout, arrays, detail, lo, hi)
        for lo, hi in bounds
    ]
    for fut in pending:
        yield (run_id, *(await fut))


async def write(
    conn: asyncpg.Connection,
    layout: Layout,
    run_id: int,
    columns: Mapping[str, tuple[str, Any]],
    n: int,
    *,
    carry_from: int | None = None,
    carry_except: Sequence[int] = (),
) -> int:
    """Create ``run_id``'s partition of the layout's table, load it, index it, attach it.

    Args:
        carry_from: a run whose cadres are kept too, except ``carry_except`` (subtree
            runs): merged here by ``cadre_id``.

    Returns:
        cadres in the partition.
    """
    arrays, detail = _arrays_from_columns(layout, columns, n)
    if carry_from is not None:
        base = await read_run(conn, layout, carry_from)
        keep = ~np.isin(base["cadre_id"], np.asarray(carry_except, dtype=np.int64))
        arrays = {k: np.concatenate([base[k][keep], arrays[k]]) for k in arrays}
        detail = [np.concatenate([base["detail"][j][keep], d]) for j, d in enumerate(detail)]
        n = len(arrays["cadre_id"])
    if n > 1 and np.any(np.diff(arrays["cadre_id"]) < 0):  # a run's ids come sorted
        order = np.argsort(arrays["cadre_id"], kind="stable")
        arrays = {k: v[order] for k, v in arrays.items()}
        detail = [d[order] for d in detail]
    if n > 1 and np.any(np.diff(arrays["cadre_id"]) == 0):
        raise ValueError("a cadre appears twice in one run's rows")
    name = layout.partition(run_id)
    await conn.execute(
        f"create table {name} (like {layout.table} including defaults including storage"
        " including constraints, "
        f"constraint {name}_run check (run_id = {int(run_id)}))"
    )
    await conn.copy_records_to_table(
        name,
        records=_encoded(layout, arrays, detail, run_id, n),
        columns=["run_id", *_chunk_names(layout)],
    )
    await conn.execute(f"create unique index {name}_key on {name} (first_cadre_id)")
    await conn.execute(
        f"alter table {layout.table} attach partition {name} for values in ({int(run_id)})"
    )
    return n


def _decode(layout: Layout, row: asyncpg.Record, names: Sequence[str]) -> Arrays:
    zd = zstandard.ZstdDecompressor()
    dtypes = dict(layout.columns)
    rows = int(row["n_cadres"])
    out: Arrays = {}
    for name in names:
        raw = zd.decompress(row[name])
        if name == "detail":
            stored = np.frombuffer(raw, dtype="<f8").reshape(-1, rows)
            want = len(layout.detail_fields)
            if stored.shape[0] < want:  # a run written before fields were appended: NaN
                pad = np.full((want - stored.shape[0], rows), np.nan)
                stored = np.concatenate([stored, pad])
            out[name] = stored
        else:
            out[name] = np.frombuffer(raw, dtype=dtypes[name])
    return out


def _concat(parts: list[Arrays], names: Sequence[str], layout: Layout) -> Arrays:
    if not parts:
        empty: Arrays = {n: np.empty(0, dtype=d) for n, d in layout.columns if n in names}
        if "detail" in names:
            empty["detail"] = np.empty((len(layout.detail_fields), 0), dtype="<f8")
        return empty
    return {n: np.concatenate([p[n] for p in parts], axis=-1) for n in names}


def _fields(layout: Layout, fields: Sequence[str] | None) -> list[str]:
    known = [n for n, _ in layout.columns] + ["detail"]
    if fields is None:
        return known
    wanted = ["cadre_id", *(f for f in fields if f != "cadre_id")]
    unknown = set(wanted) - set(known)
    if unknown:
        raise ValueError(f"no such chunk column(s): {sorted(unknown)}")
    return wanted


async def read_run(
    conn: asyncpg.Connection,
    layout: Layout,
    run_id: int,
    fields: Sequence[str] | None = None,
    *,
    within: tuple[int, int] | None = None,
) -> Arrays:
    """A run's cadres (or those whose chunks overlap the id range ``within``), decoded."""
    names = _fields(layout, fields)
    lo, hi = within if within is not None else (None, None)
    rows = await conn.fetch(
        f"select n_cadres, {', '.join(names)} from {layout.table} where run_id = {int(run_id)}"
        " and ($1::bigint is null or last_cadre_id >= $1)"
        " and ($2::bigint is null or first_cadre_id <= $2) order by first_cadre_id",
        lo,
        hi,
    )
    return _concat([_decode(layout, r, names) for r in rows], names, layout)


async def read_members(
    conn: asyncpg.Connection,
    layout: Layout,
    run_id: int,
    cadre_ids: npt.ArrayLike,
    fields: Sequence[str] | None = None,
) -> Arrays:
    """The given cadres' rows of a run (those it holds), in ``cadre_id`` order."""
    ids = np.unique(np.asarray(cadre_ids, dtype=np.int64))
    if ids.size == 0:
        return _concat([], _fields(layout, fields), layout)
    found = await read_run(conn, layout, run_id, fields, within=(int(ids[0]), int(ids[-1])))
    keep = np.isin(found["cadre_id"], ids)
    return {k: v[..., keep] for k, v in found.items()}


async def lookup(
    conn: asyncpg.Connection, layout: Layout, run_ids: Sequence[int], cadre_id: int
) -> dict[int, dict[str, Any]]:
    """Run id -> the cadre's row in that run (runs without it are left out).

    One chunk per run: the partitions are named by literal run ids (pruned when planned),
    each searched on its ``first_cadre_id`` index.
    """
    if not run_ids:
        return {}
    names = _fields(layout, None)
    ids = ",".join(str(int(r)) for r in run_ids)
    rows = await conn.fetch(
        f"select run_id, n_cadres, {', '.join(names)} from {layout.table} where run_id in ({ids})"
        " and first_cadre_id <= $1 and last_cadre_id >= $1",
        cadre_id,
    )
    out: dict[int, dict[str, Any]] = {}
    for row in rows:
        chunk = _decode(layout, row, names)
        at = int(np.searchsorted(chunk["cadre_id"], cadre_id))
        if at >= len(chunk["cadre_id"]) or chunk["cadre_id"][at] != cadre_id:
            continue
        record: dict[str, Any] = {n: chunk[n][at].item() for n, _ in layout.columns}
        record.update(zip(layout.detail_fields, chunk["detail"][:, at].tolist(), strict=True))
        out[int(row["run_id"])] = record
    return out
