"""Command line: the composition root that wires settings, database, app and jobs."""

from __future__ import annotations

import asyncio
import atexit
import base64
import getpass
import hashlib
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import click
import msgspec

from evalsvc.domain import uploads
from evalsvc.domain.access import SYSTEM, Principal, Role, generate_key
from evalsvc.domain.audit import Actor
from evalsvc.domain.bulk import Format, parse_upload, raw_json_object
from evalsvc.domain.catalog import Catalog, CatalogCreate
from evalsvc.domain.errors import DomainError
from evalsvc.domain.units import UpsertSummary
from evalsvc.logs import configure as configure_logs
from evalsvc.settings import Settings, SettingsError, load_settings
from evalsvc.store import ballots as ballot_store
from evalsvc.store import cadres as cadre_store
from evalsvc.store import catalog as catalog_store
from evalsvc.store import keys as key_store
from evalsvc.store import roles
from evalsvc.store import units as unit_store
from evalsvc.store.audit import set_actor
from evalsvc.store.database import connect, lender, resolve_dsn
from evalsvc.store.migrations import MigrationError, migrate

T = TypeVar("T")


def cli_actor() -> Actor:
    """The audit trail's actor of a command: the operating-system user who ran it."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # a container's uid with no passwd entry
        user = "?"
    return Actor(kind="cli", label=user)


def _settings(**overrides: object) -> Settings:
    try:
        return load_settings(**overrides)
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from exc


async def prepare_database(settings: Settings) -> str:
    """Resolve (start) the server, create and migrate the database; return its DSN.

    On the embedded server the migrations run as the owner role and the DSN returned is the
    serving role's (``store.roles``); on an external server they run through
    ``EVALSVC_MIGRATION_DATABASE_URL`` when set (the owner's login) and the service's URL is
    used as given (docs/ballots.md).
    """
    dsn = await resolve_dsn(settings.database_url, settings.pgdata)
    embedded = not settings.database_url
    conn = await connect(dsn if embedded else settings.migration_database_url or dsn)
    try:
        if embedded:
            await roles.setup(conn)
            await roles.as_owner(conn)
        applied = await migrate(conn)
    finally:
        await conn.close()
    if not embedded and settings.migration_database_url:
        conn = await connect(dsn)  # the serving login sees the same, current schema
        try:
            await migrate(conn)
        finally:
            await conn.close()
    for migration in applied:
        click.echo(f"applied migration {migration.version:04d}_{migration.name}", err=True)
    return roles.app_dsn(dsn) if embedded else dsn


def run_with_connection(
    settings: Settings, work: Callable[[asyncpg.Connection], Awaitable[T]]
) -> T:
    """Prepare the database, open one connection, run ``work`` on it; errors become messages."""
    return run_with_dsn(settings, lambda conn, _dsn: work(conn))


def run_with_dsn(settings: Settings, work: Callable[[asyncpg.Connection, str], Awaitable[T]]) -> T:
    """:func:`run_with_connection` for work that also needs the DSN (more connections)."""

    async def go() -> T:
        dsn = await prepare_database(settings)
        conn = await connect(dsn)
        try:
            await set_actor(conn, cli_actor())  # the audit trail names the command's user
            return await work(conn, dsn)
        finally:
            await conn.close()

    try:
        return asyncio.run(go())
    except DomainError as exc:
        raise click.ClickException(_describe(exc)) from exc
    except (MigrationError, OSError, asyncpg.PostgresError) as exc:
        raise click.ClickException(f"{type(exc).__name__}: {exc}") from exc


def _describe(exc: DomainError) -> str:
    """The error's summary and, one per line, each problem (row, field, reason)."""
    lines = [exc.detail]
    for p in exc.problems:
        where = "file" if p.field == "body" else p.field
        line = (
            f"  row {p.row}: {where}: {p.reason}" if p.row is not None else f"  {where}: {p.reason}"
        )
        if line.strip() != exc.detail:
            lines.append(line)
    return "\n".join(lines)


@click.group()
@click.option("-v", "--verbose", is_flag=True, help="Log more.")
def main(verbose: bool) -> None:
    """evalsvc: ratings of cadres and units (Directive 24-CT/TU, Decree 335/2025)."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


@main.command()
@click.option("--host", default=None, help="Listen address (EVALSVC_HOST, default 127.0.0.1).")
@click.option("--port", type=int, default=None, help="Port (EVALSVC_PORT, default 8000).")
@click.option("--demo", is_flag=True, help="Load a small demo city and print an admin key.")
def serve(host: str | None, port: int | None, demo: bool) -> None:
    """Start the database if needed, migrate, and serve the HTTP API."""
    import uvicorn

    from evalsvc.api.app import create_app

    settings = _settings(host=host, port=port)
    dsn = asyncio.run(prepare_database(settings))
    if demo:
        from evalsvc.democity.city import load_demo
        from evalsvc.keyring import ballot_keys

        keys = ballot_keys(settings)

        from evalsvc.domain.accounts import temporary_password
        from evalsvc.store.users import demo_login

        password = temporary_password()

        async def demo_work(conn: asyncpg.Connection) -> str:
            token = await load_demo(conn, keys)
            await demo_login(conn, "admin", password)
            return token

        token = run_with_connection(settings, demo_work)
        base = f"http://{settings.host}:{settings.port}"
        click.echo(
            f"\nDemo city ready (units, cadres, a year of activity, 2026 ratings). "
            f"Admin API key (shown once):\n  {token}\n"
            f"Pages: {base}/  log in as 'admin' with password {password} (new each start)\n"
            f"No mail server is set (EVALSVC_SMTP_HOST): ballot invitations are written to\n"
            f"  {settings.outbox}  (trials only; open a .eml file to follow a voter's link)\n"
            f"Try: curl -H 'Authorization: Bearer {token}' "
            f"'http://{settings.host}:{settings.port}/results/rankings?period=2026'\n"
            f"API docs: http://{settings.host}:{settings.port}/schema\n"
        )
    # Recomputations run in worker processes; registered after the embedded server's exit
    # hook, the workers are stopped before it.
    workers = WorkerProcesses(dsn, settings.workers)
    atexit.register(workers.stop)
    # uvicorn re-raises SIGTERM after its graceful shutdown; leaving through SystemExit rather
    # than the default handler runs the exit hooks, which stop the embedded PostgreSQL.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    configure_logs(logging.getLogger().level)  # JSON lines; uvicorn's access log is ours
    uvicorn.run(
        create_app(settings, dsn),
        host=settings.host,
        port=settings.port,
        log_config=None,
        access_log=False,
    )


class WorkerProcesses:
    """``count`` ``evalsvc worker`` processes on ``dsn`` (the API's database); one that
    ends while the service runs is started again, so jobs keep running and the queue's
    periodic work (failing a dead worker's job) always has a worker to run it."""

    def __init__(self, dsn: str, count: int) -> None:
        self._env = {**os.environ, "EVALSVC_DATABASE_URL": dsn}
        self._lock = threading.Lock()
        self._stopping = False
        self.processes = [self._start() for _ in range(count)]
        for slot in range(count):
            threading.Thread(target=self._watch, args=(slot,), daemon=True).start()

    def _start(self) -> subprocess.Popen[bytes]:
        command = [sys.executable, "-m", "evalsvc.cli", "worker"]
        return subprocess.Popen(command, env=self._env)

    def _watch(self, slot: int) -> None:
        """Wait for the worker of ``slot`` to end; start another unless stopping."""
        while True:
            ended = self.processes[slot]
            code = ended.wait()
            time.sleep(1.0)  # a worker that cannot start is not restarted in a tight loop
            with self._lock:
                if self._stopping:
                    return
                logging.getLogger(__name__).warning(
                    "worker %s ended (exit %s); starting another", ended.pid, code
                )
                self.processes[slot] = self._start()

    def stop(self, wait: float = 10.0) -> None:
        """SIGTERM each worker (it takes no new job and ends the one it runs), then wait; a
        worker still alive after ``wait`` seconds is killed (its job is then failed by the
        queue's next look for dead workers, nothing published)."""
        with self._lock:
            self._stopping = True
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
        for process in self.processes:
            try:
                process.wait(wait)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@main.command(name="worker")
def worker_command() -> None:
    """Run recomputations from the job queue (start more on this or other machines)."""
    from evalsvc.jobs.queue import run_worker

    settings = _settings()
    if not settings.database_url:
        raise click.ClickException(
            "a worker needs the service's database: set EVALSVC_DATABASE_URL "
            "(evalsvc serve starts its own workers for the embedded one)"
        )

    async def go() -> None:
        dsn = await prepare_database(settings)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        click.echo("worker: waiting for recomputations")
        await run_worker(dsn, stop)

    try:
        asyncio.run(go())
    except (MigrationError, OSError, asyncpg.PostgresError) as exc:
        raise click.ClickException(f"{type(exc).__name__}: {exc}") from exc


@main.command(name="migrate")
def migrate_command() -> None:
    """Apply pending database migrations."""
    settings = _settings()

    async def noop(_: asyncpg.Connection) -> None:
        return None

    run_with_connection(settings, noop)
    click.echo("database is up to date")


@main.group(name="db")
def db_group() -> None:
    """Database roles for SQL and BI tools."""


@db_group.command(name="grant-reader")
@click.argument("name")
@click.option("--password", default=None, help="Its password (default: a new one, printed).")
def grant_reader_command(name: str, password: str | None) -> None:
    """Create login role NAME that reads the result views (docs/results_sql.md) only."""
    import secrets

    from evalsvc.store.readers import grant_reader

    settings = _settings()
    chosen = password or secrets.token_urlsafe(18)

    async def go() -> bool:
        await prepare_database(settings)
        # Creating a login role needs CREATEROLE: on the embedded server the superuser's
        # connection, not the serving role's; an external URL is used as given.
        admin_dsn = await resolve_dsn(settings.database_url, settings.pgdata)
        conn = await connect(admin_dsn)
        try:
            await set_actor(conn, cli_actor())
            return await grant_reader(conn, name, chosen)
        finally:
            await conn.close()

    try:
        created = asyncio.run(go())
    except DomainError as exc:
        raise click.ClickException(_describe(exc)) from exc
    except (MigrationError, OSError, asyncpg.PostgresError) as exc:
        raise click.ClickException(f"{type(exc).__name__}: {exc}") from exc
    click.echo(
        f"role {name} {'created' if created else 'updated'}: reads ratings_month, "
        "ratings_year, unit_results (and *_by_run); nothing of ballots, keys or inputs"
    )
    if password is None:
        click.echo(f"password (shown once): {chosen}")


@main.group()
def keys() -> None:
    """Create, list and revoke API keys."""


@keys.command(name="create")
@click.option(
    "--role", type=click.Choice([r.value for r in Role]), required=True, help="What the key may do."
)
@click.option(
    "--unit", "unit_code", default=None, help="Unit code whose subtree a scoped key acts in."
)
@click.option("--label", default="", help="Who holds the key.")
def keys_create(role: str, unit_code: str | None, label: str) -> None:
    """Create a key and print it once; only its hash is stored."""
    key = generate_key()

    async def work(conn: asyncpg.Connection) -> None:
        await key_store.create_key(conn, key, Role(role), unit_code, label)

    run_with_connection(_settings(), work)
    click.echo(key.token)


@keys.command(name="list")
def keys_list() -> None:
    """List keys (prefix, role, scope, state), never secrets."""
    rows = run_with_connection(_settings(), key_store.list_keys)
    click.echo("id\tprefix\trole\tunit\tstate\tlabel")
    for row in rows:
        state = "revoked" if row["revoked_at"] else "active"
        fields = [row["id"], row["prefix"], row["role"], row["unit_code"] or "-", state]
        click.echo("\t".join(str(f) for f in [*fields, row["label"]]))


@keys.command(name="revoke")
@click.argument("prefix_or_id")
def keys_revoke(prefix_or_id: str) -> None:
    """Revoke a key by its prefix, id or whole token; it stops working at once."""
    parts = prefix_or_id.split("_")
    if len(parts) >= 2 and parts[0] == "evs":
        prefix_or_id = parts[1]

    async def work(conn: asyncpg.Connection) -> None:
        await key_store.revoke_key(conn, prefix_or_id)

    run_with_connection(_settings(), work)
    click.echo(f"revoked {prefix_or_id}")


@main.group()
def users() -> None:
    """Create, list, disable and reset people's accounts (logins for the pages)."""


@users.command(name="create")
@click.argument("username")
@click.option(
    "--role", type=click.Choice([r.value for r in Role]), required=True, help="What they may do."
)
@click.option("--unit", "unit_code", default=None, help="Unit code whose subtree they act in.")
@click.option("--name", "full_name", default="", help="Full name, shown on the pages.")
def users_create(username: str, role: str, unit_code: str | None, full_name: str) -> None:
    """Create an account and print its temporary password once (changed at first login)."""
    from evalsvc.domain.accounts import temporary_password
    from evalsvc.store import users as user_store

    password = temporary_password()

    async def work(conn: asyncpg.Connection) -> None:
        await user_store.create_user(
            conn, username, full_name, Role(role), unit_code, password, "cli"
        )

    run_with_connection(_settings(), work)
    click.echo(f"user {username.strip().lower()} created; temporary password (shown once):")
    click.echo(password)


@users.command(name="list")
def users_list() -> None:
    """List accounts (never passwords)."""
    from evalsvc.store import users as user_store

    rows = run_with_connection(_settings(), user_store.list_users)
    click.echo("id\tusername\trole\tunit\tstate\tfull name")
    for row in rows:
        state = "disabled" if row["disabled_at"] else "active"
        if not row["disabled_at"] and row["must_change_password"]:
            state = "must-change-password"
        fields = [row["id"], row["username"], row["role"], row["unit_code"] or "-", state]
        click.echo("\t".join(str(f) for f in [*fields, row["full_name"]]))


@users.command(name="disable")
@click.argument("username")
def users_disable(username: str) -> None:
    """Refuse the account's logins and end its sessions at once."""
    from evalsvc.store import users as user_store

    async def work(conn: asyncpg.Connection) -> None:
        await user_store.disable_user(conn, username)

    run_with_connection(_settings(), work)
    click.echo(f"disabled {username}")


@users.command(name="reset-password")
@click.argument("username")
def users_reset_password(username: str) -> None:
    """Print a new temporary password once; the next login must change it."""
    from evalsvc.domain.accounts import temporary_password
    from evalsvc.store import users as user_store

    password = temporary_password()

    async def work(conn: asyncpg.Connection) -> None:
        await user_store.reset_password(conn, username, password)

    run_with_connection(_settings(), work)
    click.echo(f"temporary password for {username} (shown once):")
    click.echo(password)


@main.group(name="import")
def import_group() -> None:
    """Load units, cadres or a catalog from a JSON or CSV file (all-or-nothing)."""


def _read(path: Path) -> tuple[bytes, Format]:
    fmt: Format = "csv" if path.suffix.lower() == ".csv" else "json"
    return path.read_bytes(), fmt


def _print_summary(summary: UpsertSummary) -> None:
    click.echo(
        f"inserted {summary.inserted}, updated {summary.updated}, unchanged {summary.unchanged}"
    )


FILE = click.Path(exists=True, dir_okay=False, path_type=Path)


@import_group.command(name="units")
@click.argument("file", type=FILE)
def import_units(file: Path) -> None:
    """Units from FILE (.json array or .csv)."""
    data, fmt = _read(file)

    async def work(conn: asyncpg.Connection) -> UpsertSummary:
        return await unit_store.upsert_units(conn, parse_upload(data, fmt, uploads.UNITS), SYSTEM)

    _print_summary(run_with_connection(_settings(), work))


@import_group.command(name="peer-groups")
@click.argument("file", type=FILE)
def import_peer_groups(file: Path) -> None:
    """Peer groups (code, name) from FILE (.json array or .csv)."""
    data, fmt = _read(file)

    async def work(conn: asyncpg.Connection) -> UpsertSummary:
        return await cadre_store.upsert_peer_groups(
            conn, parse_upload(data, fmt, uploads.PEER_GROUPS)
        )

    _print_summary(run_with_connection(_settings(), work))


@import_group.command(name="cadres")
@click.argument("file", type=FILE)
def import_cadres(file: Path) -> None:
    """Cadres from FILE (.json array or .csv)."""
    data, fmt = _read(file)

    async def work(conn: asyncpg.Connection) -> UpsertSummary:
        rows = parse_upload(data, fmt, uploads.CADRES)
        return await cadre_store.upsert_cadres(conn, rows, SYSTEM)

    _print_summary(run_with_connection(_settings(), work))


@import_group.command(name="catalog")
@click.argument("file", type=FILE)
@click.option("--name", help="Catalog name (CSV only; JSON carries it).")
@click.option("--title", help="Catalog title (CSV only).")
@click.option("--publish", is_flag=True, help="Publish the new version at once (CSV only).")
def import_catalog(file: Path, name: str | None, title: str | None, publish: bool) -> None:
    """A new catalog version from FILE: a JSON document, or CSV items (code,text,group,forms)."""
    data, fmt = _read(file)
    if fmt == "csv":
        if not name or not title:
            raise click.UsageError("a CSV catalog needs --name and --title")
        try:
            items = parse_upload(data, fmt, uploads.CATALOG_ITEMS).valid_rows()
        except DomainError as exc:
            raise click.ClickException(_describe(exc)) from exc
        raw: object = {
            "name": name,
            "title": title,
            "publish": publish,
            "items": [msgspec.to_builtins(i) for i in items],
        }
    else:
        raw = raw_json_object(data)
    try:
        new = msgspec.convert(raw, CatalogCreate)
    except msgspec.ValidationError as exc:
        raise click.ClickException(f"{file}: {exc}") from exc

    async def work(conn: asyncpg.Connection) -> tuple[Catalog, bool]:
        return await catalog_store.create_catalog(conn, new)

    catalog, created = run_with_connection(_settings(), work)
    click.echo(
        f"{'' if created else 'unchanged: '}"
        f"catalog {catalog.name} version {catalog.version} ({catalog.status}): "
        f"{catalog.leader_items} leader items, {catalog.staff_items} staff items"
    )


_TASK_FORMAT_OF_SUFFIX = {".csv": "csv", ".ndjson": "ndjson", ".jsonl": "ndjson", ".json": "json"}


@import_group.command(name="tasks")
@click.argument("file", type=FILE)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["csv", "ndjson", "json"]),
    default=None,
    help="Input format (default: from the file name: .csv, .ndjson/.jsonl, .json).",
)
@click.option("--source", default=None, help="source_system for rows that name none.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def import_tasks(file: Path, fmt: str | None, source: str | None, quiet: bool) -> None:
    """Import task records from FILE: upsert by (source_system, external_id), all or nothing."""
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    from evalsvc.store.tasks import ingest_stream

    path = file
    fmt = fmt or _TASK_FORMAT_OF_SUFFIX.get(path.suffix.lower())
    if fmt is None:
        raise click.ClickException(f"{file}: unknown format; pass --format csv|ndjson|json")
    settings = _settings()
    progress = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TextColumn("{task.fields[rows]:,} rows"),
        TimeRemainingColumn(),
        disable=quiet,
        transient=False,
    )
    task_id = progress.add_task(path.name, total=path.stat().st_size, rows=0)
    rows_done = 0

    def on_rows(n: int) -> None:
        nonlocal rows_done
        rows_done += n
        progress.update(task_id, rows=rows_done)

    async def pieces() -> AsyncIterator[bytes]:
        with path.open("rb") as handle:
            while piece := await asyncio.to_thread(handle.read, 1 << 20):
                progress.advance(task_id, len(piece))
                yield piece

    async def work(conn: asyncpg.Connection) -> dict[str, int]:
        result = await ingest_stream(
            conn,
            pieces(),
            fmt=fmt,  # type: ignore[arg-type]
            principal=None,
            origin="cli",
            default_source=source,
            on_rows=on_rows,
        )
        return result.as_dict()

    with progress:
        summary = run_with_connection(settings, work)
    click.echo(
        "batch {batch_id}: {rows} rows, {inserted} inserted, {updated} updated, "
        "{unchanged} unchanged".format(**summary)
    )


@import_group.command(name="ballots")
@click.argument("round_id", type=int)
@click.argument("file", type=FILE)
@click.option(
    "--idempotency-key",
    "key",
    default=None,
    help="Retry key (default: the file's SHA-256, so importing the same file again is a no-op).",
)
@click.option(
    "--as",
    "member",
    required=True,
    help="The committee member (username) who uploads; a second member must confirm.",
)
def import_ballots(round_id: int, file: Path, key: str | None, member: str) -> None:
    """Digitised paper ballots for open round ROUND_ID from FILE (.csv or .json), all or nothing.

    Same rules as POST /ballot-rounds/{id}/paper-ballots (docs/ballots.md): the upload counts
    only after a second committee member confirms it (`evalsvc ballots confirm`).
    """
    data = file.read_bytes()
    content_type = "text/csv" if file.suffix.lower() == ".csv" else "application/json"
    idempotency_key = key if key is not None else "sha256:" + hashlib.sha256(data).hexdigest()

    async def work(conn: asyncpg.Connection) -> dict[str, Any]:
        principal = await _person(conn, member)
        return await ballot_store.upload_paper(
            conn, principal, round_id, data, content_type, idempotency_key
        )

    result = run_with_connection(_settings(), work)
    if result["replayed"]:
        click.echo(
            f"already uploaded: {result['ballots']} ballots in round {round_id} "
            f"(upload {result['upload_id']}, {result['status']}; no change)"
        )
    else:
        click.echo(
            f"uploaded {result['ballots']} ballots into round {round_id} as upload "
            f"{result['upload_id']}: pending until a second committee member confirms it"
        )


async def _person(conn: asyncpg.Connection, username: str) -> Principal:
    from evalsvc.store.users import person_principal

    principal = await person_principal(conn, username)
    if principal is None:
        raise click.ClickException(f"no enabled account {username!r}")
    return principal


@main.group(name="ballots")
def ballots_group() -> None:
    """Ballot rounds: the counting committee's steps."""


@ballots_group.command(name="confirm")
@click.argument("round_id", type=int)
@click.argument("upload_id", type=int)
@click.option("--as", "member", required=True, help="The confirming member (not the uploader).")
def confirm_ballots(round_id: int, upload_id: int, member: str) -> None:
    """Confirm paper upload UPLOAD_ID of round ROUND_ID: only then do its ballots count."""

    async def work(conn: asyncpg.Connection) -> dict[str, Any]:
        return await ballot_store.confirm_paper(
            conn, await _person(conn, member), round_id, upload_id
        )

    result = run_with_connection(_settings(), work)
    click.echo(
        f"upload {upload_id}: {result['ballots']} ballots counted in round {round_id} "
        f"(uploaded by {result['uploaded_by']}, confirmed by {result['confirmed_by']})"
    )


@ballots_group.command(name="new-key")
@click.argument("key_file", type=click.Path(dir_okay=False, path_type=Path))
def new_committee_key(key_file: Path) -> None:
    """Make a committee key on this machine: the private half into KEY_FILE (mode 0600,
    never overwritten), the public half printed, to register (PUT /committee-key or the
    page "Committee key"). Needs no database: run it on the member's own computer."""
    from evalsvc.sealing import member_keys

    text, public = member_keys.new_key()
    try:
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise click.ClickException(f"{key_file} exists; choose another file") from None
    with os.fdopen(fd, "w", encoding="ascii") as out:
        out.write(text + "\n")
    click.echo(base64.b64encode(public).decode())


@ballots_group.command(name="open-share")
@click.argument("key_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("sealed_share")
def open_committee_share(key_file: Path, sealed_share: str) -> None:
    """Open SEALED_SHARE (base64, from POST /ballot-rounds/{id}/committee/share) with
    KEY_FILE and print the share, to enter at close. Needs no database."""
    from evalsvc.sealing import member_keys

    try:
        sealed = base64.b64decode(sealed_share, validate=True)
        click.echo(member_keys.open_share(key_file.read_text(encoding="ascii"), sealed))
    except (ValueError, UnicodeDecodeError) as exc:
        raise click.ClickException(str(exc)) from exc


@main.command(name="recompute")
@click.argument("period")
@click.option("--unit", "unit_code", default=None, help="Recompute only this unit's subtree.")
@click.option("--profile", default="nd335", show_default=True, help="Scoring profile.")
def recompute_command(period: str, unit_code: str | None, profile: str) -> None:
    """Recompute PERIOD (a month 2026-05 or a year 2026) and publish the results."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from evalsvc.domain.recompute import Job, RecomputeRequest, parse_period
    from evalsvc.jobs.recompute import recompute

    try:
        parse_period(period)
        req = msgspec.convert(
            {"period": period, "unit_code": unit_code, "profile": profile}, RecomputeRequest
        )
    except DomainError as exc:
        reason = exc.problems[0].reason
        raise click.BadParameter(f"{period!r} {reason}", param_hint="PERIOD") from exc
    except msgspec.ValidationError as exc:
        raise click.BadParameter(str(exc)) from exc
    settings = _settings()  # a bad EVALSVC_* variable is reported before any progress bar

    with Progress(
        TextColumn("[bold]{task.description:<12}"),
        BarColumn(),
        TextColumn("{task.percentage:>5.1f} %"),
        TimeElapsedColumn(),
        transient=False,
    ) as bar:
        task = bar.add_task("starting", total=100)

        def on_progress(stage: str, pct: float) -> None:
            bar.update(task, description=stage, completed=pct)

        async def work(conn: asyncpg.Connection, dsn: str) -> Job:
            return await recompute(conn, req, SYSTEM, on_progress=on_progress, reader=lender(dsn))

        job = run_with_dsn(settings, work)
    stages = {k: v for k, v in job.timings.items() if k != "total"}  # jsonb keeps no order
    click.echo(
        f"recomputation {job.id} of {job.period}: {job.state}, run {job.run_id} published in "
        f"{job.timings.get('total', 0.0):.2f} s; "
        + ", ".join(f"{k} {v:.2f} s" for k, v in stages.items())
    )
    if job.counts.get("months_reused"):
        click.echo(
            f"{job.counts['months_reused']} month(s) referenced from earlier month runs "
            "(same inputs, profile and scoring version: not written again)"
        )


@main.command(name="seed")
@click.option(
    "--scale",
    type=float,
    default=0.01,
    show_default=True,
    help="1 = Hà Nội size: 200,000 cadres, 3,000 units.",
)
@click.option("--seed", "seed_value", type=int, default=24, show_default=True, help="RNG seed.")
def seed_command(scale: float, seed_value: int) -> None:
    """Load a seeded synthetic city through the same bulk paths users use."""
    from evalsvc.democity.synthetic import SeedSummary, seed_city

    if not 0 < scale <= 5:
        raise click.BadParameter("must be in (0, 5]", param_hint="--scale")

    def report(what: str, done: int, total: int) -> None:
        click.echo(f"  {what}: {done:,}/{total:,}", err=True)

    from evalsvc.keyring import ballot_keys

    settings = _settings()
    keys = ballot_keys(settings)

    async def work(conn: asyncpg.Connection) -> SeedSummary:
        return await seed_city(conn, scale, seed_value, report, keys)

    summary = run_with_connection(settings, work)
    timings = ", ".join(f"{k} {v:.1f} s" for k, v in summary.seconds.items())
    what = f"{summary.units:,} units and {summary.cadres:,} cadres"
    if summary.activity:
        click.echo(f"seeded {what} with a year of activity ({timings})")
    else:
        click.echo(
            f"seeded {what} ({timings}); no activity loaded: this database already holds "
            "task data (seed into an empty data folder, EVALSVC_DATA_DIR, for the synthetic "
            "year of activity)"
        )


@main.command(name="backup")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
def backup_command(file: Path) -> None:
    """Write the whole database to FILE (pg_dump custom format; the server keeps serving)."""
    from evalsvc.store import backup

    settings = _settings()
    try:
        dsn = asyncio.run(prepare_database(settings))
        backup.dump(dsn, file)
    except DomainError as exc:
        raise click.ClickException(_describe(exc)) from exc
    click.echo(f"backup written to {file} ({file.stat().st_size:,} bytes)")


@main.command(name="restore")
@click.argument("file", type=FILE)
@click.option("--replace", is_flag=True, help="Drop a database that already holds data.")
def restore_command(file: Path, replace: bool) -> None:
    """Load a backup into the configured database (embedded data folder or external URL)."""
    from urllib.parse import urlsplit

    from evalsvc.store import backup
    from evalsvc.store.database import DATABASE_NAME, start_embedded, with_database

    settings = _settings()

    async def go() -> None:
        if settings.database_url:
            dsn = settings.database_url
            server, name = dsn, urlsplit(dsn).path.lstrip("/") or DATABASE_NAME
        else:
            server = await asyncio.to_thread(start_embedded, settings.pgdata)
            name, dsn = DATABASE_NAME, with_database(server, DATABASE_NAME)
        await backup.recreate(server, name, replace=replace)
        embedded = not settings.database_url
        if embedded:  # the roles the backup's grants name exist before it is loaded
            conn = await connect(dsn)
            try:
                await roles.setup(conn)
            finally:
                await conn.close()
        await asyncio.to_thread(backup.restore, dsn, file)
        conn = await connect(dsn)
        try:
            if embedded:  # the restored objects go to the owner role, as at every start
                await roles.setup(conn)
                await roles.as_owner(conn)
            await migrate(conn)  # a backup of an older version gets the newer migrations
        finally:
            await conn.close()

    try:
        asyncio.run(go())
    except DomainError as exc:
        raise click.ClickException(_describe(exc)) from exc
    except (MigrationError, OSError, asyncpg.PostgresError) as exc:
        raise click.ClickException(f"{type(exc).__name__}: {exc}") from exc
    click.echo(f"restored {file}")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
