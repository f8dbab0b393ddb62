"""Least privilege in PostgreSQL: an owner role for the schema, a serving role for the service.

``evalsvc_owner`` (NOLOGIN) owns every table, view, sequence and function; migrations run
under it (``SET ROLE``). ``evalsvc_app`` (LOGIN) is what the service and the CLI connect as:
not a superuser, no CREATEDB/CREATEROLE/REPLICATION/BYPASSRLS, no CREATE on the database or
the schema (so no extension, trusted or not, and no table of its own), no predefined roles
(``pg_read_server_files``, ``pg_read_all_data``, ``pg_monitor``...), no right to change the
server's configuration, and a member of no role: it owns nothing, so it cannot alter, drop,
disable a trigger or grant. Its row privileges are ``sql/roles/app_grants.sql`` (applied by
:func:`grant_app` after every migration run); the DDL it needs at run time (result
partitions, ANALYZE of big rounds) goes through the owner's SECURITY DEFINER functions of
migration 0055.

``setup`` needs a superuser once per database (the embedded server does it at every start;
on an external server, docs/ballots.md "Least privilege" says how).
"""

from __future__ import annotations

from urllib.parse import quote, urlsplit, urlunsplit

import asyncpg

from evalsvc.store.sqlfiles import sql_root

OWNER_ROLE = "evalsvc_owner"
APP_ROLE = "evalsvc_app"
READER_ROLE = "evalsvc_reader"  # the result views' readers (store/readers.py, 0020)

_ROLE_FLAGS = "nosuperuser nocreatedb nocreaterole noreplication nobypassrls"


async def setup(conn: asyncpg.Connection, app_password: str | None = None) -> None:
    """Create the two roles if missing and give evalsvc's objects to the owner (idempotent).

    ``conn``: a superuser's connection to evalsvc's database.
    """
    database = await conn.fetchval("select current_database()")
    async with conn.transaction():
        # Roles are cluster-wide: serialise concurrent set-ups (tests, two starts at once).
        await conn.execute("select pg_advisory_xact_lock(hashtext('evalsvc roles'))")
        existing = {
            r["rolname"]
            for r in await conn.fetch(
                "select rolname from pg_roles where rolname = any($1::text[])",
                [OWNER_ROLE, APP_ROLE, READER_ROLE],
            )
        }
        # The migrations run as the owner, who may not create roles: the readers' group
        # role is made here (0020 only creates it where migrations run as a superuser).
        if READER_ROLE not in existing:
            await conn.execute(f"create role {READER_ROLE} nologin {_ROLE_FLAGS}")
        if OWNER_ROLE not in existing:
            await conn.execute(f"create role {OWNER_ROLE} nologin {_ROLE_FLAGS}")
        if APP_ROLE not in existing:
            await conn.execute(f"create role {APP_ROLE} login inherit {_ROLE_FLAGS}")
        await conn.execute(f"alter role {APP_ROLE} login inherit {_ROLE_FLAGS}")
        if app_password is not None:
            await conn.execute(f"alter role {APP_ROLE} password {_literal(app_password)}")
        # Before issue 18's least privilege the serving role inherited the owner's rights.
        if await conn.fetchval("select pg_has_role($1, $2, 'member')", APP_ROLE, OWNER_ROLE):
            await conn.execute(f"revoke {OWNER_ROLE} from {APP_ROLE}")
        db = _ident(database)
        # Only evalsvc's roles connect; nobody but the database's superuser owner creates in it
        # (CREATE on a database is what lets a non-superuser install trusted extensions).
        await conn.execute(f"revoke all on database {db} from public")
        await conn.execute(f"grant connect, temporary on database {db} to {APP_ROLE}")
        await conn.execute("revoke create on schema public from public")
        await conn.execute(f"grant usage, create on schema public to {OWNER_ROLE}")
        await conn.execute(f"grant usage on schema public to {APP_ROLE}, {READER_ROLE}")
        for kind, name in await conn.fetch(_OBJECTS):
            await conn.execute(f"alter {kind} {name} owner to {OWNER_ROLE}")
        for (signature,) in await conn.fetch(_FUNCTIONS):
            await conn.execute(f"alter routine {signature} owner to {OWNER_ROLE}")
        await grant_app(conn)


async def grant_app(conn: asyncpg.Connection) -> bool:
    """Give the serving role exactly its privileges (``sql/roles/app_grants.sql``), when the
    role exists; run by the owner or a superuser. Idempotent, in one transaction."""
    if not await conn.fetchval("select 1 from pg_roles where rolname = $1", APP_ROLE):
        return False
    text = (sql_root() / "roles" / "app_grants.sql").read_text(encoding="utf-8")
    async with conn.transaction():
        await conn.execute(text)
    return True


# Tables (partitioned ones and their partitions), views and sequences of the public schema
# not yet owned by the owner role; identity sequences follow their table.
_OBJECTS = f"""
select case c.relkind when 'v' then 'view' when 'm' then 'materialized view'
                      when 'S' then 'sequence' else 'table' end,
       format('%I.%I', n.nspname, c.relname)
from pg_class c join pg_namespace n on n.oid = c.relnamespace
where n.nspname = 'public' and c.relkind in ('r', 'p', 'v', 'm', 'S')
  and pg_get_userbyid(c.relowner) <> '{OWNER_ROLE}'
  and not (c.relkind = 'S' and exists (
      select 1 from pg_depend d where d.objid = c.oid and d.deptype in ('a', 'i')))
order by c.relkind = 'S', c.oid
"""


# Functions of the public schema (the definer functions among them) not yet the owner's;
# those of extensions stay with the extension.
_FUNCTIONS = f"""
select p.oid::regprocedure::text
from pg_proc p join pg_namespace n on n.oid = p.pronamespace
where n.nspname = 'public' and pg_get_userbyid(p.proowner) <> '{OWNER_ROLE}'
  and not exists (select 1 from pg_depend d where d.objid = p.oid and d.deptype = 'e')
order by p.oid
"""


async def as_owner(conn: asyncpg.Connection) -> None:
    """Act as the owner role from here on (migrations); ``reset role`` ends it."""
    await conn.execute(f"set role {OWNER_ROLE}")


def app_dsn(dsn: str, password: str | None = None) -> str:
    """The same server and database, connecting as the serving role."""
    parts = urlsplit(dsn)
    host = parts.netloc.rsplit("@", 1)[-1]
    auth = APP_ROLE if password is None else f"{APP_ROLE}:{quote(password, safe='')}"
    return urlunsplit(parts._replace(netloc=f"{auth}@{host}"))


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
