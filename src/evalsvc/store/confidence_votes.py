"""Formal confidence votes (QĐ 96): bulk upsert by (cadre, vote date) and filtered lists."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import asyncpg

from evalsvc.domain.access import Principal
from evalsvc.domain.bulk import Upload
from evalsvc.domain.confidence_votes import ConfidenceVote, ConfidenceVoteIn, derived
from evalsvc.domain.units import UpsertSummary
from evalsvc.store.listing import Filters, fetch_page
from evalsvc.store.sqlfiles import queries
from evalsvc.store.subjects import scope_filter, upsert_rows

Q = queries("confidence_votes")
_FILTERS = {
    "cadre": "c.code = ${}",
    "date_from": "v.vote_date >= ${}",
    "date_to": "v.vote_date <= ${}",
    "scope": "c.unit_id = any(${}::bigint[])",
}


async def upsert_votes(
    conn: asyncpg.Connection,
    upload: Upload[ConfidenceVoteIn] | Sequence[ConfidenceVoteIn],
    principal: Principal | None,
) -> UpsertSummary:
    """Insert or update by (cadre, vote date), all or nothing."""
    return await upsert_rows(
        conn,
        upload,
        principal,
        query=Q["upsert"],
        cadre_code=lambda r: r.cadre_code,
        key=lambda r: f"{r.cadre_code}/{r.vote_date}",
        key_field="vote_date",
        columns=lambda subjects, rows: [
            [subjects.cadres[r.cadre_code].id for r in rows],
            [r.vote_date for r in rows],
            [r.eligible for r in rows],
            [r.present for r in rows],
            [r.high for r in rows],
            [r.medium for r in rows],
            [r.low for r in rows],
        ],
    )


def _vote(record: asyncpg.Record) -> ConfidenceVote:
    d = dict(record)
    share, over_half, quorum = derived(d["eligible"], d["present"], d["low"])
    return ConfidenceVote(**d, low_share=share, low_over_half=over_half, quorum_two_thirds=quorum)


async def list_votes(
    conn: asyncpg.Connection,
    principal: Principal,
    *,
    cadre: str | None,
    date_from: date | None,
    date_to: date | None,
    limit: int,
    offset: int,
) -> tuple[list[ConfidenceVote], int]:
    values = {
        "cadre": cadre,
        "date_from": date_from,
        "date_to": date_to,
        "scope": await scope_filter(conn, principal),
    }
    page = await fetch_page(
        conn,
        Filters(
            Q["select"], Q["count"], _FILTERS, {k: v for k, v in values.items() if v is not None}
        ),
        order_by="v.vote_date desc, c.code",
        limit=limit,
        offset=offset,
    )
    return [_vote(r) for r in page.rows], page.total
