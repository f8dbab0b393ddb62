"""Least privilege: the serving role is no superuser, cannot change the server's
configuration, load extensions or read the server's files, and still runs a ballot round."""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncpg
import pytest
from litestar.testing import AsyncTestClient

from evalsvc.api.app import create_app
from evalsvc.domain.access import Role
from evalsvc.settings import Settings
from evalsvc.store import backup, roles
from evalsvc.store.database import connect
from evalsvc.store.migrations import MigrationError, migrate
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
    # It owns nothing and inherits no owner: no DDL, no rewriting history.
    "set role evalsvc_owner",
    "alter table audit_log disable trigger audit_log_no_update",
    "alter table audit_log disable trigger all",
    "update audit_log set actor_label = 'someone else'",
    "delete from audit_log",
    "truncate audit_log",
    "drop table audit_log",
    "drop table ballot_rounds",
    "alter table ballot_rounds add column x int",
    "create table mine (x int)",
    "create function mine() returns int language sql as 'select 1'",
    "create trigger t before insert on ballot_sheets execute function audit_log_refuse()",
    "delete from ballot_receipts",
    "update ballot_tallies set valid = 0",
    "delete from ballot_ledger",
    # a deleted change note could make a changed month look unchanged to a year (0100)
    "delete from input_month_changes",
    "insert into input_month_changes (tbl, month) values ('x', 202601)",
    "update input_month_changes set month = 190001",
    "truncate input_month_changes",
    "alter table task_month_totals disable trigger month_changes_update",
    "update schema_migrations set checksum = ''",
    "select evalsvc_analyze_ballot_tables(array['audit_log'])",
    "select evalsvc_result_partition_new('audit_log', 1)",
    "select evalsvc_result_partition_attach('users', 1)",
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
        # A grant without the grant option is a warning that grants nothing.
        await app.execute("grant select, update on audit_log to evalsvc_reader")
        assert not await app.fetchval(
            "select has_table_privilege('evalsvc_reader', 'audit_log', 'select')"
            " or has_table_privilege(current_user, 'audit_log', 'update')"
        )
        # A member of no role at all, owner of nothing.
        assert not await app.fetchval(
            "select count(*) from pg_auth_members where member = 'evalsvc_app'::regrole"
        )
        assert not await app.fetchval(
            "select count(*) from pg_class where relowner = 'evalsvc_app'::regrole"
        )
        # What it may do stays possible: the audit trail takes entries, the owner's
        # functions analyse a round's tables.
        await app.execute("select evalsvc_analyze_ballot_tables(array['ballot_round_targets'])")
        assert await conn.fetchval(
            "select last_analyze is not null from pg_stat_user_tables"
            " where relname = 'ballot_round_targets'"
        )
        await app.execute(
            "insert into audit_log (actor_kind, action, object_type, object_key)"
            " values ('db', 'test.insert', 'test', 'x')"
        )
        # Its writes to a per-month input table leave a change note (0100), which neither a
        # temporary table of the same name nor an empty search_path diverts or breaks.
        await app.execute(
            "insert into task_month_totals (cadre_id, month, records, k_assigned, k_done,"
            " k_done_quality, k_done_timely, exceeded_records, late_records)"
            " values (1, 202603, 1, 1, 1, 1, 1, 0, 0)"
        )
        await app.execute(
            "create temp table input_month_changes (xid xid8 default pg_current_xact_id(),"
            " tbl text, month int)"
        )
        await app.execute("update task_month_totals set k_done = 0 where month = 202603")
        await app.execute("set search_path = ''")
        await app.execute("delete from public.task_month_totals where month = 202603")
        await app.execute("reset search_path")
        notes = await conn.fetch("select tbl, month, xid from input_month_changes order by xid")
        assert [(r["tbl"], r["month"]) for r in notes] == [("task_month_totals", 202603)] * 3
        assert len({r["xid"] for r in notes}) == 3  # one per transaction and month
        assert await app.fetchval("select count(*) from pg_temp.input_month_changes") == 0
        # A result partition: loadable while it is being built, closed once attached.
        part = await app.fetchval(
            "select evalsvc_result_partition_new('cadre_period_results', 999)"
        )
        assert part == "cadre_period_results_r999"
        with pytest.raises(asyncpg.NotNullViolationError):  # allowed, but incomplete
            await app.execute(f"insert into {part} (run_id) values (999)")
        await app.execute("select evalsvc_result_partition_attach('cadre_period_results', 999)")
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await app.execute(f"insert into {part} (run_id) values (999)")
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await app.execute(f"drop table {part}")
        assert await app.fetchval(f"select count(*) from {part}") == 0
        # A backup (pg_dump) as the serving role reads every table and partition.
        await asyncio.to_thread(backup.dump, roles.app_dsn(db_dsn), tmp_path / "app.dump")
        await app.execute("select evalsvc_result_partitions_drop(999)")
        assert await conn.fetchval(f"select to_regclass('{part}')") is None
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


async def test_the_serving_login_checks_migrations_and_changes_no_schema(
    conn: asyncpg.Connection, db_dsn: str
) -> None:
    """On an external server the service may connect as evalsvc_app only: it serves a
    migrated database and refuses, with what to do, one that is behind."""
    await roles.setup(conn)
    app = await connect(roles.app_dsn(db_dsn))
    try:
        assert await migrate(app) == []  # up to date: only checked
        await conn.execute("delete from schema_migrations where version = 56")
        with pytest.raises(MigrationError, match="EVALSVC_MIGRATION_DATABASE_URL"):
            await migrate(app)
    finally:
        await app.close()
