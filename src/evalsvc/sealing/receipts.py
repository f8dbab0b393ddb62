"""Receipts and the round's Merkle tree (RFC 6962 style hashing, leaves in sorted order).

A receipt is SHA-256 of the sealed sheet as stored. At close the round publishes the root of
a tree over every counted receipt, sorted (no submission order survives); a voter checks that
their receipt is a leaf with the inclusion proof. Leaf = H(0x00 | receipt), node =
H(0x01 | left | right); an odd node at the end of a level is carried up unchanged.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Literal

RECEIPT_BYTES = 32


def receipt(ciphertext: bytes) -> bytes:
    return hashlib.sha256(ciphertext).digest()


def _leaf(value: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + value).digest()


def _node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


@dataclass(frozen=True, slots=True)
class Step:
    side: Literal["left", "right"]  # where the sibling sits
    hash: bytes


def _levels(leaves: list[bytes]) -> list[list[bytes]]:
    level = [_leaf(v) for v in leaves]
    levels = [level]
    while len(level) > 1:
        nxt = [_node(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            nxt.append(level[-1])
        levels.append(nxt)
        level = nxt
    return levels


def root(receipts: list[bytes]) -> bytes:
    """The root over ``receipts`` (sorted first); the empty tree's root is H("")."""
    if not receipts:
        return hashlib.sha256(b"").digest()
    return _levels(sorted(receipts))[-1][0]


def proof(receipts: list[bytes], value: bytes) -> list[Step] | None:
    """Siblings from the leaf of ``value`` up to the root; None if it is not a leaf."""
    ordered = sorted(receipts)
    try:
        index = ordered.index(value)
    except ValueError:
        return None
    steps: list[Step] = []
    for level in _levels(ordered)[:-1]:
        sibling = index ^ 1
        if sibling < len(level):
            steps.append(Step("left" if sibling < index else "right", level[sibling]))
        index //= 2
    return steps


def verify(value: bytes, steps: list[Step], expected_root: bytes) -> bool:
    """Whether ``steps`` lead from receipt ``value`` to ``expected_root``."""
    current = _leaf(value)
    for step in steps:
        current = _node(step.hash, current) if step.side == "left" else _node(current, step.hash)
    return current == expected_root
