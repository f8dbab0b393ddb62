"""Least privilege: the serving role is no superuser, cannot change the server's
configuration, load extensions or read the server's files, and still runs a ballot round."""

from __future__ import annotations

from pathlib import Path

import asyncpg
import pytest
from litestar.testing import AsyncTestClient

from evalsvc.api.app import create_app
from evalsvc.domain.access import Role
from evalsvc.settings import Settings
from evalsvc.store import roles
from evalsvc.store.database import connect
from evalsvc.store.migrations import migrate
from tests.conftest import make_key
from tests.integration.ballots_seed import close_round, round_body
from tests.integration.test_ballots_flow import bearer, open_round, seed_unit

REFUSED = [
    "alter system set log_statement = 'all'",
    "set log_statement = 'all'",
    "set session_replication_role = replica",
    "create extension pg_walinspect",
    "create extension pgcrypto",  # a trusted extension: needs CREATE on the database
    "create extension pageinspect",
    "select pg_read_file('postgresql.conf')",
    "select pg_ls_dir('.')",
    "select * from pg_authid",
    "copy (select 1) to program 'true'",
    "create database other",
    "create role intruder",
    "select pg_reload_conf()",
]


async def test_the_serving_role_has_least_privilege(
    conn: asyncpg.Connection, db_dsn: str, tmp_path: Path
) -> None:
    await roles.setup(conn)
    await roles.as_owner(conn)
    assert await migrate(conn) == []  # migrations run as the owner (nothing left here)
    await conn.execute("reset role")
    owners = await conn.fetch(
        "select distinct pg_get_userbyid(relowner) as owner from pg_class c"
        " join pg_namespace n on n.oid = c.relnamespace"
        " where n.nspname = 'public' and relkind in ('r', 'p', 'v', 'S')"
    )
    assert [r["owner"] for r in owners] == [roles.OWNER_ROLE]
    app = await connect(roles.app_dsn(db_dsn))
    try:
        me = await app.fetchrow(
            "select rolsuper, rolcreatedb, rolcreaterole, rolreplication, rolbypassrls"
            " from pg_roles where rolname = current_user"
        )
        assert not any(me.values())
        assert await app.fetchval("select current_user") == roles.APP_ROLE
        for statement in REFUSED:
            with pytest.raises(asyncpg.PostgresError) as refused:
                await app.execute(statement)
            assert isinstance(
                refused.value,
                asyncpg.InsufficientPrivilegeError | asyncpg.FeatureNotSupportedError,
            ) or "permission denied" in str(refused.value), (statement, refused.value)
        assert not await app.fetchval(
            "select pg_has_role(current_user, 'pg_read_server_files', 'member')"
            " or pg_has_role(current_user, 'pg_read_all_data', 'member')"
            " or pg_has_role(current_user, 'pg_monitor', 'member')"
        )
    finally:
        await app.close()

    # The service works as that role: a whole round, sealed, closed by the committee.
    catalog_id, _ = await seed_unit(conn)
    operator = await make_key(conn, Role.PERSONNEL, "UB")
    settings = Settings(database_url=db_dsn, data_dir=str(tmp_path), pool_max_size=4)
    async with AsyncTestClient(app=create_app(settings, roles.app_dsn(db_dsn))) as client:
        round_id, tokens = await open_round(client, operator, round_body(catalog_id, "UB"))
        for voter in ("S1", "S2", "S3", "S4", "S5"):
            response = await client.post(
                "/ballot/ballots", json={"target": "H"}, headers=bearer(tokens[voter])
            )
            assert response.status_code == 201, response.text
        closed = await close_round(client, conn, round_id)
        assert closed.status_code == 200, closed.text
        assert closed.json()["sheets"] == {"counted": 5, "invalid": 0}
