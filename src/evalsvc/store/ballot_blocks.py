"""Ballots stored in blocks: one row per (round, target, write) holding many 18-byte records.

A block row carries no order or time of its ballots: records are shuffled before they are
written, and the close rewrites a round as one shuffled block per target. Reading a whole
round is one query of few rows, decoded with numpy (see ``0002_ballots.sql`` for the layout).
"""

from __future__ import annotations

from typing import Any

import asyncpg
import numpy as np
import numpy.typing as npt

from evalsvc.store.ballot_copy import as_stream
from evalsvc.store.sqlfiles import queries

Q = queries("ballots")

RECORD = np.dtype([("observed", "<u8"), ("no_basis", "<u8"), ("level", "u1"), ("confidence", "u1")])
assert RECORD.itemsize == 18

_PREFIX = np.dtype(
    [
        ("nfields", ">i2"),
        ("l0", ">i4"),
        ("round_id", ">i8"),
        ("l1", ">i4"),
        ("target_id", ">i8"),
        ("l2", ">i4"),
        ("n", ">i4"),
        ("l3", ">i4"),
    ]
)
_HEADER = b"PGCOPY\n\xff\r\n\x00" + bytes(8)


def make_records(
    observed: npt.NDArray[Any],
    no_basis: npt.NDArray[Any],
    level: npt.NDArray[Any],
    confidence: npt.NDArray[Any],
) -> npt.NDArray[Any]:
    """(N,) records from (N,) bitmaps (any 64-bit integer type) and codes."""
    recs = np.empty(len(observed), RECORD)
    recs["observed"] = (
        np.asarray(observed).view(np.uint64)
        if np.asarray(observed).dtype.itemsize == 8
        else observed
    )
    recs["no_basis"] = (
        np.asarray(no_basis).view(np.uint64)
        if np.asarray(no_basis).dtype.itemsize == 8
        else no_basis
    )
    recs["level"] = level
    recs["confidence"] = confidence
    return recs


def record_bytes(observed: int, no_basis: int, level: int, confidence: int) -> bytes:
    """One record, for a single online ballot."""
    return make_records(
        np.array([observed], np.uint64),
        np.array([no_basis], np.uint64),
        np.array([level]),
        np.array([confidence]),
    ).tobytes()


async def write_blocks(
    conn: asyncpg.Connection, round_id: int, targets: npt.NDArray[np.int64], recs: npt.NDArray[Any]
) -> None:
    """Write ``recs`` (ballot i is for ``targets[i]``) as one shuffled block per target."""
    if not len(recs):
        return
    order = np.random.default_rng().permutation(len(recs))
    order = order[np.argsort(targets[order], kind="stable")]  # by target, random within
    t_sorted = targets[order]
    blob = recs[order].tobytes()
    starts = np.flatnonzero(np.r_[True, t_sorted[1:] != t_sorted[:-1]])
    counts = np.diff(np.r_[starts, len(t_sorted)])
    prefix = np.empty(len(starts), _PREFIX)
    prefix["nfields"] = 4
    prefix["l0"] = prefix["l1"] = 8
    prefix["round_id"] = round_id
    prefix["target_id"] = t_sorted[starts]
    prefix["l2"] = 4
    prefix["n"] = counts
    prefix["l3"] = counts * RECORD.itemsize
    heads = prefix.tobytes()
    width = _PREFIX.itemsize
    view = memoryview(blob)
    parts: list[bytes | memoryview] = [_HEADER]
    for g, (s, n) in enumerate(
        zip((starts * RECORD.itemsize).tolist(), (counts * RECORD.itemsize).tolist(), strict=True)
    ):
        parts.append(heads[g * width : (g + 1) * width])
        parts.append(view[s : s + n])
    parts.append(b"\xff\xff")
    await conn.copy_to_table(
        "ballots",
        source=as_stream(b"".join(parts)),
        columns=["round_id", "target_id", "n_ballots", "marks"],
        format="binary",
    )


async def read_blocks(
    conn: asyncpg.Connection, round_id: int
) -> tuple[npt.NDArray[np.int64], npt.NDArray[Any]]:
    """Every ballot of the round: (N,) target ids and (N,) records."""
    rows = await conn.fetch(Q["ballots_read"], round_id)
    if not rows:
        return np.zeros(0, np.int64), np.zeros(0, RECORD)
    counts = np.fromiter((r["n_ballots"] for r in rows), np.int64, len(rows))
    block_targets = np.fromiter((r["target_id"] for r in rows), np.int64, len(rows))
    recs = np.frombuffer(b"".join([r["marks"] for r in rows]), RECORD)
    return np.repeat(block_targets, counts), recs


async def compact_round(conn: asyncpg.Connection, round_id: int) -> None:
    """Rewrite the round as one shuffled block per target (in the close transaction)."""
    targets, recs = await read_blocks(conn, round_id)
    await conn.execute(Q["ballots_delete"], round_id)
    await write_blocks(conn, round_id, targets, recs)


def pack_bits(flags: npt.NDArray[np.bool_]) -> npt.NDArray[np.int64]:
    """(n, width ≤ 64) booleans -> (n,) signed 64-bit maps, bit m = column m."""
    packed = np.packbits(flags, axis=1, bitorder="little")
    padded = np.zeros((flags.shape[0], 8), np.uint8)
    padded[:, : packed.shape[1]] = packed
    return padded.view("<i8").reshape(-1)
