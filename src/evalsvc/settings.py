"""Service settings, read once from ``EVALSVC_*`` variables and passed explicitly."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Literal

import msgspec
import platformdirs

PREFIX = "EVALSVC_"


def default_data_dir() -> str:
    """The per-user data folder; the embedded database lives under it and survives restarts."""
    return str(platformdirs.user_data_path("evalsvc"))


class Settings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=False):
    """Everything the service needs to know about its environment.

    Attributes:
        database_url: an external PostgreSQL (14+); empty means "start the embedded server".
            On an external server this is the serving role's login (``evalsvc_app``).
        migration_database_url: the same database as a login that may act as the owner
            (``evalsvc_owner``), used only to apply migrations; empty: migrations are
            applied through ``database_url`` when that login may, else only checked
            (docs/ballots.md "Least privilege in PostgreSQL").
        data_dir: folder for the embedded server's data and the generated secret key.
        host, port: where ``evalsvc serve`` listens.
        max_body_bytes: largest body of a streamed bulk upload (rows of tasks, cadres,
            assessments, ...): 1 GiB, since the server holds a few batches of it at a time.
        json_max_body_bytes: largest body of any other request, which is read whole (a JSON
            object, a scoring request, a unit tree or catalog, paper ballots).
        pool_min_size, pool_max_size: asyncpg pool bounds.
        secret_key: key for keyed hashes (ballot ledger); generated into data_dir if empty.
        ballot_remediation: what closing a ballot round opens as remediation items: "watch"
            (confirmed and watched manifestations, DOMAIN part 4), "confirmed" only, or "off".
        remediation_due_days: due date of those items, in days after the round closes.
        workers: worker processes ``evalsvc serve`` starts for recomputations (0: none;
            start them with ``evalsvc worker``, here or on other machines).
        in_process_worker: also run a worker inside the API process (tests, tiny setups).
        key_requests_per_minute: requests one API key may make per minute (0: no limit).
        voter_refusals_per_minute: refused voter tokens one client address may send per
            minute before it waits (0: no limit); valid tokens are never limited.
        reader_max_body_bytes: largest body from a voter or an auditor (who upload nothing);
            the writing roles may send up to max_body_bytes.
        cors_origins: comma-separated origins allowed to call the API from a browser
            (empty: CORS off, the default).
        public_url: the address voters' links start with (``https://danhgia.example.gov.vn``);
            empty: ``http://host:port``.
        smtp_host, smtp_port, smtp_user, smtp_password, smtp_from, smtp_security: where
            ballot invitations are sent (``starttls``, ``tls`` or ``none``). Without
            ``smtp_host`` they are written as .eml files to ``<data_dir>/outbox``: a setting
            for trials, never for production (docs/ballots.md).
    """

    database_url: str = ""
    migration_database_url: str = ""
    data_dir: str = msgspec.field(default_factory=default_data_dir)
    host: str = "127.0.0.1"
    port: Annotated[int, msgspec.Meta(ge=1, le=65535)] = 8000
    max_body_bytes: Annotated[int, msgspec.Meta(ge=1024)] = 1024 * 1024 * 1024
    json_max_body_bytes: Annotated[int, msgspec.Meta(ge=1024)] = 64 * 1024 * 1024
    pool_min_size: Annotated[int, msgspec.Meta(ge=0)] = 1
    pool_max_size: Annotated[int, msgspec.Meta(ge=1)] = 10
    secret_key: str = ""
    ballot_remediation: Literal["watch", "confirmed", "off"] = "watch"
    remediation_due_days: Annotated[int, msgspec.Meta(ge=1, le=3650)] = 90
    workers: Annotated[int, msgspec.Meta(ge=0, le=64)] = 1
    in_process_worker: bool = False
    key_requests_per_minute: Annotated[int, msgspec.Meta(ge=0)] = 1200
    voter_refusals_per_minute: Annotated[int, msgspec.Meta(ge=0)] = 20
    reader_max_body_bytes: Annotated[int, msgspec.Meta(ge=1024)] = 1024 * 1024
    cors_origins: str = ""
    public_url: str = ""
    smtp_host: str = ""
    smtp_port: Annotated[int, msgspec.Meta(ge=1, le=65535)] = 587
    smtp_user: str = ""
    smtp_password: str = ""
    smtp_from: str = "evalsvc <no-reply@localhost>"
    smtp_security: Literal["starttls", "tls", "none"] = "starttls"

    @property
    def outbox(self) -> Path:
        """Where invitations go when no SMTP server is configured (trials only)."""
        return Path(self.data_dir) / "outbox"

    @property
    def base_url(self) -> str:
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")

    @property
    def pgdata(self) -> Path:
        """Where the embedded PostgreSQL keeps its cluster."""
        return Path(self.data_dir) / "pgdata"


class SettingsError(ValueError):
    """An ``EVALSVC_*`` variable has a value the service cannot use."""


def load_settings(environ: Mapping[str, str] | None = None, /, **overrides: object) -> Settings:
    """Build settings from the environment (``EVALSVC_DATABASE_URL`` → ``database_url``).

    Raises:
        SettingsError: naming the variable and what is wrong with it.
    """
    env = os.environ if environ is None else environ
    raw: dict[str, object] = {
        key[len(PREFIX) :].lower(): value for key, value in env.items() if key.startswith(PREFIX)
    }
    raw.update({k: v for k, v in overrides.items() if v is not None})
    known = set(Settings.__struct_fields__)
    raw = {k: v for k, v in raw.items() if k in known}
    try:
        return msgspec.convert(raw, Settings, strict=False)
    except msgspec.ValidationError as exc:
        field = _field_of(exc)
        given = f"={raw[field]!r}" if field in raw else ""
        reason = str(exc).split(" - at `$.", 1)[0]
        raise SettingsError(f"{PREFIX}{field.upper()}{given}: {reason}") from exc


def _field_of(exc: msgspec.ValidationError) -> str:
    text = str(exc)
    marker = "at `$."
    if marker in text:
        return text.split(marker, 1)[1].split("`", 1)[0]
    return "?"
