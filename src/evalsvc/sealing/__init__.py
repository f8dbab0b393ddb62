"""Ballot cryptography: sealed boxes, Shamir shares of a round's key, Merkle receipts.

No I/O and nothing of ours but the standard library, PyNaCl and pycryptodome, so the Python
voting client and the service use the very same code.
"""
