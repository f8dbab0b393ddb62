"""A round's key pair and libsodium sealed boxes (X25519 + XSalsa20-Poly1305).

The round's secret is 16 random bytes (what pycryptodome's Shamir splits); the X25519 private
key is derived from it with BLAKE2b, so the shares are the only thing the committee must keep.
128 bits of secret match the ~128-bit security of Curve25519.
"""

from __future__ import annotations

import hashlib
import secrets
from typing import Final

from nacl.exceptions import CryptoError
from nacl.public import PrivateKey, PublicKey, SealedBox

SECRET_BYTES: Final = 16
SEAL_OVERHEAD: Final = 48  # ephemeral public key (32) + MAC (16)


class SealError(ValueError):
    """A ciphertext that does not open with this key (damaged, forged or for another round)."""


def new_round_secret() -> bytes:
    return secrets.token_bytes(SECRET_BYTES)


def private_key(secret: bytes) -> PrivateKey:
    """The round's X25519 private key, derived from its 16-byte secret."""
    if len(secret) != SECRET_BYTES:
        raise ValueError(f"a round secret has {SECRET_BYTES} bytes")
    seed = hashlib.blake2b(secret, digest_size=32, person=b"evalsvc-round").digest()
    return PrivateKey.from_seed(seed)


def public_key(secret: bytes) -> bytes:
    return bytes(private_key(secret).public_key)


def seal(public: bytes, plaintext: bytes) -> bytes:
    """Anonymous encryption to the round's public key: only the private key opens it."""
    return bytes(SealedBox(PublicKey(public)).encrypt(plaintext))


class Opener:
    """Opens many sealed boxes of one round with one key (built once per close)."""

    def __init__(self, secret: bytes) -> None:
        self._box = SealedBox(private_key(secret))

    def open(self, ciphertext: bytes) -> bytes:
        try:
            return bytes(self._box.decrypt(ciphertext))
        except CryptoError:
            raise SealError("the sealed sheet does not open with the round's key") from None
