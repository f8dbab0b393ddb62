"""Cadre result chunks: what is written is what is read, across chunk boundaries."""

from __future__ import annotations

import asyncpg
import numpy as np
import pytest

from evalsvc.store import cadre_chunks
from evalsvc.store.results import MONTH


def _columns(ids: np.ndarray, rng: np.random.Generator) -> dict[str, tuple[str, object]]:
    n = len(ids)
    m = rng.random(n) * 100
    m[::7] = np.nan
    return {
        "cadre_id": ("int8", ids),
        "unit_id": ("int8", ids // 50),
        "m": ("float8", m),
        "level": ("int2", rng.integers(-1, 4, n)),
        "reasons": ("int4", rng.integers(0, 1 << 20, n)),
        "n_manifestations": ("int4", rng.integers(0, 41, n)),
        "detail": ("bytea", tuple(rng.random(n) for _ in MONTH.detail_fields)),
    }


async def test_rows_round_trip_across_chunks_and_merge_by_cadre(conn: asyncpg.Connection) -> None:
    rng = np.random.default_rng(3)
    n = 2 * cadre_chunks.CHUNK_ROWS + 100
    ids = rng.permutation(np.arange(1, 3 * n, 3, dtype=np.int64))  # written in any order
    cols = _columns(ids, rng)
    assert await cadre_chunks.write(conn, MONTH, 901, cols, n) == n
    assert await conn.fetchval("select count(*) from result_month_chunks where run_id = 901") == 3

    back = await cadre_chunks.read_run(conn, MONTH, 901)
    order = np.argsort(ids)
    assert np.array_equal(back["cadre_id"], ids[order])
    np.testing.assert_array_equal(back["m"], cols["m"][1][order])  # type: ignore[index]
    assert np.array_equal(back["level"], np.asarray(cols["level"][1])[order])
    detail = np.stack(cols["detail"][1])[:, order]  # type: ignore[arg-type]
    assert np.array_equal(back["detail"], detail)

    # A chunk's first and last cadre, one inside, one between two ids, one past the end.
    edge = back["cadre_id"][[0, cadre_chunks.CHUNK_ROWS - 1, cadre_chunks.CHUNK_ROWS, 5000]]
    for cadre in edge.tolist():
        row = (await cadre_chunks.lookup(conn, MONTH, [901], cadre))[901]
        at = int(np.searchsorted(back["cadre_id"], cadre))
        assert row["reasons"] == back["reasons"][at]
        assert row["g"] == back["detail"][MONTH.detail_fields.index("g"), at]
    assert await cadre_chunks.lookup(conn, MONTH, [901], int(edge[0]) + 1) == {}
    assert await cadre_chunks.lookup(conn, MONTH, [901], 10 * n) == {}

    some = back["cadre_id"][[5, 4200, 8250]]
    members = await cadre_chunks.read_members(conn, MONTH, 901, [*some.tolist(), 2], ["level"])
    assert np.array_equal(members["cadre_id"], some)
    assert set(members) == {"cadre_id", "level"}

    # A subtree run: keep the base's other cadres, replace two, add one.
    new_ids = np.array([some[0], some[2], 3 * n + 1], dtype=np.int64)
    new = _columns(new_ids, rng)
    merged = await cadre_chunks.write(
        conn, MONTH, 902, new, 3, carry_from=901, carry_except=some[[0, 2]].tolist()
    )
    assert merged == n + 1
    again = await cadre_chunks.read_run(conn, MONTH, 902, ["m"])
    assert np.array_equal(again["cadre_id"], np.sort(np.append(ids, 3 * n + 1)))
    at = np.searchsorted(again["cadre_id"], new_ids)
    np.testing.assert_array_equal(again["m"][at], new["m"][1])  # type: ignore[index]


async def test_a_cadre_twice_in_one_run_is_refused(conn: asyncpg.Connection) -> None:
    rng = np.random.default_rng(4)
    cols = _columns(np.array([5, 6, 5], dtype=np.int64), rng)
    with pytest.raises(ValueError, match="twice"):
        await cadre_chunks.write(conn, MONTH, 903, cols, 3)
