"""The tally of a closing round: one binary COPY of its ballots, counted with numpy, stored.

Scoring and remediation later read ``ballot_tallies`` (or the ``ballot_flags`` view) only, never the
raw ballots. The counting rules are those of :mod:`evalsvc.domain.ballots`, applied to
arrays with the same exact integer comparisons.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import asyncpg
import numpy as np
import numpy.typing as npt

from evalsvc.store import ballot_copy
from evalsvc.store.ballot_blocks import pack_bits, read_blocks
from evalsvc.store.ballot_copy import Column, as_stream
from evalsvc.store.sqlfiles import queries

Q = queries("ballots")

I64 = npt.NDArray[np.int64]
U64 = npt.NDArray[np.uint64]
BoolArr = npt.NDArray[np.bool_]

# _NIBBLE_BITS[v, j] = bit j of the 4-bit value v.
_NIBBLE_BITS = ((np.arange(16)[:, None] >> np.arange(4)[None, :]) & 1).astype(np.int64)


@dataclass(frozen=True, slots=True)
class Counts:
    """Per-target counts. Shapes: T targets, B = bits counted (a multiple of 4, ≤ 64).

    valid (T,), observed (T, B), no_basis (T, B), levels (T, 5) with column 0 = blank and
    1..4 = KHT, HT, HTT, HTXS, confidence (T, 4) with column 0 = blank, 1 low, 2 normal, 3 high.
    """

    valid: I64
    observed: I64
    no_basis: I64
    levels: I64
    confidence: I64


def count_ballots(
    n_targets: int,
    target_index: npt.NDArray[np.intp],
    observed: U64,
    no_basis: U64,
    level: npt.NDArray[np.integer[Any]],
    confidence: npt.NDArray[np.integer[Any]],
    n_bits: int,
) -> Counts:
    """Count ballots per target and item.

    Args:
        n_targets: T.
        target_index: (N,) index in [0, T) of each ballot's target.
        observed, no_basis: (N,) bitmaps, bit m = item m of the target's form.
        level: (N,) 0..4; confidence: (N,) 0..3.
        n_bits: highest item count of any form (≤ 64).

    Per-item counts use one ``bincount`` per 4-bit slice of the bitmaps (key = target·16 +
    nibble), then a (16 x 4) table turns nibble histograms into bit counts: 2·⌈B/4⌉ passes over
    N instead of 2·B.
    """
    nibbles = max(1, (n_bits + 3) // 4)
    base = target_index.astype(np.int64) * 16
    out = []
    for bitmap in (observed, no_basis):
        counts = np.empty((n_targets, 4 * nibbles), dtype=np.int64)
        as_bytes = np.ascontiguousarray(bitmap, dtype="<u8").view(np.uint8).reshape(-1, 8)
        for k in range(nibbles):
            byte = as_bytes[:, k // 2]
            nib = byte & 15 if k % 2 == 0 else byte >> 4  # uint8: 8x less memory traffic
            hist = np.bincount(base + nib, minlength=16 * n_targets).reshape(n_targets, 16)
            counts[:, 4 * k : 4 * k + 4] = hist @ _NIBBLE_BITS
        out.append(counts)
    idx = target_index.astype(np.int64)
    levels = np.bincount(idx * 5 + level, minlength=5 * n_targets).reshape(n_targets, 5)
    conf = np.bincount(idx * 4 + confidence, minlength=4 * n_targets).reshape(n_targets, 4)
    valid = np.bincount(idx, minlength=n_targets).astype(np.int64)
    return Counts(valid, out[0], out[1], levels.astype(np.int64), conf.astype(np.int64))


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
    valid = counts.valid
    quorum = (3 * valid >= 2 * eligible) & (valid >= k_min)
    width = counts.observed.shape[1]
    in_form = np.arange(width)[None, :] < n_items[:, None]
    rated = valid[:, None] - counts.no_basis
    live = quorum[:, None] & in_form & (rated > 0)
    confirmed = live & (2 * counts.observed > rated)
    watch = live & ~confirmed & (3 * counts.observed > rated)
    low = counts.confidence[:, 1]
    low_confidence = quorum & (valid > 0) & (2 * low > valid)
    escalated = quorum & (valid > 0) & (3 * low >= 2 * valid)
    return Decisions(quorum, confirmed, watch, low_confidence, escalated)


@dataclass(frozen=True, slots=True)
class FormItems:
    codes: list[str]
    groups: list[int]


async def tally_round(
    conn: asyncpg.Connection, round_id: int, k_min: int, forms: dict[str, FormItems]
) -> None:
    """Count the round's ballots and store ``ballot_tallies`` (flags as item bitmaps).

    Runs inside the close transaction, with the round row locked.
    """
    chunks: list[bytes] = []

    async def sink(chunk: bytes) -> None:
        chunks.append(chunk)

    await conn.copy_from_query(Q["round_targets_tally"], round_id, output=sink, format="binary")
    targets = ballot_copy.decode(b"".join(chunks), ["int8", "bool", "int4"])
    target_ids = targets["c0"].astype(np.int64)
    form_of = targets["c1"].astype(bool)  # True: leader form
    eligible = targets["c2"].astype(np.int64)
    n_leader, n_staff = len(forms["leader"].codes), len(forms["staff"].codes)
    n_items = np.where(form_of, n_leader, n_staff).astype(np.int64)

    ballot_targets, recs = await read_blocks(conn, round_id)
    index = np.searchsorted(target_ids, ballot_targets)
    counts = count_ballots(
        len(target_ids),
        index,
        recs["observed"],
        recs["no_basis"],
        recs["level"].astype(np.int64),
        recs["confidence"].astype(np.int64),
        max(n_leader, n_staff, 1),
    )
    decisions = decide(counts, eligible, n_items, k_min)
    for form, is_leader in (("leader", True), ("staff", False)):
        sel = np.nonzero(form_of == is_leader)[0]
        if len(sel):
            await _write_tallies(
                conn,
                round_id,
                form,
                sel,
                target_ids,
                eligible,
                counts,
                decisions,
                len(forms[form].codes),
            )


async def _write_tallies(
    conn: asyncpg.Connection,
    round_id: int,
    form: str,
    sel: npt.NDArray[np.intp],
    target_ids: I64,
    eligible: I64,
    counts: Counts,
    decisions: Decisions,
    width: int,
) -> None:
    n = len(sel)
    observed = counts.observed[sel, :width]
    no_basis = counts.no_basis[sel, :width]
    if width == 0:  # an empty form still gets (empty) arrays of the right shape
        observed = np.zeros((n, 0), np.int64)
        no_basis = observed
    data = ballot_copy.encode(
        n,
        [
            Column("int8", np.full(n, round_id, np.int64)),
            Column("int8", target_ids[sel]),
            Column("text", form),
            Column("int4", eligible[sel]),
            Column("int4", counts.valid[sel]),
            Column("bool", decisions.quorum[sel]),
            Column("bytea", observed.astype("<u2")),
            Column("bytea", no_basis.astype("<u2")),
            Column("int4[]", counts.levels[sel, 1:]),
            Column("int4", counts.levels[sel, 0]),
            Column("int4[]", counts.confidence[sel, 1:]),
            Column("int4", counts.confidence[sel, 0]),
            Column("bool", decisions.low_confidence[sel]),
            Column("bool", decisions.escalated[sel]),
            Column("int8", pack_bits(decisions.confirmed[sel, :width])),
            Column("int8", pack_bits(decisions.watch[sel, :width])),
        ],
    )
    await conn.copy_to_table(
        "ballot_tallies",
        source=as_stream(data),
        columns=[
            "round_id",
            "target_id",
            "form",
            "eligible",
            "valid",
            "quorum",
            "observed",
            "no_basis",
            "level_counts",
            "level_blank",
            "confidence_counts",
            "confidence_blank",
            "low_confidence",
            "escalated",
            "confirmed",
            "watch",
        ],
        format="binary",
    )
