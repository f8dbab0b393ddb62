"""The demo city (a year of activity, 2026 computed and published), seeded once per test
session into a template database; each test gets its own copy of it."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest
from litestar.testing import AsyncTestClient

from evalsvc.api.app import create_app
from evalsvc.democity.city import load_demo
from evalsvc.keyring import derive
from evalsvc.settings import Settings
from evalsvc.store.database import connect, with_database


@pytest.fixture(scope="session")
async def demo_template(pg_server_dsn: str, template_db: str) -> str:
    name = f"evalsvc_demo_{os.getpid()}"
    admin = await asyncpg.connect(with_database(pg_server_dsn, "postgres"))
    try:
        await admin.execute(f'drop database if exists "{name}"')
        await admin.execute(f'create database "{name}" template "{template_db}"')
    finally:
        await admin.close()
    conn = await connect(with_database(pg_server_dsn, name))
    try:
        await load_demo(conn, derive(b"demo pages test"))
    finally:
        await conn.close()
    return name


@pytest.fixture
async def demo_dsn(pg_server_dsn: str, demo_template: str) -> AsyncIterator[str]:
    name = f"evalsvc_d_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(with_database(pg_server_dsn, "postgres"))
    try:
        await admin.execute(f'create database "{name}" template "{demo_template}"')
        yield with_database(pg_server_dsn, name)
        await admin.execute(f'drop database if exists "{name}" with (force)')
    finally:
        await admin.close()


@pytest.fixture
async def demo_conn(demo_dsn: str) -> AsyncIterator[asyncpg.Connection]:
    conn = await connect(demo_dsn)
    try:
        yield conn
    finally:
        await conn.close()


@pytest.fixture
async def demo_client(tmp_path: Path, demo_dsn: str) -> AsyncIterator[AsyncTestClient]:  # type: ignore[type-arg]
    settings = Settings(database_url=demo_dsn, data_dir=str(tmp_path), pool_max_size=4)
    async with AsyncTestClient(app=create_app(settings, demo_dsn)) as client:
        yield client
