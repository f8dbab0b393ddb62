"""Storing a run's month carries beside its rows, on a second connection when one is lent.

A carry is a cache (``store/carries.py``: unlogged, referenced by nothing durable). With a
lent connection it is stored in its own transaction while the run's transaction is still
sending the run's rows, so its ~10 MB cost the run no time (migration 0009); without one
it is stored in the run's transaction, as the last thing before the commit. If the run
fails, the carries stored for its new month runs are deleted (:meth:`CarryWriter.discard`);
one that outlives a crash is never used (candidates are complete runs only).
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import date

import asyncpg

from evalsvc.jobs import reading
from evalsvc.store import carries as carry_store


class CarryWriter:
    """Stores (or restamps) the carries :meth:`add`\\ ed, once ``ready`` has completed.

    ``ready`` builds the payloads (``Reuse.payloads``, off the event loop); :meth:`wait`
    returns when every carry is stored.
    """

    def __init__(
        self,
        conn: asyncpg.Connection,
        reuse: reading.Reuse,
        ready: asyncio.Future[None],
        reader: reading.Reader | None,
    ) -> None:
        self._conn, self._reuse, self._ready, self._reader = conn, reuse, ready, reader
        self._queue: asyncio.Queue[tuple[int, date] | None] = asyncio.Queue()
        self._pending: list[tuple[int, date]] = []
        self._task: asyncio.Task[None] | None = None
        self._new: list[int] = []

    def add(self, run_id: int, month: date, *, new_run: bool) -> None:
        """Store ``run_id``'s carry of ``month`` (``new_run``: a run this job creates)."""
        if new_run:
            self._new.append(run_id)
        if self._reader is None:
            self._pending.append((run_id, month))
            return
        if self._task is None:
            self._task = asyncio.ensure_future(self._store_aside(self._reader))
        self._queue.put_nowait((run_id, month))

    async def _store_aside(self, reader: reading.Reader) -> None:
        async with reader() as side:
            while (item := await self._queue.get()) is not None:
                await self._ready
                await reading.store_carry(side, self._reuse, *item)

    async def wait(self) -> None:
        """Return once every carry added is stored (raises what storing one raised)."""
        if self._task is not None:
            self._queue.put_nowait(None)
            await self._task
        for run_id, month in self._pending:
            await self._ready
            await reading.store_carry(self._conn, self._reuse, run_id, month)
        self._pending.clear()

    async def discard(self) -> None:
        """The run failed: stop storing, and forget the carries of its new month runs."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        await carry_store.delete(self._conn, self._new)
