"""The service's secret key for keyed hashes (voter tokens, the ballot ledger).

``Settings.secret_key`` wins when set. Otherwise a random key is generated on first use and
kept in ``<data_dir>/secret_key`` (mode 0600), so restarts find the same key: the ledger and
voter tokens of open rounds only work with the key they were made with.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

from evalsvc.domain.ballots import BallotKeys
from evalsvc.settings import Settings

KEY_FILE = "secret_key"


def master_key(settings: Settings) -> bytes:
    """The configured key, or the one persisted under ``data_dir`` (created if absent)."""
    if settings.secret_key:
        return settings.secret_key.encode()
    return _persisted_key(Path(settings.data_dir) / KEY_FILE)


def _persisted_key(path: Path) -> bytes:
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        # O_EXCL: when two processes start together, exactly one writes; the other reads.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        text = path.read_text(encoding="ascii").strip()
        if not text:
            raise RuntimeError(f"{path} is empty; remove it or set EVALSVC_SECRET_KEY") from None
        return text.encode()
    text = secrets.token_hex(32)
    with os.fdopen(fd, "w", encoding="ascii") as out:
        out.write(text + "\n")
    return text.encode()


def derive(master: bytes) -> BallotKeys:
    """Purpose-bound subkeys, so a token hash can never be replayed as a ledger tag."""
    return BallotKeys(
        token=hmac.new(master, b"evalsvc ballot voter token", hashlib.sha256).digest(),
        ledger=hmac.new(master, b"evalsvc ballot ledger", hashlib.sha256).digest(),
        share_wrap=hmac.new(master, b"evalsvc committee share wrap", hashlib.sha256).digest(),
    )


def ballot_keys(settings: Settings) -> BallotKeys:
    return derive(master_key(settings))


def web_key(settings: Settings) -> bytes:
    """The key that binds a page form's CSRF token to the browser's CSRF cookie."""
    return hmac.new(master_key(settings), b"evalsvc web csrf", hashlib.sha256).digest()
