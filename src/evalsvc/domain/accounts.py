"""People's accounts: usernames, password rules and hashing (argon2id), session tokens.

Passwords are hashed with argon2id (``argon2-cffi``'s RFC 9106 low-memory profile: 64 MiB,
3 passes), so a stolen table costs an attacker a lot per guess. Session tokens are 256 random
bits; like API keys only their SHA-256 is stored.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import string
from typing import Final

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from evalsvc.domain.errors import field_error

MIN_PASSWORD: Final = 10
MAX_PASSWORD: Final = 200
_USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,62}$")
_HASHER = PasswordHasher()  # argon2id, RFC 9106 low-memory parameters


def normalize_username(raw: str) -> str:
    """Lowercase, trimmed; raises FieldProblem-carrying errors for anything else."""
    name = raw.strip().lower()
    if not _USERNAME.match(name):
        raise field_error(
            "username", "2 to 63 characters: letters a-z, digits, '.', '_' or '-', no accents"
        )
    return name


def check_password_rules(password: str, username: str = "") -> None:
    """Long enough, not absurdly long, not the username."""
    if len(password) < MIN_PASSWORD:
        raise field_error("password", f"at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise field_error("password", f"at most {MAX_PASSWORD} characters")
    if username and password.strip().lower() == username:
        raise field_error("password", "must not be the username")


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def verify_password(stored_hash: str, password: str) -> bool:
    try:
        return _HASHER.verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    """True when the hash was made with older parameters than the current ones."""
    return _HASHER.check_needs_rehash(stored_hash)


DUMMY_HASH: Final = _HASHER.hash("evalsvc: no such user")
"""Verified against when the username is unknown, so both cases take the same time."""

_ALPHABET = "".join(c for c in string.ascii_letters + string.digits if c not in "0O1lI")


def temporary_password(length: int = 14) -> str:
    """A readable one-time password for a new or reset account (changed at first login)."""
    return "".join(secrets.choice(_ALPHABET) for _ in range(length))


def new_session_token() -> str:
    return secrets.token_urlsafe(32)


def session_hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()
