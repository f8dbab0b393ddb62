"""Task records: streaming, all-or-nothing ingestion and the monthly totals.

One path serves the HTTP endpoint and the CLI: byte pieces in, a summary out. The pieces are
cut into blocks of whole lines (``BLOCK_BYTES``), parsed, validated and encoded column-wise in
a worker thread (the next block is parsed while the database writes the previous one), and
written with binary COPY: new rows straight into ``task_records`` (their sums into a delta
table), else into a temporary staging table. The diff and upsert of staged rows run once per
``WRITE_BLOCKS`` blocks and the totals upsert once per ``TOTALS_BLOCKS``, so the server holds
only about two small blocks while the database sees few, large statements.
Everything happens in one transaction: any problem, a truncated body or a dropped connection
rolls the whole batch back.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

import asyncpg
import numpy as np
import numpy.typing as npt

from evalsvc.domain.access import Principal
from evalsvc.domain.errors import MAX_REPORTED_PROBLEMS, InvalidInput
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
from evalsvc.store.listing import fetch_counted
from evalsvc.store.scope import subtree_ids
from evalsvc.store.sqlfiles import queries

Q = queries("tasks")
T = TypeVar("T")
Format = Literal["csv", "ndjson", "json"]
BLOCK_BYTES = 2 << 20
"""Bytes of input per parsed block (~30,000-50,000 CSV rows). The server holds the block being
written and the next one being parsed, with their encoded COPY data and the parse's
temporaries: 4 MiB blocks, three alive at once, added about 250 MB to the server; 1 MiB
blocks about 40 MB but made first loads some 30 % slower (a savepoint, two COPYs and a delta
of totals rows per block); 2 MiB blocks about as fast as 4 MiB ones."""
WRITE_BLOCKS = 2
"""Blocks staged before the diff and upsert statements run on them (4 MiB of input, as when
blocks were 4 MiB: fewer, larger statements)."""
TOTALS_BLOCKS = 32
"""Blocks whose sums per (cadre, month) wait in task_totals_delta before one upsert adds
them to task_month_totals (64 MiB of input). A totals row updated again in the same
transaction leaves one more row version that every later update of it walks: adding the
sums once per 1 MiB block took 2.7 times as long as once per 4 MiB, and with every 4 MiB a
1 GiB upload touching the same cadre-months all along spent most of its time there."""
COPY_PIECE = 256 << 10
"""Bytes per COPY data message: asyncpg copies each message and the socket buffers it, so a
whole block in one message would be held twice more."""
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


@dataclass(slots=True)
class _Block:
    """A parsed block; the payload is set once its cadre codes are resolved and encoded.

    The payload is binary COPY of task_records' columns with, last, either the batch id
    (``staged`` False: for task_records itself, with ``totals_data``, the block's sums per
    (cadre, month) for task_totals_delta) or the row numbers (``staged``: for task_staging).
    Once the batch met a stored key every later block is encoded for staging only.
    """

    rows: int
    first_row: int
    cols: TaskColumns | None
    codes: list[bytes]
    """The cadre code of each run of equal codes (a cadre's tasks usually come together)."""
    runs: npt.NDArray[np.int64]
    """Row where each run of ``codes`` starts."""
    data: bytes | None = None
    staged: bool = False
    row_ends: npt.NDArray[np.int64] | None = None
    row_no: npt.NDArray[np.int64] | None = None
    totals_data: bytes | None = None

    @property
    def encoded(self) -> bool:
        return self.data is not None

    def staging_data(self) -> bytes:
        """The payload for task_staging (a copy with row numbers when encoded for
        task_records); the block keeps nothing else."""
        assert self.data is not None
        if self.staged:
            data = self.data
        else:
            assert self.row_ends is not None
            assert self.row_no is not None
            data = copybin.patch_last_int8_values(self.data, self.row_ends, self.row_no)
        self.release()
        return data

    def release(self) -> None:
        """Drop the payloads once written (a block is referenced until the next arrives)."""
        self.data = self.totals_data = self.row_ends = self.row_no = None


class _Worker:
    """Runs CPU work of one batch on its own worker thread, off the event loop."""

    def __init__(self, executor: ThreadPoolExecutor) -> None:
        self.executor = executor

    async def __call__(self, fn: Callable[..., T], *args: Any) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.executor, fn, *args)


class _CodeMap(dict[bytes, int]):
    def __missing__(self, key: bytes) -> int:
        return -1


class _Cadres:
    """Cadre code → (id, unit id) for one batch: the whole table for big batches (one read),
    else just the codes seen."""

    BULK_ROWS = 10_000

    def __init__(self) -> None:
        self.ids = _CodeMap()
        self.units = _CodeMap()
        self.complete = False

    def _add(self, rows: list[asyncpg.Record]) -> None:
        codes = [r[0].encode("utf-8") for r in rows]
        self.ids.update(zip(codes, [r[1] for r in rows], strict=True))
        self.units.update(zip(codes, [r[2] for r in rows], strict=True))

    async def load(self, conn: asyncpg.Connection, block: _Block) -> None:
        if self.complete:
            return
        if block.rows >= self.BULK_ROWS:
            self._add(await conn.fetch(Q["all_cadres"]))
            self.complete = True
            return
        missing = {c for c in set(block.codes) if c not in self.ids}
        if missing:
            found = await conn.fetch(Q["cadres_by_codes"], [c.decode("utf-8") for c in missing])
            self._add(found)


def _resolve_and_encode(
    block: _Block,
    cadres: _Cadres,
    scope: frozenset[int] | None,
    problems: Problems,
    batch_id: int,
    staged: bool,
) -> None:
    """Cadre ids from codes (unknown codes and cadres outside the scope are the same problem),
    then the binary COPY data of the block: for task_staging when ``staged``, else for
    task_records with the block's totals."""
    cols = block.cols
    assert cols is not None
    n = len(cols)
    run_of_row = np.repeat(np.arange(len(block.runs)), np.diff(np.r_[block.runs, n]))
    run_ids = np.fromiter(map(cadres.ids.__getitem__, block.codes), np.int64, len(block.codes))
    if scope is not None:  # another subtree's cadre reads as an unknown code: no probing
        run_units = map(cadres.units.__getitem__, block.codes)
        units_of_run = np.fromiter(run_units, np.int64, len(block.codes))
        inside = np.isin(units_of_run, np.fromiter(scope, np.int64, len(scope)))
        run_ids = np.where(inside, run_ids, -1)
    ids = run_ids[run_of_row]
    unknown = np.flatnonzero(ids < 0)
    for i in unknown[:MAX_REPORTED_PROBLEMS]:
        code = block.codes[run_of_row[i]].decode("utf-8", "replace")
        problems.add(int(cols.row_no[i]), "cadre_code", f"no cadre with code {code!r}")
    problems.total += max(0, len(unknown) - MAX_REPORTED_PROBLEMS)
    if len(unknown):
        return
    if staged:
        block.data, _ = _encode(cols, ids, cols.row_no)
    else:
        block.data, block.row_ends = _encode(cols, ids, np.full(n, batch_id, np.int64))
        block.row_no = cols.row_no
        block.totals_data = _block_totals(cols, ids)
    block.staged = staged
    block.cols = None  # the COPY data is all that is needed now
    block.codes = []


def units(x: npt.NDArray[np.float64]) -> npt.NDArray[np.int64]:
    """Millionths, rounded half up: the same float64 operations as SQL ``task_units``."""
    return np.floor(x * 1000000.0 + 0.5).astype(np.int64)


def _block_totals(cols: TaskColumns, cadre_ids: npt.NDArray[np.int64]) -> bytes:
    """Binary COPY of the block's Decree 335 sums per (cadre, month), exact in int64."""
    k, assigned, done = cols.k, cols.assigned, cols.done
    quality = np.maximum(0.0, 1 - 0.25 * cols.errors_counted)
    timely = np.maximum(0.0, 1 - 0.25 * cols.delays_counted)
    parts = [
        np.ones(len(k), np.int64),
        units(k * assigned),
        units(k * done),
        units(k * done * quality),
        units(k * done * timely),
        cols.exceeded.astype(np.int64),
        (cols.delays_counted > 0).astype(np.int64),
        np.where(cols.exceeded, units(k * done), 0),
        np.where(cols.delays_counted > 0, units(k * done), 0),
    ]
    key = (cadre_ids << 20) | cols.month.astype(np.int64)
    order = np.argsort(key, kind="stable")
    sorted_key = key[order]
    first = np.flatnonzero(np.r_[True, sorted_key[1:] != sorted_key[:-1]])
    groups = sorted_key[first]
    sums = [np.add.reduceat(p[order], first) for p in parts]
    return copybin.encode(
        [
            copybin.Fixed(groups >> 20, "int8"),
            copybin.Fixed((groups & ((1 << 20) - 1)).astype(np.int32), "int4"),
            *(copybin.Fixed(s, "int8") for s in sums),
        ]
    )


def _encode(
    cols: TaskColumns, cadre_ids: npt.NDArray[np.int64], last: npt.NDArray[np.int64]
) -> tuple[bytes, npt.NDArray[np.int64]]:
    """task_records' columns, ``last`` in batch_id's place (the batch id, or row numbers for
    task_staging)."""
    f, t = copybin.Fixed, copybin.Text
    return copybin.encode_with_row_ends(
        [
            t(cols.source_system),
            t(cols.external_id),
            f(cadre_ids, "int8"),
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
            f(last, "int8"),
        ]
    )


async def _blocks(
    pieces: AsyncIterator[bytes],
    fmt: Format,
    default_source: str | None,
    problems: Problems,
    finish: Callable[[_Block], None],
    work: _Worker,
) -> AsyncIterator[_Block]:
    """Parse the byte stream into blocks (in a worker thread); ``finish`` resolves and encodes
    a block in the same thread when it can (the cadre map is complete)."""

    def wrap(cols: TaskColumns | None, first_row: int) -> _Block | None:
        if cols is None or not len(cols):
            return None
        runs = cols.cadre_code.runs()
        block = _Block(len(cols), first_row, cols, cols.cadre_code.take(runs).to_list(), runs)
        finish(block)
        return block

    if fmt == "json":
        body = bytearray()
        async for piece in pieces:
            body += piece
            if len(body) > MAX_JSON_ARRAY_BYTES:
                raise InvalidInput(
                    f"a JSON array may hold at most {MAX_JSON_ARRAY_BYTES >> 20} MiB; "
                    "send NDJSON or CSV for large batches"
                )
        cols = await work(parse_json_array, bytes(body), default_source, problems)
        parsed = await work(wrap, cols, 1)
        if parsed is not None:
            yield parsed
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
        return wrap(cols, first_row)

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
                parsed = await work(parse, block, next_row)
                if parsed is not None:
                    yield parsed
            next_row += rows
    for block in chunker.finish():
        if not problems.full:
            parsed = await work(parse, block, next_row)
            if parsed is not None:
                yield parsed


async def _prefetch(source: AsyncIterator[_Block]) -> AsyncGenerator[_Block, None]:
    """Produce the next item of ``source`` in a task while the consumer handles this one, so
    parsing overlaps the database work. One item ahead, no more: a queue would also hold one
    more in the producer waiting to put it."""

    async def step() -> _Block:
        return await anext(source)

    ahead: asyncio.Task[_Block] = asyncio.create_task(step())
    try:
        while True:
            try:
                item = await ahead
            except StopAsyncIteration:
                return
            ahead = asyncio.create_task(step())
            yield item
            del item
    finally:
        ahead.cancel()
        with contextlib.suppress(asyncio.CancelledError, StopAsyncIteration, Exception):
            await ahead


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
        RuleViolation: rows breaking a rule (each problem names row, field and reason); a
            cadre outside the caller's unit subtree reads as an unknown code.
    """
    problems = Problems()
    scope: frozenset[int] | None = None
    scope_list: list[int] | None = None
    if principal is not None and not principal.city_wide:
        assert principal.scope_unit_id is not None
        scope_list = await subtree_ids(conn, principal.scope_unit_id)
        scope = frozenset(scope_list)
    cadres = _Cadres()
    # One worker thread for all CPU work of the batch: numpy's large temporaries then come
    # from one malloc arena, so memory stays flat however long the upload is.
    executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="evalsvc-ingest")
    work = _Worker(executor)
    try:
        return await _ingest(
            conn,
            pieces,
            fmt,
            principal,
            origin,
            default_source,
            on_rows,
            problems,
            scope,
            scope_list,
            cadres,
            work,
        )
    finally:
        executor.shutdown(wait=False, cancel_futures=True)


async def _ingest(
    conn: asyncpg.Connection,
    pieces: AsyncIterator[bytes],
    fmt: Format,
    principal: Principal | None,
    origin: Literal["http", "cli"],
    default_source: str | None,
    on_rows: Callable[[int], None] | None,
    problems: Problems,
    scope: frozenset[int] | None,
    scope_list: list[int] | None,
    cadres: _Cadres,
    work: _Worker,
) -> IngestResult:
    batch_id = 0
    fresh = True  # no key of this batch existed so far: copy straight into task_records

    def finish(block: _Block) -> None:
        if cadres.complete and not problems.total:
            _resolve_and_encode(block, cadres, scope, problems, batch_id, not fresh)

    received = inserted = updated = 0
    delta_blocks = 0  # blocks written whose sums wait in task_totals_delta
    staged_blocks = staged_rows = 0  # blocks in task_staging, not yet diffed and upserted

    async def add_totals() -> None:
        nonlocal delta_blocks
        if delta_blocks:
            await conn.execute(Q["totals_add"])
            await conn.execute("truncate task_totals_delta")
            delta_blocks = 0

    async def write_staged() -> None:
        nonlocal staged_blocks, staged_rows, inserted, updated, delta_blocks
        if not staged_blocks:
            return
        stats = await _upsert_block(conn, batch_id, scope_list, problems)
        await conn.execute("truncate task_staging")
        if stats is not None:
            inserted += stats[0]
            updated += stats[1]
            delta_blocks += staged_blocks
            if on_rows is not None:
                on_rows(staged_rows)
        staged_blocks = staged_rows = 0
        if delta_blocks >= TOTALS_BLOCKS:
            await add_totals()

    async with conn.transaction():
        await conn.execute(Q["lock_ingest"])
        await conn.execute(Q["create_staging"])
        key_id = principal.key_id if principal is not None and principal.key_id > 0 else None
        batch_id = await conn.fetchval(Q["new_batch"], key_id, origin, fmt)
        blocks = _prefetch(_blocks(pieces, fmt, default_source, problems, finish, work))
        async with contextlib.aclosing(blocks):
            async for block in blocks:
                received += block.rows
                if problems.total:
                    block.release()
                    continue  # keep parsing to report more problems, but write nothing more
                if not block.encoded:
                    await cadres.load(conn, block)
                    await work(
                        _resolve_and_encode, block, cadres, scope, problems, batch_id, not fresh
                    )
                    if not block.encoded:
                        continue
                if fresh and not block.staged:
                    if await _copy_fresh(conn, block):
                        block.release()
                        inserted += block.rows
                        delta_blocks += 1
                        if delta_blocks >= TOTALS_BLOCKS:
                            await add_totals()
                        if on_rows is not None:
                            on_rows(block.rows)
                        continue
                    fresh = False  # a key exists: this block and all later ones are staged
                staging = await work(block.staging_data)
                await _copy(conn, "task_staging", staging)
                del staging
                staged_blocks += 1
                staged_rows += block.rows
                if staged_blocks >= WRITE_BLOCKS:
                    await write_staged()
        if not problems.total:
            await write_staged()
            await add_totals()
        problems.raise_if_any()
        await conn.execute(Q["finish_batch"], batch_id, received, inserted, updated)
    return IngestResult(batch_id, received, inserted, updated, received - inserted - updated)


async def _pieces(data: bytes) -> AsyncIterator[bytes]:
    for start in range(0, len(data), COPY_PIECE):
        yield data[start : start + COPY_PIECE]


async def _copy(conn: asyncpg.Connection, table: str, data: bytes) -> None:
    """Binary COPY of ``data`` into ``table``, in messages of ``COPY_PIECE`` bytes."""
    await conn.copy_to_table(table, source=_pieces(data), format="binary")


async def _copy_fresh(conn: asyncpg.Connection, block: _Block) -> bool:
    """COPY the block straight into task_records and its sums into task_totals_delta, under a
    savepoint; False (nothing written) when some key already exists (task_records_pkey)."""
    assert block.data is not None
    assert block.totals_data is not None
    try:
        async with conn.transaction():
            await _copy(conn, "task_records", block.data)
            await _copy(conn, "task_totals_delta", block.totals_data)
    except asyncpg.UniqueViolationError:
        return False
    return True


async def _upsert_block(
    conn: asyncpg.Connection, batch_id: int, scope: list[int] | None, problems: Problems
) -> tuple[int, int] | None:
    """Write the staged rows that are new or changed; returns (inserted, updated), or None
    after recording the problems (repeated keys)."""
    await conn.execute("truncate task_changed")
    await conn.execute(Q["diff_block"])
    # A temp table has no statistics: planned as "a few rows", task_changed became the inner
    # side of a nested loop over every stored record (a 50,000-row correction of a city's
    # records ran for over 15 minutes). ANALYZE samples it in milliseconds.
    await conn.execute("analyze task_changed")
    stats = await conn.fetchrow(Q["changed_stats"], batch_id, scope)
    assert stats is not None
    if stats["out_of_scope"]:
        # Keys are city-wide: a key in use elsewhere cannot read as unknown (it would be
        # added); "in use" says no more than that, and names no cadre or unit.
        problems.add(
            None,
            "external_id",
            f"{stats['out_of_scope']} row(s) reuse (source_system, external_id) keys already "
            "in use by records this key may not change",
        )
        return None
    if stats["repeated"]:
        await _report_repeats(conn, batch_id, problems)
        return None
    try:
        async with conn.transaction():
            updated = int((await conn.execute(Q["update_changed"], batch_id)).rsplit(" ", 1)[1])
            if updated != stats["replacing"]:
                raise _Rejected
            status = await conn.execute(Q["insert_changed"], batch_id)
            await conn.execute(Q["totals_changed"])
    except (asyncpg.UniqueViolationError, _Rejected):
        await _report_repeats(conn, batch_id, problems)
        return None
    return int(status.rsplit(" ", 1)[1]), updated


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
) -> tuple[list[dict[str, Any]], int]:
    cadre_id, scope = await _filters(conn, principal, cadre_code)
    out, total = await fetch_counted(
        conn, Q["list_records"], month, cadre_id, scope, limit=limit, offset=offset
    )
    for d in out:
        d["month"] = format_month(d["month"])
    return out, total


async def list_totals(
    conn: asyncpg.Connection,
    principal: Principal,
    *,
    month: int,
    cadre_code: str | None,
    limit: int,
    offset: int,
) -> tuple[list[dict[str, Any]], int]:
    """Monthly totals with the derived ratios (a, b, c) and shares, for display and audit."""
    cadre_id, scope = await _filters(conn, principal, cadre_code)
    out, total = await fetch_counted(
        conn, Q["list_totals"], month, cadre_id, scope, limit=limit, offset=offset
    )
    for d in out:
        base = d["k_assigned"]
        records = d["records"]
        d["month"] = format_month(d["month"])
        done = d["k_done"]
        for name in _SUMS:
            d[name] = d[name] / 1_000_000
        d["quantity"] = d["k_done"] / d["k_assigned"] if base else None
        d["quality"] = d["k_done_quality"] / d["k_assigned"] if base else None
        d["timeliness"] = d["k_done_timely"] / d["k_assigned"] if base else None
        # the qd366 gates' shares (DOMAIN part 3 step 5), k-weighted
        d["exceeded_share"] = d["k_done_exceeded"] / d["k_assigned"] if base else None
        d["late_share"] = d["k_done_late"] / d["k_done"] if done else (0.0 if records else None)
    return out, total


_SUMS = (
    "k_assigned",
    "k_done",
    "k_done_quality",
    "k_done_timely",
    "k_done_exceeded",
    "k_done_late",
)


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


async def has_task_data(conn: asyncpg.Connection) -> bool:
    """True once any task record was loaded (loaders of synthetic activity run once)."""
    return bool(await conn.fetchval(Q["any_totals"]))
