"""Sending mail: SMTP (the standard library's client, in a worker thread) or a folder.

Each message's outcome is reported separately (None: accepted by the server; else the
reason), so one refused address does not hide the others, and nothing is dropped silently.
"""

from __future__ import annotations

import asyncio
import smtplib
import ssl
from collections.abc import Sequence
from email.message import EmailMessage
from pathlib import Path
from typing import Protocol

from evalsvc.settings import Settings

TIMEOUT_SECONDS = 30


class Mailer(Protocol):
    async def send(self, messages: Sequence[EmailMessage]) -> list[str | None]: ...

    def describe(self) -> str: ...


class SmtpMailer:
    """One SMTP session per batch; STARTTLS, implicit TLS or plain (a local relay)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def describe(self) -> str:
        s = self.settings
        return f"SMTP {s.smtp_host}:{s.smtp_port} ({s.smtp_security})"

    async def send(self, messages: Sequence[EmailMessage]) -> list[str | None]:
        return await asyncio.to_thread(self._send_all, list(messages))

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        if s.smtp_security == "tls":
            return smtplib.SMTP_SSL(
                s.smtp_host,
                s.smtp_port,
                timeout=TIMEOUT_SECONDS,
                context=ssl.create_default_context(),
            )
        client = smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=TIMEOUT_SECONDS)
        if s.smtp_security == "starttls":
            client.starttls(context=ssl.create_default_context())
        return client

    def _send_all(self, messages: list[EmailMessage]) -> list[str | None]:
        try:
            client = self._connect()
        except (OSError, smtplib.SMTPException) as exc:
            reason = f"cannot reach the mail server: {type(exc).__name__}: {exc}"
            return [reason] * len(messages)
        results: list[str | None] = []
        try:
            if self.settings.smtp_user:
                client.login(self.settings.smtp_user, self.settings.smtp_password)
            for message in messages:
                try:
                    refused = client.send_message(message)
                    results.append(f"refused: {refused}" if refused else None)
                except smtplib.SMTPRecipientsRefused as exc:
                    results.append(f"address refused: {_first(exc.recipients)}")
                except smtplib.SMTPServerDisconnected as exc:
                    results.append(f"server disconnected: {exc}")
                    client = self._connect()
                except smtplib.SMTPException as exc:
                    results.append(f"{type(exc).__name__}: {exc}")
        except (OSError, smtplib.SMTPException) as exc:
            reason = f"{type(exc).__name__}: {exc}"
            results += [reason] * (len(messages) - len(results))
        finally:
            try:
                client.quit()
            except (OSError, smtplib.SMTPException):
                client.close()
        return results


def _first(recipients: dict[str, tuple[int, bytes]]) -> str:
    for code, text in recipients.values():
        return f"{code} {text.decode(errors='replace')}"
    return "?"


class OutboxMailer:
    """Writes each message as ``<n>-<to>.eml`` into a folder: for trials and the demo only
    (whoever can read the folder holds every voter's link)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def describe(self) -> str:
        return f"outbox folder {self.folder}"

    async def send(self, messages: Sequence[EmailMessage]) -> list[str | None]:
        return await asyncio.to_thread(self._write_all, list(messages))

    def _write_all(self, messages: list[EmailMessage]) -> list[str | None]:
        self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        results: list[str | None] = []
        for message in messages:
            to = str(message["To"]).split("<")[-1].strip(">").replace("/", "_")
            name = f"{message['X-Evalsvc-Invitation']}-{to}.eml"
            try:
                # Written whole, then renamed: a reader never sees half a message.
                part = self.folder / f".{name}.part"
                part.write_bytes(bytes(message))
                part.rename(self.folder / name)
                results.append(None)
            except OSError as exc:
                results.append(f"cannot write {name}: {exc}")
        return results


def mailer_for(settings: Settings) -> Mailer:
    if settings.smtp_host:
        return SmtpMailer(settings)
    return OutboxMailer(settings.outbox)
