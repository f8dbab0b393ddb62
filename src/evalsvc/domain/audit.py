"""Who acted, and what the audit trail says they did (``0040_audit_log.sql``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

import msgspec

from evalsvc.domain.access import Principal

ActorKind = Literal["key", "user", "cli", "system", "db"]


class Actor(msgspec.Struct, frozen=True, omit_defaults=True):
    """Who makes a change: an API key, a signed-in user, a CLI command, the service itself
    (a recomputation job) or, when nothing else was said, the database user of plain SQL."""

    kind: ActorKind
    id: str | None = None
    label: str = ""
    role: str | None = None


def actor_of(principal: Principal) -> Actor:
    """The actor of a request: the API key, the signed-in person, or the service itself."""
    role = principal.role.value
    if principal.kind == "user":
        return Actor(kind="user", id=str(principal.user_id), label=principal.label, role=role)
    if principal.kind == "system" or principal.key_id <= 0:
        return Actor(kind="system", label=principal.label, role=role)
    return Actor(kind="key", id=str(principal.key_id), label=principal.label, role=role)


class AuditEntry(msgspec.Struct, frozen=True):
    """One change: who, when, in which request, to what, and the row before and after.

    ``before`` is null for a creation, ``after`` for a removal. Timestamps and derived search
    columns are left out of both; so are secrets (an API key's hash).
    """

    id: int
    at: datetime
    actor: Actor
    action: str
    object_type: str
    object_key: str
    request_id: str | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None


class AuditPage(msgspec.Struct, frozen=True):
    items: list[AuditEntry]
    total: int
    limit: int
    offset: int
