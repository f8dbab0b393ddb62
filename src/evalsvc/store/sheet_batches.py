"""The CPU work of a close: one batch of sealed sheets -> checked ballot arrays.

A batch is a run of whole rows of the binary COPY of ``sheets_read`` (receipt, targets tag,
sealed box). For a big round the batches are opened in worker processes, one per core, that
receive the round's secret once at start and end with the close (so does the key); a small
round is opened in one thread of the service. Either way the same :func:`open_batch` runs and
hands back only arrays of checked ballots, the counted receipts and the count of invalid
sheets: no plaintext sheet leaves it and nothing of it is logged.

A sheet is counted whole or not at all: it is invalid when its stored receipt is not the hash
of its ciphertext, it does not open with the round's key, is not a sheet of this round,
covers other colleagues than the ledger recorded for it, or holds any invalid ballot (the
paper rules, :func:`evalsvc.store.ballots.check_paper`).
"""

from __future__ import annotations

import gc
import hashlib
import struct
from dataclasses import dataclass

import msgspec
import numpy as np
import numpy.typing as npt

from evalsvc.domain.ballots import BallotKeys, Sheet, targets_tag
from evalsvc.sealing import boxes
from evalsvc.store.ballots import Checked, PaperColumns, check_paper

_decode = msgspec.json.Decoder(Sheet).decode
_FIELD = struct.Struct(">i")  # a field's length word


@dataclass(frozen=True, slots=True)
class Opening:
    """What opening a round's sheets needs (sent once to each worker process)."""

    secret: bytes
    ledger: BallotKeys  # only its ledger key: the targets tag of a sheet
    round_id: int
    targets: dict[str, tuple[int, str]]  # target code -> (cadre id, form)
    forms: dict[str, list[str]]  # form -> item codes in catalog order


@dataclass(slots=True)
class Batch:
    """The counted ballots of a batch (row i of the arrays = ballot i) and what it found."""

    sheets: int
    invalid: int
    checked: Checked
    receipts: bytes  # the 32-byte receipt of each counted sheet, concatenated


class RowCutter:
    """Cuts the binary COPY stream of ``sheets_read`` into runs of whole rows.

    The walk reads the three length words of each row; the pieces it returns are parsed again
    by :func:`open_batch` in the worker (sending one piece is cheaper than many small fields).
    """

    def __init__(self) -> None:
        self._rest = b""
        self._started = False
        self.finished = False

    def feed(self, data: bytes) -> tuple[bytes, int]:
        """The whole rows completed by ``data`` and their number."""
        buf = self._rest + data if self._rest else data
        offset = 0
        if not self._started:
            if len(buf) < 19 or len(buf) < 19 + int.from_bytes(buf[15:19], "big"):
                self._rest = buf
                return b"", 0
            if not buf.startswith(b"PGCOPY\n\xff\r\n\x00"):
                raise ValueError("not a binary COPY payload")
            offset = 19 + int.from_bytes(buf[15:19], "big")
            buf = buf[offset:]
            offset = 0
            self._started = True
        end = len(buf)
        rows = 0
        while not self.finished and end - offset >= 2:
            if buf[offset : offset + 2] == b"\xff\xff":
                self.finished = True
                break
            row_end = _row_end(buf, offset)
            if row_end < 0:
                break
            offset = row_end
            rows += 1
        whole = buf[:offset]
        self._rest = buf[offset + 2 :] if self.finished else buf[offset:]
        return whole, rows

    def close(self) -> None:
        """Check that the stream ended where it should."""
        if not self.finished or self._rest:
            raise ValueError("the sealed sheets of the round ended early")


def _row_end(buf: bytes, offset: int) -> int:
    """Where the row starting at ``offset`` ends; -1 if ``buf`` does not hold all of it."""
    end = len(buf)
    if end - offset < 2:
        return -1
    if buf[offset : offset + 2] != b"\x00\x03":
        raise ValueError("unexpected row in the sealed sheets of a round")
    offset += 2
    for _ in range(3):
        if end - offset < 4:
            return -1
        (length,) = _FIELD.unpack_from(buf, offset)
        if length < 0:
            raise ValueError("unexpected NULL in the sealed sheets of a round")
        offset += 4 + length
    return offset if offset <= end else -1


def _rows(buf: bytes) -> list[tuple[bytes, bytes, bytes]]:
    """(receipt, targets tag, sealed box) of each row of a piece cut by :class:`RowCutter`."""
    out = []
    offset, end = 0, len(buf)
    unpack = _FIELD.unpack_from
    while offset < end:
        fields = []
        offset += 2  # the field count, checked by the cutter
        for _ in range(3):
            (length,) = unpack(buf, offset)
            fields.append(buf[offset + 4 : offset + 4 + length])
            offset += 4 + length
        out.append((fields[0], fields[1], fields[2]))
    return out


def open_batch(opening: Opening, opener: boxes.Opener, buf: bytes) -> Batch:
    """Open, decode and check every sheet of ``buf``; keep the ballots of the valid ones."""
    rows = _rows(buf)
    cols = PaperColumns([], [], [], [], [])
    sheet_of: list[int] = []
    invalid = np.zeros(len(rows), np.bool_)
    targets = opening.targets
    round_id = opening.round_id
    sha256 = hashlib.sha256
    for s, (receipt, tag, sealed) in enumerate(rows):
        try:
            if sha256(sealed).digest() != receipt:
                raise boxes.SealError("the receipt is not the hash of the ciphertext")
            sheet = _decode(opener.open(sealed))
        except (boxes.SealError, msgspec.DecodeError, msgspec.ValidationError):
            invalid[s] = True
            continue
        ballots = sheet.ballots
        codes = [b.target for b in ballots]
        ids = [targets.get(c, (-1, ""))[0] for c in codes]
        if (
            sheet.round != round_id
            or not codes
            or len(set(codes)) != len(codes)
            or targets_tag(opening.ledger, round_id, ids) != tag
        ):
            invalid[s] = True
            continue
        cols.target.extend(codes)
        cols.marks.extend([b.marks for b in ballots])
        cols.level.extend([b.level for b in ballots])
        cols.confidence.extend([b.confidence for b in ballots])
        cols.comment.extend([b.comment for b in ballots])
        sheet_of.extend([s] * len(ballots))
    # The checks need only the batch's targets (building lookups of the whole round per
    # batch would cost more than the checks).
    present = {c: targets[c] for c in set(cols.target) if c in targets}
    checked = check_paper(cols, present, opening.forms, strict=False)
    sheet_index = np.array(sheet_of, np.int64)
    invalid[sheet_index[checked.bad]] = True
    keep = ~invalid[sheet_index] if len(sheet_index) else np.zeros(0, np.bool_)
    counted = b"".join(r[0] for s, r in enumerate(rows) if not invalid[s])
    return Batch(len(rows), int(invalid.sum()), _kept(checked, keep), counted)


def _kept(checked: Checked, keep: npt.NDArray[np.bool_]) -> Checked:
    """The ballots of ``checked`` where ``keep`` (the others belong to invalid sheets)."""
    rows = np.flatnonzero(keep)
    renumber = np.cumsum(keep) - 1
    comment_rows = [r for r in checked.comment_rows if keep[r]]
    return Checked(
        checked.target_ids[rows],
        checked.observed[rows],
        checked.no_basis[rows],
        checked.level[rows],
        checked.confidence[rows],
        [int(renumber[r]) for r in comment_rows],
        [c for r, c in zip(checked.comment_rows, checked.comments, strict=True) if keep[r]],
        np.zeros(len(rows), np.bool_),
    )


# --- worker processes -------------------------------------------------------------------

_worker: tuple[Opening, boxes.Opener] | None = None


def start_worker(opening: Opening) -> None:
    """Initializer of a close's worker process: keep the opening, stop the cyclic GC (a
    batch makes tens of thousands of short-lived objects and holds no cycles; the process
    ends with the close)."""
    global _worker
    _worker = (opening, boxes.Opener(opening.secret))
    gc.freeze()
    gc.disable()


def open_in_worker(buf: bytes) -> Batch:
    assert _worker is not None, "start_worker did not run in this process"
    return open_batch(_worker[0], _worker[1], buf)
