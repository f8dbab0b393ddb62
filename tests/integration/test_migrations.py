from __future__ import annotations

import asyncpg
import pytest

from evalsvc.store import migrations
from evalsvc.store.migrations import Migration, MigrationError, load_migrations, migrate

EXPECTED_TABLES = {
    "schema_migrations",
    "units",
    "unit_outstanding_years",
    "peer_groups",
    "cadres",
    "employment_spells",
    "absences",
    "cadre_unit_moves",
    "catalogs",
    "catalog_items",
    "api_keys",
}


async def tables(conn: asyncpg.Connection) -> set[str]:
    rows = await conn.fetch(
        "select table_name from information_schema.tables where table_schema = 'public'"
    )
    return {r["table_name"] for r in rows}


async def test_all_migrations_apply_to_an_empty_database_then_are_a_no_op(
    pg_server_dsn: str,
) -> None:
    from evalsvc.store.database import with_database

    admin = await asyncpg.connect(with_database(pg_server_dsn, "postgres"))
    await admin.execute('drop database if exists "evalsvc_empty"')
    await admin.execute('create database "evalsvc_empty"')
    try:
        conn = await asyncpg.connect(with_database(pg_server_dsn, "evalsvc_empty"))
        try:
            assert await tables(conn) == set()
            applied = await migrate(conn)
            assert [m.version for m in applied] == [m.version for m in load_migrations()]
            assert await tables(conn) >= EXPECTED_TABLES
            assert await migrate(conn) == []
            recorded = await conn.fetchval("select count(*) from schema_migrations")
            assert recorded == len(load_migrations())
        finally:
            await conn.close()
    finally:
        await admin.execute('drop database "evalsvc_empty" with (force)')
        await admin.close()


async def test_an_edited_applied_migration_is_refused(
    conn: asyncpg.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = load_migrations()
    edited = [Migration(m.version, m.name, m.sql + "\n-- edited") for m in original]
    monkeypatch.setattr(migrations, "load_migrations", lambda: edited)
    with pytest.raises(MigrationError, match="changed after it was applied"):
        await migrate(conn)


def test_migration_files_are_numbered_in_order_without_repeats() -> None:
    # Branches get ranges of numbers (0030-0039, ...), so gaps between ranges are expected.
    versions = [m.version for m in load_migrations()]
    assert versions == sorted(set(versions))
    assert versions[:11] == list(range(1, 12))
