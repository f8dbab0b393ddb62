"""A committee member's own X25519 key pair, and their share sealed to it.

The member makes the pair where the service cannot see it (their browser, with the vendored
libsodium-wrappers, or :func:`new_key` on their own machine), keeps the private key as a
small text file, and registers only the public key. At open each share is a libsodium sealed
box to its member's public key: the service, its database and its secret key together cannot
open it. The key file is ``evalsvc-committee-key-1:`` followed by the private key in
base64 (the page's script writes and reads the same format).
"""

from __future__ import annotations

import base64
import binascii
from typing import Final

from nacl.exceptions import CryptoError
from nacl.public import PrivateKey, PublicKey, SealedBox

KEY_FILE_PREFIX: Final = "evalsvc-committee-key-1:"
KEY_BYTES: Final = 32


class MemberKeyError(ValueError):
    """Not a public key, not a key file, or a sealed share this key does not open."""


def new_key() -> tuple[str, bytes]:
    """A new pair: (the key file's text, for the member only; the public key, to register)."""
    private = PrivateKey.generate()
    text = KEY_FILE_PREFIX + base64.b64encode(bytes(private)).decode()
    return text, bytes(private.public_key)


def parse_public_key(text: str) -> bytes:
    """A registered public key: base64 of 32 bytes, not all zero."""
    try:
        raw = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise MemberKeyError("not base64") from None
    if len(raw) != KEY_BYTES:
        raise MemberKeyError(f"an X25519 public key has {KEY_BYTES} bytes, not {len(raw)}")
    if raw == bytes(KEY_BYTES):
        raise MemberKeyError("not a usable public key")
    return raw


def private_key(key_file: str) -> PrivateKey:
    """The private key of a key file's text (whitespace around it forgiven)."""
    text = key_file.strip()
    if not text.startswith(KEY_FILE_PREFIX):
        raise MemberKeyError("not an evalsvc committee key file")
    try:
        raw = base64.b64decode(text[len(KEY_FILE_PREFIX) :], validate=True)
    except (binascii.Error, ValueError):
        raise MemberKeyError("the key file is damaged") from None
    if len(raw) != KEY_BYTES:
        raise MemberKeyError("the key file is damaged")
    return PrivateKey(raw)


def public_of(key_file: str) -> bytes:
    return bytes(private_key(key_file).public_key)


def seal_share(public: bytes, share_text: str) -> bytes:
    """The share sealed to its member's public key (only their private key opens it)."""
    return bytes(SealedBox(PublicKey(public)).encrypt(share_text.encode()))


def open_share(key_file: str, sealed: bytes) -> str:
    """The share text, opened with the member's key file."""
    try:
        return bytes(SealedBox(private_key(key_file)).decrypt(sealed)).decode()
    except CryptoError:
        raise MemberKeyError("this key does not open the share (another member's key?)") from None
