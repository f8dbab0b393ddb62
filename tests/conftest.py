"""Test fixtures: a real PostgreSQL, one migrated template per session, a clone per test.

The server is ``EVALSVC_TEST_DATABASE_URL`` when set, else an embedded server in a temporary
folder. Tests that never ask for a database fixture start no server.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest
from litestar.testing import AsyncTestClient

from evalsvc.api.app import create_app
from evalsvc.domain.access import Role, generate_key
from evalsvc.settings import Settings
from evalsvc.store import roles
from evalsvc.store.database import connect, start_embedded, with_database
from evalsvc.store.keys import create_key
from evalsvc.store.migrations import migrate


def pytest_configure(config: pytest.Config) -> None:
    """Temporary folders outside /tmp/pytest-of-<user>.

    Every pytest session that starts chmods that folder to 0700; as root the embedded
    PostgreSQL runs as its own system user, which then loses its way to a data folder below
    it mid-run (initdb's "Permission denied", pg_ctl's missing ``pgdata/log``) whenever
    another pytest starts on the machine. A folder of our own is left alone.
    """
    if config.option.basetemp is None:
        base = Path(tempfile.mkdtemp(prefix="evalsvc-pytest-"))
        base.chmod(0o755)
        config.option.basetemp = str(base / "t")
        # Registered first, so it runs after the embedded servers' own exit hooks stop them.
        atexit.register(shutil.rmtree, base, True)


@pytest.fixture(scope="session")
def pg_server_dsn(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """DSN of a server we may create and drop databases on."""
    external = os.environ.get("EVALSVC_TEST_DATABASE_URL")
    if external:
        yield external
        return
    yield start_embedded(Path(tmp_path_factory.mktemp("pg")) / "pgdata")


@pytest.fixture(scope="session")
async def template_db(pg_server_dsn: str) -> str:
    """A database migrated once per session; tests clone it (``CREATE DATABASE ... TEMPLATE``)."""
    name = f"evalsvc_tpl_{os.getpid()}"
    admin = await asyncpg.connect(with_database(pg_server_dsn, "postgres"))
    try:
        await admin.execute(f'drop database if exists "{name}"')
        await admin.execute(f'create database "{name}"')
    finally:
        await admin.close()
    conn = await asyncpg.connect(with_database(pg_server_dsn, name))
    try:
        # As the service runs: objects owned by the owner role, the app served by the
        # least-privilege role (store/roles.py), which the `client` fixture connects as.
        await roles.setup(conn)
        await roles.as_owner(conn)
        await migrate(conn)
        await conn.execute("reset role")
    finally:
        await conn.close()
    return name


@pytest.fixture
async def db_dsn(pg_server_dsn: str, template_db: str) -> AsyncIterator[str]:
    """A fresh, migrated database for one test, dropped afterwards."""
    name = f"evalsvc_t_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(with_database(pg_server_dsn, "postgres"))
    try:
        await admin.execute(f'create database "{name}" template "{template_db}"')
        yield with_database(pg_server_dsn, name)
        await admin.execute(f'drop database if exists "{name}" with (force)')
    finally:
        await admin.close()


@pytest.fixture
async def conn(db_dsn: str) -> AsyncIterator[asyncpg.Connection]:
    """A direct connection to the test's database, for arranging and checking."""
    connection = await connect(db_dsn)
    try:
        yield connection
    finally:
        await connection.close()


@pytest.fixture
def settings(tmp_path: Path, db_dsn: str) -> Settings:
    return Settings(
        database_url=db_dsn, data_dir=str(tmp_path), pool_max_size=4, in_process_worker=True
    )


@pytest.fixture
async def client(settings: Settings, db_dsn: str) -> AsyncIterator[AsyncTestClient]:  # type: ignore[type-arg]
    """The app on its own pool (its own event loop), as an HTTP client, connected as the
    serving role (least privilege, like `evalsvc serve` on the embedded server)."""
    app = create_app(settings, roles.app_dsn(db_dsn))
    async with AsyncTestClient(app=app) as test_client:
        yield test_client


async def make_key(
    conn: asyncpg.Connection, role: Role, unit_code: str | None = None
) -> dict[str, str]:
    """Create an API key and return the header that carries it."""
    key = generate_key()
    await create_key(conn, key, role, unit_code, f"test {role.value}")
    return {"Authorization": f"Bearer {key.token}"}


@pytest.fixture
async def admin_headers(conn: asyncpg.Connection) -> dict[str, str]:
    return await make_key(conn, Role.ADMIN)
