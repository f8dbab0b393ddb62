"""Storing a run's caches (month carries, input packs) beside its rows.

Carries and packs are caches (unlogged, referenced by nothing durable). With a lent
connection they are stored on it, each in its own transaction, while the run's transaction
is still sending the run's rows, so storing them costs the run no waiting (migration
0009); without one they are stored in the run's transaction, as the last thing before the
commit. If the run fails, the carries stored for its new month runs are deleted
(:meth:`CacheWriter.discard`); one that outlives a crash is never used (candidates are
complete runs only). A pack stays valid whatever became of the run that read it: it is
keyed by the input version it was read at.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from datetime import date

import asyncpg

from evalsvc.jobs import packs, reading
from evalsvc.store import carries as carry_store
from evalsvc.store import input_packs

Store = Callable[[asyncpg.Connection], Awaitable[None]]


class CacheWriter:
    """Stores what is added once ``ready`` has completed (it builds the payloads off the
    event loop: ``Reuse.payloads`` and ``Reuse.new_packs``); :meth:`wait` returns when all is
    stored."""

    def __init__(
        self,
        conn: asyncpg.Connection,
        reuse: reading.Reuse,
        ready: asyncio.Future[None],
        reader: reading.Reader | None,
    ) -> None:
        self._conn, self._reuse, self._ready, self._reader = conn, reuse, ready, reader
        self._queue: asyncio.Queue[Store | None] = asyncio.Queue()
        self._pending: list[Store] = []
        self._task: asyncio.Task[None] | None = None
        self._new: list[int] = []

    def add_carry(self, run_id: int, month: date, *, new_run: bool) -> None:
        """Store ``run_id``'s carry of ``month`` (``new_run``: a run this job creates)."""
        if new_run:
            self._new.append(run_id)

        async def store(conn: asyncpg.Connection) -> None:
            await reading.store_carry(conn, self._reuse, run_id, month)

        self._add(store)

    def add_packs(self) -> None:
        """Store the inputs this run read as rows, packed (``Reuse.new_packs``)."""

        async def store(conn: asyncpg.Connection) -> None:
            await input_packs.forget_other_formats(conn, packs.kind_suffix())
            for key, payload in self._reuse.new_packs:
                await input_packs.put(
                    conn,
                    key.kind,
                    key.year,
                    key.version,
                    payload,
                    self._reuse.snapshot,
                    forget_changes=packs.is_month(key),
                )

        self._add(store)

    def _add(self, store: Store) -> None:
        if self._reader is None:
            self._pending.append(store)
            return
        if self._task is None:
            self._task = asyncio.ensure_future(self._store_aside(self._reader))
        self._queue.put_nowait(store)

    async def _store_aside(self, reader: reading.Reader) -> None:
        async with reader() as side:
            while (store := await self._queue.get()) is not None:
                await self._ready
                await store(side)

    async def wait(self) -> None:
        """Return once everything added is stored (raises what storing raised)."""
        if self._task is not None:
            self._queue.put_nowait(None)
            await self._task
        for store in self._pending:
            await self._ready
            await store(self._conn)
        self._pending.clear()

    async def discard(self) -> None:
        """The run failed: stop storing, and forget the carries of its new month runs."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        await carry_store.delete(self._conn, self._new)
