"""Month packs kept current after imports, so a recomputation unpacks instead of reading.

A bulk import changes a month as a whole (past 5,000 cadres in one statement: ``0011``), and
the next recomputation of that month would read its rows again: 400,000 at city scale, about
half of that run's second. After an import the service reads such a month once, off any
recomputation's path, and stores its pack at the month's new version (``jobs/packs.py``):
the next run unpacks it. A correction of a few cadres is left to the runs, which patch the
pack with those rows (``jobs/reading.py``). ``serve`` also looks every
``EVALSVC_PACK_REFRESH_SECONDS`` (60) for months changed in bulk by other means (plain SQL:
the triggers note those changes too). Packs are caches: a refresh that fails or never runs
costs the next recomputation its read, nothing else.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from datetime import date

import asyncpg

from evalsvc.jobs import inputs, packs, reading
from evalsvc.store import input_changes, input_packs, input_versions

log = logging.getLogger(__name__)


async def refresh(conn: asyncpg.Connection) -> list[date]:
    """Read and pack again every month whose changes a patch would not absorb cheaply (a
    table changed as a whole, at least ``reading.REPACK_AFTER`` cadres, or no pack yet).

    Each month is read in its own repeatable-read snapshot and stored at the version seen
    in it; a pack read in a later snapshot (a recomputation meanwhile) is kept instead.

    Returns:
        The months packed.
    """
    kind = packs.month_kind()
    done: list[date] = []
    for ym in await input_changes.months_to_repack(conn, kind, reading.REPACK_AFTER):
        month = date(ym // 100, ym % 100, 1)
        async with conn.transaction(isolation="repeatable_read", readonly=True):
            snapshot: str = await conn.fetchval("select pg_current_snapshot()::text")
            version = (await input_versions.versions(conn, [ym]))[ym]
            rows = await inputs.read_month_rows(conn, [month])
        payload = await asyncio.to_thread(packs.pack_month, packs.split_months(rows)[month])
        if not done:
            await input_packs.forget_other_formats(conn, packs.kind_suffix())
        await input_packs.put(conn, kind, ym, version, payload, snapshot, forget_changes=True)
        done.append(month)
    return done


Lend = Callable[[], AbstractAsyncContextManager[asyncpg.Connection]]


class Refresher:
    """Runs :func:`refresh` in the background after imports, one at a time.

    :meth:`poke` after a commit that may have changed months in bulk; pokes while a refresh
    runs make it run once more (what to read is found from the change notes, so imports
    in quick succession cost one read per month).
    """

    def __init__(self, lend: Lend) -> None:
        self._lend = lend
        self._again = False
        self._task: asyncio.Task[None] | None = None

    def poke(self) -> None:
        self._again = True
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def every(self, seconds: float) -> None:
        """Poke every ``seconds`` (changes made by other means than evalsvc's uploads, e.g.
        plain SQL, are noted by the same triggers); runs until cancelled."""
        while True:
            await asyncio.sleep(seconds)
            self.poke()

    async def _run(self) -> None:
        while self._again:
            self._again = False
            try:
                async with self._lend() as conn:
                    months = await refresh(conn)
                if months:
                    log.info("packed %s for the next recomputation", _names(months))
            except asyncio.CancelledError:
                raise
            except Exception:  # a cache: the next recomputation reads the rows instead
                log.exception("refreshing month packs failed")

    async def stop(self) -> None:
        """Cancel a refresh in progress (its transaction rolls back; nothing half-stored)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


def _names(months: list[date]) -> str:
    return ", ".join(f"{m:%Y-%m}" for m in months)


def describe(months: list[date]) -> str:
    """What a CLI prints after an import refreshed ``months`` (empty: nothing to say)."""
    return f"packed {_names(months)} for the next recomputation" if months else ""
