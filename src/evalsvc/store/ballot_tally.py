"""The tally of a closing round: one binary COPY of its ballots, counted with numpy, stored.

Scoring and remediation later read ``ballot_tallies`` (or the ``ballot_flags`` view) only, never the
raw ballots. The counting rules are those of :mod:`evalsvc.domain.ballots`, applied to
arrays with the same exact integer comparisons.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import asyncpg
import numpy as np
import numpy.typing as npt

from evalsvc.domain.ballots import MAX_ELIGIBLE
from evalsvc.store import copyio
from evalsvc.store.ballot_blocks import BlockReader, pack_bits
from evalsvc.store.sqlfiles import queries

Q = queries("ballots")

I32 = npt.NDArray[np.int32]
I64 = npt.NDArray[np.int64]
U64 = npt.NDArray[np.uint64]
BoolArr = npt.NDArray[np.bool_]

# Counting adds bitmaps whose bits are spread into 8 byte-wide lanes (bit j + 8l of a ballot
# lands in lane l of pass j), so a run of at most 255 ballots cannot overflow a lane.
_LANES = np.uint64(0x0101010101010101)
_RUN = 255
# Answers as lanes: lane 0 counts ballots, lanes 1-4 levels KHT..HTXS, lanes 5-7 confidence
# low/normal/high; index = level * 4 + confidence (blank = 0 has no lane of its own).
_ANSWERS = np.array(
    [
        1 | (((1 << (8 * lv)) if lv else 0) | ((1 << (8 * (4 + cf))) if cf else 0))
        for lv in range(5)
        for cf in range(4)
    ],
    np.uint64,
)


@dataclass(frozen=True, slots=True)
class Counts:
    """Per-target counts. Shapes: T targets, B = bits counted (≤ 64).

    valid (T,), observed (T, B), no_basis (T, B), levels (T, 5) with column 0 = blank and
    1..4 = KHT, HT, HTT, HTXS, confidence (T, 4) with column 0 = blank, 1 low, 2 normal, 3 high.
    """

    valid: I32
    observed: I32
    no_basis: I32
    levels: I32
    confidence: I32


def _runs(sizes: I64) -> tuple[I64, npt.NDArray[np.intp]]:
    """Cut blocks of ``sizes`` ballots into runs of at most 255: (run starts, run's block)."""
    starts = np.cumsum(sizes) - sizes
    per_block = (sizes + _RUN - 1) // _RUN
    block = np.repeat(np.arange(len(sizes)), per_block)
    first = np.cumsum(per_block) - per_block
    run_starts = starts[block] + _RUN * (np.arange(len(block)) - first[block])
    return run_starts, block


def _lane_sums(values: U64, run_starts: I64) -> npt.NDArray[np.uint8]:
    """(R, 8): lane l of the sum of each run (exact: a run has at most 255 ballots)."""
    sums = np.add.reduceat(values, run_starts).astype("<u8")
    return sums.view(np.uint8).reshape(len(run_starts), 8)


def count_blocks(
    n_targets: int,
    block_target: npt.NDArray[np.intp],
    sizes: I64,
    observed: U64,
    no_basis: U64,
    level: npt.NDArray[np.integer[Any]],
    confidence: npt.NDArray[np.integer[Any]],
    n_bits: int,
) -> Counts:
    """Count ballots per target and item.

    Args:
        n_targets: T.
        block_target: (K,) index in [0, T) of each block's target (several blocks may share one).
        sizes: (K,) ballots per block (> 0); block k holds the next ``sizes[k]`` ballots.
        observed, no_basis: (N,) bitmaps, bit m = item m of the target's form.
        level: (N,) 0..4; confidence: (N,) 0..3.
        n_bits: highest item count of any form (≤ 64).

    Same as :func:`run_sums` over all blocks then :func:`sum_runs` (the tally does the first
    step batch by batch while the ballots arrive).
    """
    per_run, run_block = run_sums(sizes, observed, no_basis, level, confidence, n_bits)
    return sum_runs(n_targets, np.asarray(block_target, np.intp)[run_block], per_run, n_bits)


def run_sums(
    sizes: I64,
    observed: U64,
    no_basis: U64,
    level: npt.NDArray[np.integer[Any]],
    confidence: npt.NDArray[np.integer[Any]],
    n_bits: int,
) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.intp]]:
    """Counts per run of ≤ 255 ballots of the same block: ((R, 2·B + 8) counts, (R,) block).

    Columns: observed bits 0..B-1, no-basis bits 0..B-1, then 8 answer lanes (ballots,
    KHT, HT, HTT, HTXS, low, normal, high). Per bitmap, 8 passes (shift by j, keep one bit per
    byte, ``add.reduceat`` over runs) give the count of bits j, j+8, ... per run as byte lanes;
    the answers are one more pass over one-hot lanes. About 17 vectorised passes over N, no
    N-sized index arrays.
    """
    sizes = np.asarray(sizes, np.int64)
    n = int(sizes.sum())
    if len(observed) != n or len(no_basis) != n or len(level) != n or len(confidence) != n:
        raise ValueError(f"blocks hold {n} ballots, got {len(observed)} records")
    if (np.asarray(level) > 4).any() or (np.asarray(confidence) > 3).any():
        raise ValueError("a ballot has an unknown level or confidence code")
    n_bits = max(0, min(64, n_bits))
    run_starts, run_block = _runs(sizes)
    n_runs = len(run_starts)
    per_run = np.zeros((n_runs, 2 * n_bits + 8), np.uint8)
    if not n_runs:
        return per_run, run_block
    scratch = np.empty(n, np.uint64)
    sums = np.empty((n_runs, 8), np.uint64)  # [run, pass j]: lane l = count of bit j + 8l
    for b, bitmap in enumerate((observed, no_basis)):
        bits = np.ascontiguousarray(bitmap, dtype=np.uint64)
        for j in range(8):
            np.right_shift(bits, np.uint64(j), out=scratch)
            np.bitwise_and(scratch, _LANES, out=scratch)
            np.add.reduceat(scratch, run_starts, out=sums[:, j])
        del bits
        lanes = sums.astype("<u8").view(np.uint8).reshape(n_runs, 8, 8)  # [run, j, l]
        per_bit = lanes.transpose(0, 2, 1).reshape(n_runs, 64)  # column 8l + j = bit j + 8l
        per_run[:, b * n_bits : (b + 1) * n_bits] = per_bit[:, :n_bits]
    code = np.asarray(level, np.uint8) * np.uint8(4) + np.asarray(confidence, np.uint8)
    np.take(_ANSWERS, code, out=scratch)
    per_run[:, 2 * n_bits :] = _lane_sums(scratch, run_starts)
    return per_run, run_block


def sum_runs(
    n_targets: int, run_target: npt.NDArray[np.intp], per_run: npt.NDArray[np.uint8], n_bits: int
) -> Counts:
    """Per-target counts from per-run counts (:func:`run_sums`); ``run_target`` in [0, T)."""
    totals = np.bincount(run_target, weights=per_run[:, 2 * n_bits], minlength=n_targets)
    if len(totals) and totals.max() > MAX_ELIGIBLE:
        raise ValueError(f"a target has more than {MAX_ELIGIBLE} ballots")
    # Runs of one target may be scattered over several blocks; uint16 sums are exact: every
    # column is at most the target's ballots, checked ≤ 65,535 just above.
    out = np.zeros((n_targets, 2 * n_bits + 8), np.int32)
    n_runs = len(run_target)
    if n_runs and np.bincount(run_target, minlength=n_targets).max() == 1:  # no sums needed
        out[run_target] = per_run
    elif n_runs:
        order = np.argsort(run_target, kind="stable")
        sorted_target = run_target[order]
        heads = np.flatnonzero(np.r_[True, sorted_target[1:] != sorted_target[:-1]])
        out[sorted_target[heads]] = np.add.reduceat(per_run[order], heads, axis=0, dtype=np.uint16)
    answers = out[:, 2 * n_bits :]
    valid = answers[:, 0].copy()
    levels = np.empty((n_targets, 5), np.int32)
    levels[:, 1:] = answers[:, 1:5]
    levels[:, 0] = valid - levels[:, 1:].sum(axis=1)
    conf = np.empty((n_targets, 4), np.int32)
    conf[:, 1:] = answers[:, 5:8]
    conf[:, 0] = valid - conf[:, 1:].sum(axis=1)
    return Counts(valid, out[:, :n_bits], out[:, n_bits : 2 * n_bits], levels, conf)


@dataclass(frozen=True, slots=True)
class Decisions:
    """Per target: quorum (T,), low confidence (T,), escalated (T,); per item (T, B) flags."""

    quorum: BoolArr
    confirmed: BoolArr
    watch: BoolArr
    low_confidence: BoolArr
    escalated: BoolArr


def decide(counts: Counts, eligible: I64, n_items: I64, k_min: int) -> Decisions:
    """DOMAIN part 4 on arrays (see :mod:`evalsvc.domain.ballots` for the scalar rules).

    Args:
        eligible: (T,) eligible voters per target; n_items: (T,) items of each target's form.
    """
    valid = counts.valid  # int32: every count ≤ 65,535, so 3x fits
    quorum = (3 * valid >= 2 * eligible) & (valid >= k_min)
    width = counts.observed.shape[1]
    in_form = np.arange(width)[None, :] < n_items[:, None]
    rated = valid[:, None] - counts.no_basis
    observed = counts.observed
    live = quorum[:, None] & in_form & (rated > 0)
    confirmed = live & (2 * observed > rated)
    watch = live & ~confirmed & (3 * observed > rated)
    low = counts.confidence[:, 1]
    low_confidence = quorum & (valid > 0) & (2 * low > valid)
    escalated = quorum & (valid > 0) & (3 * low >= 2 * valid)
    return Decisions(quorum, confirmed, watch, low_confidence, escalated)


@dataclass(frozen=True, slots=True)
class FormItems:
    codes: list[str]
    groups: list[int]


_BATCH = 4 << 20  # bytes of ballots parsed and counted at a time while the rest arrives
_PART = 20_000  # targets per part of the tally COPY (see copyio.write_parts)
_TALLY_COLUMNS = [
    "round_id",
    "target_id",
    "form",
    "eligible",
    "valid",
    "quorum",
    "observed",
    "no_basis",
    "level_kht",
    "level_ht",
    "level_htt",
    "level_htxs",
    "level_blank",
    "confidence_low",
    "confidence_normal",
    "confidence_high",
    "confidence_blank",
    "low_confidence",
    "escalated",
    "confirmed",
    "watch",
]


async def tally_round(
    conn: asyncpg.Connection, round_id: int, k_min: int, forms: dict[str, FormItems]
) -> None:
    """Count the round's ballots and store ``ballot_tallies`` (flags as item bitmaps).

    Runs inside the close transaction, with the round row locked. Three round trips: the
    targets (fixed-width COPY out), the ballots (:func:`read_round`), the tallies (one binary
    COPY in target order, so both indexes of ``ballot_tallies`` are appended to, not split).
    """
    target_ids, form_of, eligible = await copyio.read(
        conn, Q["round_targets_tally"], ["int8", "bool", "int4"], round_id
    )
    target_ids = target_ids.astype(np.int64)
    eligible = eligible.astype(np.int64)  # form_of: True = leader form
    n_leader, n_staff = len(forms["leader"].codes), len(forms["staff"].codes)
    n_items = np.where(form_of, n_leader, n_staff).astype(np.int64)

    counts = await _count_round(conn, round_id, target_ids, max(n_leader, n_staff, 1))
    widths = {True: n_leader, False: n_staff}

    def rows(part: int) -> bytes:
        """The tally rows of targets ``lo .. hi-1``, in target order (both forms interleaved)."""
        lo, hi = part * _PART, min((part + 1) * _PART, len(target_ids))
        part_counts = Counts(
            counts.valid[lo:hi],
            counts.observed[lo:hi],
            counts.no_basis[lo:hi],
            counts.levels[lo:hi],
            counts.confidence[lo:hi],
        )
        decisions = decide(part_counts, eligible[lo:hi], n_items[lo:hi], k_min)
        batches = []
        for is_leader in (True, False):
            sel = np.flatnonzero(form_of[lo:hi] == is_leader)
            if len(sel):
                batches.append(
                    (
                        sel,
                        _tally_rows(
                            round_id,
                            "leader" if is_leader else "staff",
                            sel,
                            target_ids[lo:hi],
                            eligible[lo:hi],
                            part_counts,
                            decisions,
                            widths[is_leader],
                        ),
                    )
                )
        return copyio.interleave(batches, hi - lo)

    n_parts = -(-len(target_ids) // _PART)
    if n_parts:
        await copyio.write_parts(conn, "ballot_tallies", _TALLY_COLUMNS, rows, n_parts)


async def _count_round(
    conn: asyncpg.Connection, round_id: int, target_ids: I64, n_bits: int
) -> Counts:
    """Read and count the round's ballots at once: every ~4 MB received goes to one worker
    thread that parses it and computes its run sums while the server sends the rest."""
    reader = BlockReader()
    parts: list[tuple[npt.NDArray[np.uint8], I64]] = []

    def work(data: bytes) -> None:
        blocks = reader.feed(data)
        if len(blocks.sizes):
            recs = blocks.records
            per_run, run_block = run_sums(
                blocks.sizes,
                recs["observed"],
                recs["no_basis"],
                recs["level"],
                recs["confidence"],
                n_bits,
            )
            parts.append((per_run, blocks.targets[run_block]))

    loop = asyncio.get_running_loop()
    futures: list[asyncio.Future[None]] = []
    received: list[bytes] = []
    size = 0

    async def sink(chunk: bytes) -> None:
        nonlocal size
        received.append(chunk)
        size += len(chunk)
        if size >= _BATCH:
            futures.append(loop.run_in_executor(worker, work, b"".join(received)))
            received.clear()
            size = 0

    with ThreadPoolExecutor(max_workers=1) as worker:  # one worker: pieces stay in order
        try:
            await conn.copy_from_query(Q["ballots_read"], round_id, output=sink, format="binary")
            futures.append(loop.run_in_executor(worker, work, b"".join(received)))
        finally:
            await asyncio.gather(*futures, return_exceptions=True)
        for future in futures:
            future.result()  # raise the first parse error, if any
    reader.close()
    per_run = (
        np.concatenate([p for p, _ in parts]) if parts else np.zeros((0, 2 * n_bits + 8), np.uint8)
    )
    run_target = np.concatenate([t for _, t in parts]) if parts else np.zeros(0, np.int64)
    index = np.searchsorted(target_ids, run_target)
    clipped = np.minimum(index, max(len(target_ids) - 1, 0))
    if len(run_target) and (not len(target_ids) or (target_ids[clipped] != run_target).any()):
        raise ValueError("the round holds ballots for a cadre that is not one of its targets")
    return sum_runs(len(target_ids), index, per_run, n_bits)


def _tally_rows(
    round_id: int,
    form: str,
    sel: npt.NDArray[np.intp],
    target_ids: I64,
    eligible: I64,
    counts: Counts,
    decisions: Decisions,
    width: int,
) -> npt.NDArray[Any]:
    levels, conf = counts.levels[sel], counts.confidence[sel]
    return copyio.rows(
        [
            ("int8", round_id),
            ("int8", target_ids[sel]),
            ("text", form),
            ("int4", eligible[sel]),
            ("int4", counts.valid[sel]),
            ("bool", decisions.quorum[sel]),
            ("bytea", counts.observed[sel, :width].astype("<u2")),
            ("bytea", counts.no_basis[sel, :width].astype("<u2")),
            ("int4", levels[:, 1]),
            ("int4", levels[:, 2]),
            ("int4", levels[:, 3]),
            ("int4", levels[:, 4]),
            ("int4", levels[:, 0]),
            ("int4", conf[:, 1]),
            ("int4", conf[:, 2]),
            ("int4", conf[:, 3]),
            ("int4", conf[:, 0]),
            ("bool", decisions.low_confidence[sel]),
            ("bool", decisions.escalated[sel]),
            ("int8", pack_bits(decisions.confirmed[sel, :width])),
            ("int8", pack_bits(decisions.watch[sel, :width])),
        ],
        len(sel),
    )
