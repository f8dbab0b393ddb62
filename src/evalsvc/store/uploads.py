"""Writing a streamed bulk upload batch by batch, in one transaction: all or nothing.

Each batch goes through the kind's own store function (its checks, its audit rows); a key
table in the same transaction catches a row that repeats one of an earlier batch. Problems
are gathered across batches (up to MAX_REPORTED_PROBLEMS, then the upload stops being read)
and, if there are any, the whole upload is refused and nothing stays written.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import asyncpg

from evalsvc.domain.bulk import Upload, UploadSpec, summary_of
from evalsvc.domain.errors import MAX_REPORTED_PROBLEMS, FieldProblem, RuleViolation
from evalsvc.domain.units import UpsertSummary
from evalsvc.store.sqlfiles import queries

Q = queries("uploads")
WriteBatch = Callable[[Upload[Any]], Awaitable[UpsertSummary]]


async def _repeats(
    conn: asyncpg.Connection, spec: UploadSpec, batch: Upload[Any]
) -> list[FieldProblem]:
    if spec.key is None or not batch.rows:
        return []
    keys = [spec.key(r) for r in batch.rows]
    found = await conn.fetch(Q["claim_keys"], keys, batch.numbers)
    return [
        FieldProblem(
            spec.key_field, f"{r['key']!r} already appears in row {r['first_row']}", r["row_no"]
        )
        for r in found
        if r["row_no"] != r["first_row"]
    ]


async def write_in_batches(
    conn: asyncpg.Connection,
    spec: UploadSpec,
    batches: AsyncIterator[Upload[Any]],
    write: WriteBatch,
) -> UpsertSummary:
    """Every batch written through ``write`` inside one transaction, or nothing.

    Raises:
        RuleViolation: every problem found (rows, fields, reasons), the first ones listed.
    """
    total = UpsertSummary(inserted=0, updated=0, unchanged=0)
    problems: list[FieldProblem] = []
    async with conn.transaction():
        if spec.key is not None:
            await conn.execute(Q["keys_table"])
        async for batch in batches:
            batch.problems += await _repeats(conn, spec, batch)
            # The store function adds its own problems (unknown codes) to the batch's, as
            # for a whole upload. After a problem nothing will be kept, but later batches
            # are still checked that way (what they write is rolled back with the rest).
            try:
                done = await write(batch)
            except RuleViolation as exc:
                found = exc.problems or [FieldProblem("body", exc.detail)]
            else:
                found = batch.problems
                total.inserted += done.inserted
                total.updated += done.updated
                total.unchanged += done.unchanged
            problems += found
            if len(problems) >= MAX_REPORTED_PROBLEMS:
                break
        if problems:
            problems.sort(key=lambda p: (p.row or 0, p.field))
            raise RuleViolation(summary_of(problems), problems[:MAX_REPORTED_PROBLEMS])
    return total
