"""Task records: streaming, all-or-nothing ingestion and the monthly totals.

One path serves the HTTP endpoint and the CLI: byte pieces in, a summary out. The pieces are
cut into blocks of whole lines, parsed and validated column-wise in a worker thread (the next
block is parsed while the database writes the previous one), written to a temporary staging
table with binary COPY, then upserted into ``task_records`` by one set-based statement per
block that also moves ``task_month_totals``. Everything happens in one transaction: any
problem, a truncated body or a dropped connection rolls the whole batch back.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any, Literal

import asyncpg
import numpy as np

from evalsvc.domain.access import Principal
from evalsvc.domain.errors import MAX_REPORTED_PROBLEMS, Forbidden, InvalidInput
from evalsvc.domain.tasks import (
    CsvHeader,
    LineChunker,
    Problems,
    TaskColumns,
    format_month,
    parse_csv_block,
    parse_json_array,
    parse_ndjson_block,
)
from evalsvc.store import copybin
from evalsvc.store.scope import subtree_ids
from evalsvc.store.sqlfiles import queries

Q = queries("tasks")
Format = Literal["csv", "ndjson", "json"]
BLOCK_BYTES = 4 << 20
"""Bytes of input per block: ~60,000 CSV rows; memory holds about three blocks at a time."""
MAX_JSON_ARRAY_BYTES = 64 << 20
"""A JSON array is parsed whole, so it is for small batches; larger ones use NDJSON or CSV."""


@dataclass(frozen=True, slots=True)
class IngestResult:
    batch_id: int
    rows: int
    inserted: int
    updated: int
    unchanged: int

    def as_dict(self) -> dict[str, int]:
        return {
            "batch_id": self.batch_id,
            "rows": self.rows,
            "inserted": self.inserted,
            "updated": self.updated,
            "unchanged": self.unchanged,
        }


@dataclass(frozen=True, slots=True)
class _Block:
    rows: int
    first_row: int
    copy_data: bytes


def _encode(cols: TaskColumns) -> bytes:
    f, t = copybin.Fixed, copybin.Text
    return copybin.encode(
        [
            f(cols.row_no, "int8"),
            t(cols.source_system),
            t(cols.external_id),
            t(cols.cadre_code),
            f(cols.month, "int4"),
            t(cols.product_code),
            f(cols.k, "float8"),
            f(cols.assigned, "float8"),
            f(cols.done, "float8"),
            f(cols.exceeded, "bool"),
            f(cols.errors_counted, "int4"),
            f(cols.errors_objective, "int4"),
            t(cols.errors_confirmed_by, empty_is_null=True),
            f(cols.delays_counted, "int4"),
            f(cols.delays_objective, "int4"),
            t(cols.delays_confirmed_by, empty_is_null=True),
        ]
    )


async def _blocks(
    pieces: AsyncIterator[bytes], fmt: Format, default_source: str | None, problems: Problems
) -> AsyncIterator[_Block]:
    """Parse the byte stream into encoded blocks; stops producing once problems are full."""
    if fmt == "json":
        body = bytearray()
        async for piece in pieces:
            body += piece
            if len(body) > MAX_JSON_ARRAY_BYTES:
                raise InvalidInput(
                    f"a JSON array may hold at most {MAX_JSON_ARRAY_BYTES >> 20} MiB; "
                    "send NDJSON or CSV for large batches"
                )
        cols = await asyncio.to_thread(parse_json_array, bytes(body), default_source, problems)
        if cols is not None and len(cols):
            yield _Block(len(cols), 1, await asyncio.to_thread(_encode, cols))
        return

    chunker = LineChunker(BLOCK_BYTES)
    header: CsvHeader | None = None
    header_buf = b""
    next_row = 1

    def parse(block: bytes, first_row: int) -> _Block | None:
        if fmt == "csv":
            assert header is not None
            cols = parse_csv_block(block, header, first_row, problems)
        else:
            cols = parse_ndjson_block(block, default_source, first_row, problems)
        if cols is None or not len(cols):
            return None
        return _Block(len(cols), first_row, _encode(cols))

    async def stream() -> AsyncIterator[bytes]:
        nonlocal header, header_buf
        async for piece in pieces:
            if fmt == "csv" and header is None:
                header_buf += piece
                end = header_buf.find(b"\n")
                if end < 0:
                    if len(header_buf) > 1 << 16:
                        raise InvalidInput("the CSV header line is missing or too long")
                    continue
                header = CsvHeader(header_buf[: end + 1], default_source)
                piece, header_buf = header_buf[end + 1 :], b""
            yield piece
        if fmt == "csv" and header is None:
            if header_buf.strip():
                header = CsvHeader(header_buf, default_source)
                raise InvalidInput(
                    "the upload ends in the middle of a row (no line break after the header); "
                    "it looks truncated, nothing was stored"
                )
            raise InvalidInput("the CSV upload is empty (no header line)")

    async for piece in stream():
        for block in chunker.feed(piece):
            rows = block.count(b"\n")
            if not problems.full:
                parsed = await asyncio.to_thread(parse, block, next_row)
                if parsed is not None:
                    yield parsed
            next_row += rows
    for block in chunker.finish():
        if not problems.full:
            parsed = await asyncio.to_thread(parse, block, next_row)
            if parsed is not None:
                yield parsed


async def _prefetch(source: AsyncIterator[_Block], depth: int = 1) -> AsyncIterator[_Block]:
    """Run ``source`` one step ahead in a task, so parsing overlaps the database work."""
    queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue(maxsize=depth)

    async def pump() -> None:
        try:
            async for item in source:
                await queue.put(("item", item))
            await queue.put(("end", None))
        except BaseException as exc:  # handed to the consumer, which re-raises it
            await queue.put(("error", exc))

    task = asyncio.create_task(pump())
    try:
        while True:
            kind, value = await queue.get()
            if kind == "end":
                return
            if kind == "error":
                raise value
            yield value
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task


async def ingest_stream(
    conn: asyncpg.Connection,
    pieces: AsyncIterator[bytes],
    *,
    fmt: Format,
    principal: Principal | None,
    origin: Literal["http", "cli"],
    default_source: str | None = None,
    on_rows: Callable[[int], None] | None = None,
) -> IngestResult:
    """Ingest one batch of task records, all or nothing.

    Args:
        pieces: the body as it arrives (any piece sizes).
        fmt: ``csv`` (with header), ``ndjson`` or ``json`` (an array; small batches).
        principal: the caller; scoped roles may only write cadres of their unit subtree.
        default_source: source_system for rows that do not name one.
        on_rows: called with the number of rows of each block written (progress).

    Raises:
        InvalidInput: undecodable input (bad bytes, malformed CSV/JSON, truncated body).
        RuleViolation: rows breaking a rule (each problem names row, field and reason).
        Forbidden: rows for cadres outside the caller's unit subtree.
    """
    problems = Problems()
    scope: list[int] | None = None
    if principal is not None and not principal.city_wide:
        assert principal.scope_unit_id is not None
        scope = await subtree_ids(conn, principal.scope_unit_id)
    received = inserted = updated = 0
    async with conn.transaction():
        await conn.execute(Q["lock_ingest"])
        await conn.execute(Q["create_staging"])
        key_id = principal.key_id if principal is not None and principal.key_id > 0 else None
        batch_id: int = await conn.fetchval(Q["new_batch"], key_id, origin, fmt)
        async for block in _prefetch(_blocks(pieces, fmt, default_source, problems)):
            received += block.rows
            if problems.total:
                continue  # keep parsing to report more problems, but write nothing more
            await conn.execute("truncate task_staging")
            await conn.copy_to_table("task_staging", source=_once(block.copy_data), format="binary")
            stats = await _upsert_block(conn, batch_id, scope, problems)
            if stats is not None:
                inserted += stats[0]
                updated += stats[1]
            if on_rows is not None:
                on_rows(block.rows)
        problems.raise_if_any()
        await conn.execute(Q["finish_batch"], batch_id, received, inserted, updated)
    return IngestResult(batch_id, received, inserted, updated, received - inserted - updated)


async def _once(data: bytes) -> AsyncIterator[bytes]:
    yield data


async def _upsert_block(
    conn: asyncpg.Connection, batch_id: int, scope: list[int] | None, problems: Problems
) -> tuple[int, int] | None:
    """Upsert the staged block; on a problem, record it and return None (the caller stops)."""
    row: asyncpg.Record | None = None
    try:
        async with conn.transaction():  # a savepoint: staging stays readable after an error
            row = await conn.fetchrow(Q["upsert_chunk"], batch_id, scope)
            assert row is not None
            if row["unknown_cadres"] or row["repeated"]:
                raise _Rejected
    except asyncpg.CardinalityViolationError:
        await _report_repeats(conn, batch_id, problems)
        return None
    except _Rejected:
        assert row is not None
        if row["unknown_cadres"]:
            for r in await conn.fetch(Q["unknown_cadre_rows"], MAX_REPORTED_PROBLEMS):
                problems.add(r["row_no"], "cadre_code", f"no cadre with code {r['cadre_code']!r}")
        else:
            await _report_repeats(conn, batch_id, problems)
        return None
    assert row is not None
    if row["out_of_scope"]:
        raise Forbidden(
            f"{row['out_of_scope']} row(s) concern cadres outside the unit subtree of this API key;"
            " nothing was stored"
        )
    changed, replaced = int(row["changed"]), int(row["replaced"])
    return changed - replaced, replaced


class _Rejected(Exception):
    pass


async def _report_repeats(conn: asyncpg.Connection, batch_id: int, problems: Problems) -> None:
    rows = await conn.fetch(Q["repeated_rows"], batch_id, MAX_REPORTED_PROBLEMS)
    for r in rows:
        problems.add(
            r["row_no"],
            "external_id",
            f"({r['source_system']}, {r['external_id']}) appears more than once in the batch",
        )
    if not rows:  # cannot happen unless staging changed; still never store the batch
        problems.add(None, "external_id", "a key appears more than once in the batch")


# --------------------------------------------------------------------------- reads


async def list_records(
    conn: asyncpg.Connection,
    principal: Principal,
    *,
    month: int,
    cadre_code: str | None,
    limit: int,
    offset: int,
) -> list[dict[str, Any]]:
    cadre_id, scope = await _filters(conn, principal, cadre_code)
    rows = await conn.fetch(Q["list_records"], month, cadre_id, scope, limit, offset)
    out = []
    for r in rows:
        d = dict(r)
        d["month"] = format_month(d["month"])
        out.append(d)
    return out


async def list_totals(
    conn: asyncpg.Connection,
    principal: Principal,
    *,
    month: int,
    cadre_code: str | None,
    limit: int,
    offset: int,
) -> list[dict[str, Any]]:
    """Monthly totals with the derived ratios (a, b, c) and shares, for display and audit."""
    cadre_id, scope = await _filters(conn, principal, cadre_code)
    rows = await conn.fetch(Q["list_totals"], month, cadre_id, scope, limit, offset)
    out = []
    for r in rows:
        d = dict(r)
        base = d["k_assigned"]
        records = d["records"]
        d["month"] = format_month(d["month"])
        for name in ("k_assigned", "k_done", "k_done_quality", "k_done_timely"):
            d[name] = d[name] / 1_000_000
        d["quantity"] = d["k_done"] / d["k_assigned"] if base else None
        d["quality"] = d["k_done_quality"] / d["k_assigned"] if base else None
        d["timeliness"] = d["k_done_timely"] / d["k_assigned"] if base else None
        d["exceeded_share"] = d["exceeded_records"] / records if records else None
        d["late_share"] = d["late_records"] / records if records else None
        out.append(d)
    return out


async def month_totals_arrays(conn: asyncpg.Connection, month: int) -> dict[str, np.ndarray]:
    """The whole city-month of totals as numpy arrays (one query), for the recomputation.

    Weighted sums are int64 millionths of a converted unit; ratios are unit-free.
    """
    rows = await conn.fetch(Q["month_totals_arrays"], month)
    names = (
        "cadre_id",
        "records",
        "k_assigned",
        "k_done",
        "k_done_quality",
        "k_done_timely",
        "exceeded_records",
        "late_records",
    )
    return {n: np.fromiter((r[n] for r in rows), np.int64, len(rows)) for n in names}


async def _filters(
    conn: asyncpg.Connection, principal: Principal, cadre_code: str | None
) -> tuple[int | None, list[int] | None]:
    scope = None
    if not principal.city_wide:
        assert principal.scope_unit_id is not None
        scope = await subtree_ids(conn, principal.scope_unit_id)
    cadre_id = None
    if cadre_code is not None:
        cadre_id = await conn.fetchval("select id from cadres where code = $1", cadre_code)
        if cadre_id is None:
            cadre_id = -1  # matches nothing: an unknown cadre simply has no records
    return cadre_id, scope
