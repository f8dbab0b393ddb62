"""Counting rules, the vectorised tally against a slow reference, periods, the keyring."""

from __future__ import annotations

import stat
import struct
from datetime import date
from pathlib import Path

import numpy as np
import pytest

from evalsvc.domain.ballots import (
    MAX_ELIGIBLE,
    has_quorum,
    is_escalated,
    is_low_confidence,
    item_flag,
    parse_period,
)
from evalsvc.keyring import KEY_FILE, ballot_keys, master_key
from evalsvc.settings import Settings
from evalsvc.store import copyio
from evalsvc.store.ballot_blocks import BlockReader, make_records, pack_bits
from evalsvc.store.ballot_tally import count_blocks, decide


def test_thresholds_at_their_edges() -> None:
    assert has_quorum(5, 7, 5)  # ⌈14/3⌉ = 5
    assert has_quorum(4, 6, 3)  # ⌈12/3⌉ = 4
    assert has_quorum(4, 6, 4)
    assert not has_quorum(4, 7, 3)  # needs 5
    assert not has_quorum(4, 4, 5)  # k_min
    assert item_flag(3, 0, 6) == "watch"  # exactly 1/2 is not > 1/2
    assert item_flag(4, 1, 6) == "confirmed"  # 4/5
    assert item_flag(2, 0, 6) is None  # exactly 1/3
    assert item_flag(2, 1, 6) == "watch"  # 2/5
    assert item_flag(0, 6, 6) is None  # nobody could judge
    assert is_low_confidence(4, 6)
    assert not is_low_confidence(3, 6)
    assert is_escalated(4, 6)
    assert not is_escalated(3, 5)


def test_periods() -> None:
    q = parse_period("2026-Q1")
    assert q is not None
    assert (q.kind, q.start, q.end) == (
        "quarter",
        date(2026, 1, 1),
        date(2026, 3, 31),
    )
    m = parse_period("2028-02")
    assert m is not None
    assert m.end == date(2028, 2, 29)
    y = parse_period("2026")
    assert y is not None
    assert y.end == date(2026, 12, 31)
    for bad in ("2026-13", "2026-Q5", "26-01", "1999", ""):
        assert parse_period(bad) is None


def _blocks(
    rng: np.random.Generator, target: np.ndarray, n_targets: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Ballots grouped into blocks as stored: (ballot order, block targets, block sizes).

    Each target's ballots are cut at random into one or more blocks, and the blocks are
    shuffled, so a target's blocks are scattered like those of several uploads.
    """
    order = np.argsort(target, kind="stable")
    blocks: list[tuple[int, np.ndarray]] = []
    for t in range(n_targets):
        mine = order[target[order] == t]
        cuts = (
            np.sort(rng.choice(np.arange(1, len(mine)), size=min(2, len(mine) - 1), replace=False))
            if len(mine) > 1
            else []
        )
        blocks += [(t, part) for part in np.split(mine, cuts) if len(part)]
    perm = rng.permutation(len(blocks))
    parts = [blocks[i] for i in perm]
    return (
        np.concatenate([p for _, p in parts]),
        np.array([t for t, _ in parts], np.intp),
        np.array([len(p) for _, p in parts], np.int64),
    )


def test_vectorised_tally_matches_a_slow_reference() -> None:
    rng = np.random.default_rng(7)
    n_targets, width = 40, 41
    # Target 0 gets 700 ballots (runs of 255 inside one block), target 1 none at all.
    target = np.r_[np.zeros(700, np.int64), rng.integers(2, n_targets, 900)]
    n = len(target)
    marks = rng.choice(3, size=(n, width), p=[0.6, 0.3, 0.1])  # 0 not, 1 observed, 2 no basis
    marks[:700, 5] = 1  # 700 observed: more than a byte lane holds
    level = rng.integers(0, 5, n)
    conf = rng.integers(0, 4, n)
    obs = pack_bits(marks == 1).view(np.uint64)
    nb = pack_bits(marks == 2).view(np.uint64)
    order, block_target, sizes = _blocks(rng, target, n_targets)
    assert sizes.max() > 255
    counts = count_blocks(
        n_targets, block_target, sizes, obs[order], nb[order], level[order], conf[order], width
    )
    eligible = rng.integers(10, 40, n_targets)
    eligible[0] = 900
    n_items = np.where(np.arange(n_targets) % 2 == 0, width, 36)
    decisions = decide(counts, eligible, n_items, 5)
    assert counts.valid[1] == 0
    assert not decisions.quorum[1]
    assert counts.observed[0, 5] == 700
    for t in range(n_targets):
        rows = target == t
        valid = int(rows.sum())
        assert counts.valid[t] == valid
        assert decisions.quorum[t] == has_quorum(valid, int(eligible[t]), 5)
        low = int((conf[rows] == 1).sum())
        assert decisions.low_confidence[t] == (
            decisions.quorum[t] and is_low_confidence(low, valid)
        )
        assert decisions.escalated[t] == (decisions.quorum[t] and is_escalated(low, valid))
        assert list(counts.levels[t]) == [int((level[rows] == v).sum()) for v in range(5)]
        assert list(counts.confidence[t]) == [int((conf[rows] == v).sum()) for v in range(4)]
        for m in range(width):
            o = int((marks[rows, m] == 1).sum())
            b = int((marks[rows, m] == 2).sum())
            assert (counts.observed[t, m], counts.no_basis[t, m]) == (o, b)
            flag = item_flag(o, b, valid) if decisions.quorum[t] and m < n_items[t] else None
            assert decisions.confirmed[t, m] == (flag == "confirmed")
            assert decisions.watch[t, m] == (flag == "watch")


def test_tally_counts_refuse_impossible_input() -> None:
    one = np.ones(1, np.uint64)
    with pytest.raises(ValueError, match="unknown level"):
        count_blocks(1, np.zeros(1, np.intp), np.ones(1, np.int64), one, one, [5], [0], 8)
    with pytest.raises(ValueError, match="records"):
        count_blocks(1, np.zeros(1, np.intp), np.array([2]), one, one, [0], [0], 8)
    big = np.array([MAX_ELIGIBLE + 1])
    many = np.zeros(MAX_ELIGIBLE + 1, np.uint64)
    with pytest.raises(ValueError, match="more than"):
        count_blocks(1, np.zeros(1, np.intp), big, many, many, many, many, 8)


def test_keyring_persists_a_private_key(tmp_path: Path) -> None:
    settings = Settings(data_dir=str(tmp_path / "data"))
    first = master_key(settings)
    assert master_key(settings) == first
    mode = stat.S_IMODE((tmp_path / "data" / KEY_FILE).stat().st_mode)
    assert mode == 0o600
    explicit = Settings(data_dir=str(tmp_path / "other"), secret_key="k" * 32)
    assert master_key(explicit) == b"k" * 32
    assert not (tmp_path / "other" / KEY_FILE).exists()
    keys = ballot_keys(explicit)
    assert keys.token != keys.ledger


def _copy_out(blocks: list[tuple[int, np.ndarray]]) -> bytes:
    """What ``ballots_read`` sends: binary COPY rows (n_ballots, target_id, marks)."""
    rows = [copyio.HEADER]
    for target, recs in blocks:
        marks = recs.tobytes()
        rows.append(struct.pack(">hiiiqi", 3, 4, len(recs), 8, target, len(marks)) + marks)
    rows.append(copyio.TRAILER)
    return b"".join(rows)


def test_block_reader_takes_the_stream_in_any_pieces() -> None:
    rng = np.random.default_rng(3)
    blocks = []
    for target in rng.integers(1, 10**12, 60).tolist():
        n = int(rng.integers(1, 40))
        recs = make_records(
            rng.integers(0, 2**63, n, dtype=np.uint64),
            rng.integers(0, 2**63, n, dtype=np.uint64),
            rng.integers(0, 5, n),
            rng.integers(0, 4, n),
        )
        blocks.append((target, recs))
    payload = _copy_out(blocks)
    cuts = np.sort(rng.choice(np.arange(1, len(payload)), 25, replace=False)).tolist()
    reader = BlockReader()
    got = [
        reader.feed(payload[a:b]) for a, b in zip([0, *cuts], [*cuts, len(payload)], strict=True)
    ]
    reader.close()
    sizes = np.concatenate([g.sizes for g in got])
    assert sizes.tolist() == [len(r) for _, r in blocks]
    assert np.concatenate([g.targets for g in got]).tolist() == [t for t, _ in blocks]
    assert np.concatenate([g.records for g in got]).tobytes() == b"".join(
        r.tobytes() for _, r in blocks
    )
    cut_short = BlockReader()
    cut_short.feed(payload[:-5])
    with pytest.raises(ValueError, match="ended early"):
        cut_short.close()
