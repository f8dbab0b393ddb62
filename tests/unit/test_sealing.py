"""Sealed boxes, Shamir shares and Merkle receipts (no database)."""

from __future__ import annotations

import base64
import hashlib
import itertools

import pytest

from evalsvc.sealing import boxes, member_keys, receipts, shares


def test_sealed_box_opens_only_with_the_round_key() -> None:
    secret = boxes.new_round_secret()
    sealed = boxes.seal(boxes.public_key(secret), b'{"ballots": []}')
    assert b"ballots" not in sealed
    assert len(sealed) == len(b'{"ballots": []}') + boxes.SEAL_OVERHEAD
    assert boxes.Opener(secret).open(sealed) == b'{"ballots": []}'
    with pytest.raises(boxes.SealError):
        boxes.Opener(boxes.new_round_secret()).open(sealed)
    damaged = sealed[:-1] + bytes([sealed[-1] ^ 1])
    with pytest.raises(boxes.SealError):
        boxes.Opener(secret).open(damaged)


def test_any_k_shares_rebuild_the_secret_and_k_minus_1_do_not() -> None:
    secret = boxes.new_round_secret()
    made = shares.split(7, secret, 3, 5)
    assert [s.index for s in made] == [1, 2, 3, 4, 5]
    for chosen in itertools.combinations(made, 3):
        assert shares.combine(list(chosen)) == secret
    assert shares.combine(made[:2]) != secret  # two points of a degree-2 polynomial: noise
    parsed = shares.parse(made[1].text.upper())
    assert parsed == made[1]
    assert shares.share_hash(parsed) == shares.share_hash(made[1])
    assert shares.share_hash(parsed) != shares.share_hash(made[2])
    with pytest.raises(shares.ShareError):
        shares.parse("7-2-not-a-share")
    with pytest.raises(shares.ShareError):
        shares.combine([made[0], made[0]])


def test_merkle_proofs_verify_for_every_leaf_and_a_forged_receipt_fails() -> None:
    for n in (1, 2, 3, 5, 8, 13):
        leaves = [hashlib.sha256(bytes([i])).digest() for i in range(n)]
        top = receipts.root(leaves)
        assert top == receipts.root(list(reversed(leaves)))  # order of arrival does not matter
        for value in leaves:
            steps = receipts.proof(leaves, value)
            assert steps is not None
            assert receipts.verify(value, steps, top)
        forged = hashlib.sha256(b"forged").digest()
        assert receipts.proof(leaves, forged) is None
        steps = receipts.proof(leaves, leaves[0])
        assert steps is not None
        assert not receipts.verify(forged, steps, top)
        if steps:
            bent = [receipts.Step(steps[0].side, bytes(32)), *steps[1:]]
            assert not receipts.verify(leaves[0], bent, top)


def test_the_root_of_two_receipts_is_the_documented_formula() -> None:
    a, b = sorted([hashlib.sha256(b"a").digest(), hashlib.sha256(b"b").digest()])
    leaf = [hashlib.sha256(b"\x00" + v).digest() for v in (a, b)]
    assert receipts.root([b, a]) == hashlib.sha256(b"\x01" + leaf[0] + leaf[1]).digest()


def test_a_share_sealed_to_a_member_opens_only_with_their_key_file() -> None:
    key_file, public = member_keys.new_key()
    other, _ = member_keys.new_key()
    sealed = member_keys.seal_share(public, "7-2-0123-4567-89ab-cdef-0123-4567-89ab-cdef")
    assert member_keys.open_share("  " + key_file + "\n", sealed).startswith("7-2-")
    assert member_keys.public_of(key_file) == public
    with pytest.raises(member_keys.MemberKeyError):
        member_keys.open_share(other, sealed)
    with pytest.raises(member_keys.MemberKeyError):
        member_keys.open_share("not a key file", sealed)
    with pytest.raises(member_keys.MemberKeyError):
        member_keys.parse_public_key(base64.b64encode(bytes(32)).decode())
    assert member_keys.parse_public_key(base64.b64encode(public).decode()) == public
