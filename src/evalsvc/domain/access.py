"""Who may call what: roles, principals and API key format."""

from __future__ import annotations

import enum
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Literal


class Role(enum.StrEnum):
    """Roles carried by API keys.

    admin: everything. personnel: a personnel department, writes within its unit subtree.
    hr_system: a machine client (HR or document system), writes data within its subtree.
    auditor: reads everything, writes nothing.
    """

    ADMIN = "admin"
    PERSONNEL = "personnel"
    HR_SYSTEM = "hr_system"
    AUDITOR = "auditor"

    @property
    def scoped(self) -> bool:
        """Scoped roles act only inside one unit subtree."""
        return self in (Role.PERSONNEL, Role.HR_SYSTEM)


READ_ROLES = frozenset(Role)
"""Every role may read (scoped roles see only their subtree)."""


PrincipalKind = Literal["api_key", "user", "system"]


@dataclass(frozen=True, slots=True)
class Principal:
    """The authenticated caller of one request: an API key, a logged-in person, or the
    service itself (CLI, built-in jobs). ``actor`` names it for the records of its writes."""

    key_id: int  # the API key's id; 0 for people and the system
    role: Role
    scope_unit_id: int | None  # None: the whole city
    label: str = ""  # the key's label, recorded as the actor of its changes
    kind: PrincipalKind = "api_key"
    user_id: int | None = None  # set when kind == "user"

    @property
    def city_wide(self) -> bool:
        return self.scope_unit_id is None

    @property
    def actor(self) -> str:
        """``key:7``, ``user:3`` or ``system``: who made a write, as stored beside it."""
        if self.kind == "user":
            return f"user:{self.user_id}"
        if self.kind == "api_key" and self.key_id > 0:
            return f"key:{self.key_id}"
        return "system"


KEY_PREFIX = "evs"


@dataclass(frozen=True, slots=True)
class NewKey:
    """A freshly generated key: the full token is shown once, only the hash is kept."""

    prefix: str
    token: str
    secret_hash: bytes


def generate_key() -> NewKey:
    """``evs_<prefix>_<secret>``: the prefix finds the row, the secret is checked by hash."""
    prefix = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    return NewKey(prefix, f"{KEY_PREFIX}_{prefix}_{secret}", hash_secret(secret))


def hash_secret(secret: str) -> bytes:
    """SHA-256 is enough: the secret is 256 random bits, not a password."""
    return hashlib.sha256(secret.encode()).digest()


def split_token(token: str) -> tuple[str, str] | None:
    """``(prefix, secret)`` of a well-formed token, else None."""
    parts = token.split("_", 2)
    if len(parts) != 3 or parts[0] != KEY_PREFIX or not parts[1] or not parts[2]:
        return None
    return parts[1], parts[2]


def secret_matches(secret: str, stored_hash: bytes) -> bool:
    return hmac.compare_digest(hash_secret(secret), stored_hash)


SYSTEM = Principal(key_id=0, role=Role.ADMIN, scope_unit_id=None, kind="system")
"""The CLI and built-in jobs act as a city-wide administrator."""
