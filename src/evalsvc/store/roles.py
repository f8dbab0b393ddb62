"""Least privilege in PostgreSQL: an owner role for the schema, a serving role for the service.

``evalsvc_owner`` (NOLOGIN) owns every table, view and sequence; migrations run under it
(``SET ROLE``). ``evalsvc_app`` (LOGIN) is what the service and the CLI connect as: not a
superuser, no CREATEDB/CREATEROLE/REPLICATION/BYPASSRLS, no CREATE on the database (so no
extension, trusted or not), no predefined roles (``pg_read_server_files``,
``pg_read_all_data``, ``pg_monitor``...), and no right to change the server's configuration.
It inherits the owner's rights on evalsvc's own tables: the recompute creates and attaches
result partitions at run time, which PostgreSQL allows only to a table's owner.

``setup`` needs a superuser once per database (the embedded server does it at every start;
on an external server, docs/ballots.md "Least privilege" says how).
"""

from __future__ import annotations

from urllib.parse import quote, urlsplit, urlunsplit

import asyncpg

OWNER_ROLE = "evalsvc_owner"
APP_ROLE = "evalsvc_app"

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
                [OWNER_ROLE, APP_ROLE],
            )
        }
        if OWNER_ROLE not in existing:
            await conn.execute(f"create role {OWNER_ROLE} nologin {_ROLE_FLAGS}")
        if APP_ROLE not in existing:
            await conn.execute(f"create role {APP_ROLE} login inherit {_ROLE_FLAGS}")
        await conn.execute(f"alter role {APP_ROLE} login inherit {_ROLE_FLAGS}")
        if app_password is not None:
            await conn.execute(f"alter role {APP_ROLE} password {_literal(app_password)}")
        await conn.execute(f"grant {OWNER_ROLE} to {APP_ROLE}")
        db = _ident(database)
        # Only evalsvc's roles connect; nobody but the database's superuser owner creates in it
        # (CREATE on a database is what lets a non-superuser install trusted extensions).
        await conn.execute(f"revoke all on database {db} from public")
        await conn.execute(f"grant connect, temporary on database {db} to {APP_ROLE}")
        await conn.execute("revoke create on schema public from public")
        await conn.execute(f"grant usage, create on schema public to {OWNER_ROLE}")
        await conn.execute(f"grant usage on schema public to {APP_ROLE}")
        for kind, name in await conn.fetch(_OBJECTS):
            await conn.execute(f"alter {kind} {name} owner to {OWNER_ROLE}")


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
