"""Shamir k-of-n shares of a round's 16-byte secret, as text a person can copy or read out.

Splitting and combining are pycryptodome's (``Crypto.Protocol.SecretSharing.Shamir``, over
GF(2^128)). A share's text is ``<round>-<index>-<32 hex digits in groups of 4>``, e.g.
``17-2-9f3a-61b0-...``; the round number catches a share of another round, and the service
keeps a salted hash of every share to tell which one is wrong (a share has 128 random bits,
so its hash gives nothing away).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from Crypto.Protocol.SecretSharing import Shamir

from evalsvc.sealing.boxes import SECRET_BYTES

_SHARE = re.compile(r"^\s*(\d+)-(\d+)-((?:[0-9a-f]{4}-?){8})\s*$", re.IGNORECASE)


class ShareError(ValueError):
    """Text that is not a share (typing error) or is a share of another round."""


@dataclass(frozen=True, slots=True)
class Share:
    round_id: int
    index: int  # 1..n, the x coordinate
    value: bytes  # 16 bytes, the y coordinate

    @property
    def text(self) -> str:
        digits = self.value.hex()
        groups = "-".join(digits[i : i + 4] for i in range(0, len(digits), 4))
        return f"{self.round_id}-{self.index}-{groups}"


def split(round_id: int, secret: bytes, k: int, n: int) -> list[Share]:
    """n shares, any k of which rebuild ``secret``; fewer tell nothing about it."""
    if not 2 <= k <= n:
        raise ValueError("need 2 <= k <= n")
    if len(secret) != SECRET_BYTES:
        raise ValueError(f"a round secret has {SECRET_BYTES} bytes")
    return [Share(round_id, i, bytes(v)) for i, v in Shamir.split(k, n, secret, ssss=False)]


def parse(text: str) -> Share:
    match = _SHARE.match(text)
    if not match:
        raise ShareError("not a share: expected <round>-<number>-<32 hex digits>")
    value = bytes.fromhex(match.group(3).replace("-", ""))
    return Share(int(match.group(1)), int(match.group(2)), value)


def combine(shares: list[Share]) -> bytes:
    """The secret from k shares of distinct indexes (wrong shares give a wrong secret)."""
    if len({s.index for s in shares}) != len(shares):
        raise ShareError("the same share was given twice")
    return bytes(Shamir.combine([(s.index, s.value) for s in shares], ssss=False))


def share_hash(share: Share) -> bytes:
    """What the service keeps of a share: SHA-256 over round, index and value."""
    message = f"evalsvc share|{share.round_id}|{share.index}|".encode() + share.value
    return hashlib.sha256(message).digest()
