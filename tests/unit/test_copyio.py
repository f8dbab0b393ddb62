"""Binary COPY payloads from numpy columns."""

from __future__ import annotations

import numpy as np

from evalsvc.store import copyio


def test_a_payload_sent_in_chunks_equals_the_whole() -> None:
    rng = np.random.default_rng(5)
    n = 1_000
    values = np.stack(
        [rng.random(n), np.full(n, np.nan), rng.integers(0, 9, n)], axis=1
    )  # NaN and integers too
    ids = np.arange(n, dtype=np.int64)
    whole = copyio.encode([("int8", ids), ("bytea", values)], n)
    assert len(whole) > n * (8 + 3 * 8)
    chunked = b"".join(
        copyio.rows(
            [
                ("int8", copyio._slice(ids, lo, lo + 300)),
                ("bytea", copyio._slice(values, lo, lo + 300)),
            ],
            min(300, n - lo),
        ).tobytes()
        for lo in range(0, n, 300)
    )
    assert copyio.HEADER + chunked + copyio.TRAILER == whole
    # And a scalar or a text constant still applies to every row of a chunk.
    assert copyio._slice(7, 0, 3) == 7
    assert copyio._slice("x", 0, 3) == "x"
