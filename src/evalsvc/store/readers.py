"""Database roles for BI tools: they read the result views and nothing else.

``evalsvc_reader`` (0020) holds SELECT on the views of published and per-run results
(``ratings_month``, ``ratings_year``, ``unit_results`` and their ``*_by_run`` forms) and
on the vocabulary they spell out; no table of ballots, ledgers, keys or inputs. The
views run with their owner's rights, so a reader sees their rows without seeing the
tables under them.
"""

from __future__ import annotations

import re

import asyncpg

from evalsvc.domain.errors import field_error

READER_ROLE = "evalsvc_reader"
_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


async def grant_reader(conn: asyncpg.Connection, name: str, password: str) -> bool:
    """Create (or update) login role ``name`` with ``password``, member of the reader role.

    Returns:
        True when the role was created, False when an existing one was updated.

    Raises:
        RuleViolation: a name that is not a plain lower-case identifier, or a role that
            already exists with more rights than reading (a superuser, or a member of
            other roles).
    """
    if not _NAME.match(name) or name == READER_ROLE:
        raise field_error("name", "a lower-case identifier: letters, digits, underscore")
    existing = await conn.fetchrow(
        "select rolsuper, rolcreaterole, rolcreatedb,"
        " (select count(*) from pg_auth_members m join pg_roles g on g.oid = m.roleid"
        "  where m.member = r.oid and g.rolname <> $2) as other_roles"
        " from pg_roles r where rolname = $1",
        name,
        READER_ROLE,
    )
    if existing is not None and (
        existing["rolsuper"]
        or existing["rolcreaterole"]
        or existing["rolcreatedb"]
        or existing["other_roles"]
    ):
        raise field_error("name", f"role {name} exists with other rights; choose another name")
    verb = "alter" if existing is not None else "create"
    quoted_password = await conn.fetchval("select quote_literal($1)", password)
    async with conn.transaction():
        await conn.execute(f"{verb} role {name} login password {quoted_password}")
        await conn.execute(f"grant {READER_ROLE} to {name}")
    return existing is None
