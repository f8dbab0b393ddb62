"""The close of a sealed round: open every sheet in memory, validate, store plaintext ballots
as shuffled per-target blocks, keep only the receipts, publish their Merkle root.

The sheets stream out of PostgreSQL as one binary COPY, cut into batches of whole rows that
are opened and checked (:mod:`evalsvc.store.sheet_batches`) while the rest arrives: for a big
round in one worker process per core (opening a sealed box is an X25519 multiplication, the
bulk of the work), for a small one in a thread. At most a few batches are in flight, so the
ciphertexts never sit in memory all at once. Everything runs in the caller's transaction:
any failure rolls the round back to open and intact.
"""

from __future__ import annotations

import asyncio
import itertools
import multiprocessing
import os
import time
from collections.abc import AsyncIterator, Callable
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from functools import partial

import asyncpg
import numpy as np

from evalsvc.domain.ballots import BallotKeys
from evalsvc.domain.errors import RuleViolation
from evalsvc.sealing import boxes, receipts
from evalsvc.store import copyio
from evalsvc.store.ballot_tally import FormItems
from evalsvc.store.ballots import Checked, copy_ballots
from evalsvc.store.sheet_batches import (
    Batch,
    Opening,
    RowCutter,
    open_batch,
    open_in_worker,
    start_worker,
)
from evalsvc.store.sqlfiles import queries

Q = queries("sealed_ballots")

BATCH_BYTES = 4 << 20
"""Ciphertext per batch (about 2,000 sheets of 15 ballots)."""

POOL_MIN_SHEETS = 20_000
"""From this many sheets the close opens them in worker processes: starting them costs about
a second, which a smaller round would not win back."""


@dataclass(frozen=True, slots=True)
class Opened:
    sheets_counted: int
    sheets_invalid: int
    ballots: int
    receipts_root: bytes
    seconds: dict[str, float] = field(default_factory=dict)  # per stage, for the close's log


async def open_sheets(
    conn: asyncpg.Connection,
    keys: BallotKeys,
    round_id: int,
    secret: bytes,
    forms: dict[str, FormItems],
) -> Opened:
    """In the close transaction (round locked FOR UPDATE): sheets -> ballots + receipts."""
    seconds: dict[str, float] = {}
    clock = time.perf_counter()
    targets = {
        r["code"]: (int(r["cadre_id"]), r["form"])
        for r in await conn.fetch(Q["online_targets"], round_id)
    }
    opening = Opening(
        secret,
        BallotKeys(token=b"", ledger=keys.ledger),
        round_id,
        targets,
        {form: items.codes for form, items in forms.items()},
    )
    n_sheets = await conn.fetchval(Q["sheets_count"], round_id)
    workers = (
        len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    )
    parallel = n_sheets >= POOL_MIN_SHEETS and workers > 1
    async with _executor(opening, workers, parallel) as (executor, run):
        batches = await _open_all(conn, round_id, executor, run, 2 * workers + 1)
        now = time.perf_counter()
        seconds["open"], clock = now - clock, now
        checked, leaves = await asyncio.to_thread(_joined, batches)
        if any(a == b for a, b in itertools.pairwise(leaves)):  # sorted: side by side
            raise RuleViolation(
                "two stored sheets have the same receipt: the round's sheets were changed "
                "outside evalsvc; nothing was counted and the round stays open"
            )
        invalid = sum(b.invalid for b in batches)
        del batches
        loop = asyncio.get_running_loop()
        root = loop.run_in_executor(executor, receipts.root, leaves)  # while the blocks go
        try:
            await copy_ballots(conn, round_id, checked)
            now = time.perf_counter()
            seconds["blocks"], clock = now - clock, now
            await _write_receipts(conn, round_id, leaves)
            await conn.execute(Q["sheets_delete"], round_id)
            now = time.perf_counter()
            seconds["receipts_and_delete"], clock = now - clock, now
        finally:
            receipts_root = await root
    seconds["merkle_wait"] = time.perf_counter() - clock
    return Opened(len(leaves), invalid, len(checked.target_ids), receipts_root, seconds)


_Run = Callable[[bytes], Batch]


@asynccontextmanager
async def _executor(
    opening: Opening, workers: int, parallel: bool
) -> AsyncIterator[tuple[Executor, _Run]]:
    """Worker processes holding the opening (spawned: nothing of the service's state is
    forked into them), or one thread; shut down, key and all, when the block ends."""
    executor: Executor
    run: _Run
    if parallel:
        executor = ProcessPoolExecutor(
            workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=start_worker,
            initargs=(opening,),
        )
        run = open_in_worker
    else:
        executor = ThreadPoolExecutor(1, thread_name_prefix="close")
        run = partial(open_batch, opening, boxes.Opener(opening.secret))
    try:
        yield executor, run
    finally:
        await asyncio.to_thread(executor.shutdown, wait=True, cancel_futures=True)


async def _open_all(
    conn: asyncpg.Connection, round_id: int, executor: Executor, run: _Run, in_flight: int
) -> list[Batch]:
    """Stream the round's sheets and open them batch by batch, at most ``in_flight`` at once
    (the COPY waits for a free slot, so memory stays bounded)."""
    loop = asyncio.get_running_loop()
    cutter = RowCutter()
    pending: list[asyncio.Future[Batch]] = []
    done: list[Batch] = []
    piece: list[bytes] = []
    size = 0

    async def submit(data: bytes) -> None:
        while len(pending) >= in_flight:
            await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
            for future in [f for f in pending if f.done()]:
                pending.remove(future)
                done.append(future.result())
        pending.append(loop.run_in_executor(executor, run, data))

    async def sink(chunk: bytes) -> None:
        nonlocal size
        whole, rows = cutter.feed(chunk)
        if rows:
            piece.append(whole)
            size += len(whole)
        if size >= BATCH_BYTES:
            data = b"".join(piece)
            piece.clear()
            size = 0
            await submit(data)

    try:
        await conn.copy_from_query(Q["sheets_read"], round_id, output=sink, format="binary")
        cutter.close()
        if piece:
            await submit(b"".join(piece))
        done.extend(await asyncio.gather(*pending))
    finally:
        await asyncio.gather(*pending, return_exceptions=True)
    return done


def _joined(batches: list[Batch]) -> tuple[Checked, list[bytes]]:
    """The batches' ballots as one :class:`Checked` and their receipts, sorted."""
    parts = [b.checked for b in batches]
    offsets = np.cumsum([0] + [len(p.target_ids) for p in parts])

    def cat(name: str, dtype: type) -> np.ndarray:
        arrays = [getattr(p, name) for p in parts]
        return np.concatenate(arrays) if arrays else np.zeros(0, dtype)

    checked = Checked(
        cat("target_ids", np.int64),
        cat("observed", np.int64),
        cat("no_basis", np.int64),
        cat("level", np.int16),
        cat("confidence", np.int16),
        [int(o) + r for p, o in zip(parts, offsets.tolist(), strict=False) for r in p.comment_rows],
        [c for p in parts for c in p.comments],
        np.zeros(int(offsets[-1]), np.bool_),
    )
    counted = b"".join(b.receipts for b in batches)
    return checked, sorted(counted[i : i + 32] for i in range(0, len(counted), 32))


async def _write_receipts(conn: asyncpg.Connection, round_id: int, leaves: list[bytes]) -> None:
    """The counted receipts, sorted (the primary key's order: appended, not split)."""
    if not leaves:
        return
    raw = np.frombuffer(b"".join(leaves), np.uint8).reshape(len(leaves), 32)
    await copyio.write(
        conn,
        "ballot_receipts",
        {"round_id": ("int8", round_id), "receipt": ("bytea", raw)},
        len(leaves),
    )
