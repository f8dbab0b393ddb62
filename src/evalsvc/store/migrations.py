"""Apply ``sql/migrations/NNNN_name.sql`` in order, once each, under an advisory lock.

Each file runs in its own transaction; the table ``schema_migrations`` records its version
and a SHA-256 checksum, so an already-applied file that was edited is refused, not re-run.
Then data the SQL cannot move is converted (``store/result_upgrade.py``).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

import asyncpg
from pgqueuer import Queries

from evalsvc.store.result_upgrade import convert_chunk_results
from evalsvc.store.roles import grant_app
from evalsvc.store.sqlfiles import sql_root

# Any constant works; it only has to be the same for every evalsvc process.
MIGRATION_LOCK_KEY = 0x65_76_61_6C_73_76_63  # "evalsvc"
_FILE = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


class MigrationError(RuntimeError):
    """The database's migration history does not match the files."""


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


def load_migrations() -> list[Migration]:
    """All migration files, sorted by version; duplicate versions are an error."""
    found: dict[int, Migration] = {}
    for entry in (sql_root() / "migrations").iterdir():
        match = _FILE.match(entry.name)
        if not match:
            continue
        version = int(match.group(1))
        if version in found:
            raise MigrationError(f"two migration files with version {version:04d}")
        found[version] = Migration(version, match.group(2), entry.read_text(encoding="utf-8"))
    return [found[v] for v in sorted(found)]


async def apply_views(conn: asyncpg.Connection) -> bool:
    """(Re)create the views of ``sql/views/*.sql`` when a file changed since it was applied
    (its SHA-256 in ``schema_views``); each file in one transaction. Views come after every
    numbered migration, so they may use any column one added."""
    await conn.execute(
        "create table if not exists schema_views (name text primary key, checksum text not null)"
    )
    changed = False
    views = sorted(
        (f for f in (sql_root() / "views").iterdir() if f.name.endswith(".sql")),
        key=lambda f: f.name,
    )
    for entry in views:
        text = entry.read_text(encoding="utf-8")
        checksum = hashlib.sha256(text.encode()).hexdigest()
        stored = await conn.fetchval(
            "select checksum from schema_views where name = $1", entry.name
        )
        if stored == checksum:
            continue
        async with conn.transaction():
            await conn.execute(text)
            await conn.execute(
                "insert into schema_views (name, checksum) values ($1, $2)"
                " on conflict (name) do update set checksum = excluded.checksum",
                entry.name,
                checksum,
            )
        changed = True
    return changed


async def migrate(conn: asyncpg.Connection) -> list[Migration]:
    """Apply pending migrations; return those applied now (empty when up to date)."""
    await conn.execute("select pg_advisory_lock($1)", MIGRATION_LOCK_KEY)
    # Objects belong to the owner role when it is set up (store/roles.py), whoever logs in.
    owner = await conn.fetchval(_OWNER_ROLE_USABLE)
    if owner:
        await conn.execute("set role evalsvc_owner")
    try:
        if not owner and not await conn.fetchval(_MAY_CREATE):
            # The serving role (least privilege) changes no schema: it only checks that
            # whoever deploys has migrated (docs/ballots.md "Least privilege").
            await check_current(conn)
            return []
        await conn.execute(
            """
            create table if not exists schema_migrations (
                version     int primary key,
                name        text not null,
                checksum    text not null,
                applied_at  timestamptz not null default now()
            )
            """
        )
        rows = await conn.fetch("select version, name, checksum from schema_migrations")
        applied = {r["version"]: r for r in rows}
        done: list[Migration] = []
        for migration in load_migrations():
            row = applied.get(migration.version)
            if row is not None:
                if row["checksum"] != migration.checksum:
                    raise MigrationError(
                        f"migration {migration.version:04d}_{migration.name} was changed after "
                        "it was applied; add a new migration instead of editing it"
                    )
                continue
            async with conn.transaction():
                await conn.execute(migration.sql)
                await conn.execute(
                    "insert into schema_migrations (version, name, checksum) values ($1, $2, $3)",
                    migration.version,
                    migration.name,
                    migration.checksum,
                )
            done.append(migration)
        await apply_views(conn)
        await convert_chunk_results(conn)  # data the SQL files cannot move (0020)
        queue = Queries.from_asyncpg_connection(conn)
        if not await queue.schema_is_installed():  # the job queue's own tables (0022)
            await queue.install()
        await grant_app(conn)  # the serving role's privileges on what now exists
        return done
    finally:
        if owner:
            await conn.execute("reset role")
        await conn.execute("select pg_advisory_unlock($1)", MIGRATION_LOCK_KEY)


async def check_current(conn: asyncpg.Connection) -> None:
    """Refuse to serve a database whose migrations or views are behind the files.

    Raises:
        MigrationError: naming what is pending and how to apply it.
    """
    applied: dict[int, str] = {}
    views: dict[str, str] = {}
    if await conn.fetchval("select to_regclass('schema_migrations') is not null"):
        applied = {
            r["version"]: r["checksum"]
            for r in await conn.fetch("select version, checksum from schema_migrations")
        }
    if await conn.fetchval("select to_regclass('schema_views') is not null"):
        views = {
            r["name"]: r["checksum"]
            for r in await conn.fetch("select name, checksum from schema_views")
        }
    pending = [f"{m.version:04d}_{m.name}" for m in load_migrations() if m.version not in applied]
    changed = [
        f"{m.version:04d}_{m.name}"
        for m in load_migrations()
        if m.version in applied and applied[m.version] != m.checksum
    ]
    stale = [
        f.name
        for f in (sql_root() / "views").iterdir()
        if f.name.endswith(".sql")
        and views.get(f.name) != hashlib.sha256(f.read_text(encoding="utf-8").encode()).hexdigest()
    ]
    if changed:
        raise MigrationError(f"migrations changed after they were applied: {', '.join(changed)}")
    if pending or stale:
        user = await conn.fetchval("select current_user")
        raise MigrationError(
            f"the database is not up to date ({', '.join(pending + stale)} pending) and "
            f"{user} may not change its schema: run `evalsvc migrate` with "
            "EVALSVC_MIGRATION_DATABASE_URL set to the owner's login (docs/ballots.md)"
        )


# The login may create in the schema (a superuser, or an old set-up's owner login).
_MAY_CREATE = "select has_schema_privilege(current_user, 'public', 'create')"

_OWNER_ROLE_USABLE = """
select exists (select 1 from pg_roles where rolname = 'evalsvc_owner')
   and pg_has_role(current_user, 'evalsvc_owner', 'member')
   and has_schema_privilege('evalsvc_owner', 'public', 'create')
   and current_user <> 'evalsvc_owner'
"""
