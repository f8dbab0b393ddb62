"""The close's batches: the binary COPY of sealed sheets cut into whole rows and opened."""

from __future__ import annotations

import hashlib
import random
import struct

import msgspec
import numpy as np
import pytest

from evalsvc.domain.ballots import BallotKeys, PaperBallot, Sheet, targets_tag
from evalsvc.sealing import boxes
from evalsvc.store.ballot_blocks import _shuffled_by_target
from evalsvc.store.sheet_batches import Opening, RowCutter, _rows, open_batch

HEADER = b"PGCOPY\n\xff\r\n\x00" + b"\x00\x00\x00\x00" + b"\x00\x00\x00\x00"
KEYS = BallotKeys(token=b"", ledger=b"l" * 32)
FORMS = {"leader": ["L1", "L2", "L3"], "staff": ["S1", "S2"]}
TARGETS = {"A": (1, "leader"), "B": (2, "staff"), "C": (3, "staff")}


def _row(receipt: bytes, tag: bytes, sealed: bytes) -> bytes:
    out = struct.pack(">h", 3)
    for value in (receipt, tag, sealed):
        out += struct.pack(">i", len(value)) + value
    return out


def _sheet(public: bytes, ballots: list[PaperBallot], round_id: int = 9) -> tuple[bytes, ...]:
    sealed = boxes.seal(public, msgspec.json.encode(Sheet(round=round_id, ballots=ballots)))
    ids = [TARGETS.get(b.target, (-1, ""))[0] for b in ballots]
    return hashlib.sha256(sealed).digest(), targets_tag(KEYS, 9, ids), sealed


def test_rows_come_out_whole_however_the_stream_is_cut() -> None:
    rng = random.Random(3)
    rows = [
        (rng.randbytes(32), rng.randbytes(32), rng.randbytes(rng.randint(0, 300)))
        for _ in range(50)
    ]
    payload = HEADER + b"".join(_row(*r) for r in rows) + b"\xff\xff"
    for _ in range(20):
        cutter = RowCutter()
        got, count, at = [], 0, 0
        while at < len(payload):
            step = rng.randint(1, 120)
            whole, n = cutter.feed(payload[at : at + step])
            at += step
            got += _rows(whole)
            count += n
        cutter.close()
        assert got == rows
        assert count == len(rows)


def test_a_stream_that_ends_early_is_an_error() -> None:
    payload = HEADER + _row(b"r" * 32, b"t" * 32, b"sealed")
    cutter = RowCutter()
    cutter.feed(payload[:-3])
    with pytest.raises(ValueError, match="ended early"):
        cutter.close()
    with pytest.raises(ValueError, match="unexpected row"):
        RowCutter().feed(HEADER + b"\x00\x02" + b"\x00" * 80)


def test_a_batch_counts_valid_sheets_whole_and_every_invalid_one() -> None:
    secret = boxes.new_round_secret()
    public = boxes.public_key(secret)
    good = [
        PaperBallot(target="A", marks="1x0", level="HT", comment="tốt"),
        PaperBallot(target="B", marks="01", confidence="low"),
    ]
    rows = [
        _sheet(public, good),
        _sheet(public, [PaperBallot(target="C", marks="11")]),
        _sheet(public, [PaperBallot(target="C", marks="111")]),  # wrong width: invalid
        _sheet(public, [PaperBallot(target="C", marks="11")], round_id=8),  # other round
        _sheet(public, [PaperBallot(target="Z", marks="11")]),  # not a target
        _sheet(public, [PaperBallot(target="B", marks="11", level="??")]),  # unknown level
    ]
    receipt, tag, _ = _sheet(public, good)
    rows.append((receipt, tag, rows[1][2]))  # a ciphertext swapped under another receipt
    rows.append((b"x" * 32, rows[1][1], b"not a sealed box" * 4))
    buf = b"".join(_row(*r) for r in rows)
    opening = Opening(secret, KEYS, 9, TARGETS, FORMS)
    batch = open_batch(opening, boxes.Opener(secret), buf)
    assert (batch.sheets, batch.invalid) == (8, 6)
    assert batch.receipts == rows[0][0] + rows[1][0]
    checked = batch.checked
    assert checked.target_ids.tolist() == [1, 2, 3]
    assert checked.observed.tolist() == [0b001, 0b10, 0b11]
    assert checked.no_basis.tolist() == [0b010, 0, 0]
    assert checked.level.tolist() == [2, 0, 0]
    assert checked.confidence.tolist() == [0, 1, 0]
    assert (checked.comment_rows, checked.comments) == ([0], ["tốt"])


@pytest.mark.parametrize("offset", [0, 1 << 40], ids=["small-ids", "large-ids"])
def test_blocks_are_ordered_by_target_and_shuffled_within(offset: int) -> None:
    targets = np.repeat(np.arange(50, dtype=np.int64) + offset, 200)[::-1].copy()
    order = _shuffled_by_target(targets)
    assert sorted(order.tolist()) == list(range(len(targets)))
    assert (np.diff(targets[order]) >= 0).all()
    within = order[targets[order] == offset]  # one target's ballots: any order but the input's
    assert not (np.diff(within) > 0).all()
    assert not (np.diff(within) < 0).all()
