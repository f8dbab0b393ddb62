"""Supervisor assessments: bulk upsert by (cadre, month) and filtered lists."""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg

from evalsvc.domain.access import Principal
from evalsvc.domain.assessments import Assessment, AssessmentIn
from evalsvc.domain.bulk import Upload
from evalsvc.domain.cadres import LEADER_POSITIONS
from evalsvc.domain.errors import FieldProblem
from evalsvc.domain.tasks import format_month, parse_month
from evalsvc.domain.units import UpsertSummary
from evalsvc.store.listing import Filters, fetch_page
from evalsvc.store.sqlfiles import queries
from evalsvc.store.subjects import Subjects, scope_filter, upsert_rows

Q = queries("assessments")
_FILTERS = {
    "cadre": "c.code = ${}",
    "month": "a.month = ${}",
    "scope": "c.unit_id = any(${}::bigint[])",
}


async def upsert_assessments(
    conn: asyncpg.Connection,
    upload: Upload[AssessmentIn] | Sequence[AssessmentIn],
    principal: Principal | None,
) -> UpsertSummary:
    """Insert or update by (cadre, month), all or nothing. đ and e are for leaders only."""
    return await upsert_rows(
        conn,
        upload,
        principal,
        query=Q["upsert"],
        cadre_code=lambda r: r.cadre_code,
        key=lambda r: f"{r.cadre_code}/{r.month}",
        key_field="month",
        check=_leaders_only,
        columns=lambda subjects, rows: [
            [subjects.cadres[r.cadre_code].id for r in rows],
            [parse_month(r.month) for r in rows],
            [r.politics for r in rows],
            [r.capacity for r in rows],
            [r.innovation for r in rows],
            [r.organising for r in rows],
            [r.cohesion for r in rows],
            [r.assessed_by for r in rows],
        ],
    )


def _leaders_only(subjects: Subjects, upload: Upload[AssessmentIn]) -> list[FieldProblem]:
    """đ (organising) and e (cohesion) given to a cadre who is not a head or deputy."""
    problems = []
    for number, r in upload.numbered():
        cadre = subjects.cadres.get(r.cadre_code)
        if (
            cadre is not None
            and (r.organising is not None or r.cohesion is not None)
            and cadre.position not in LEADER_POSITIONS
        ):
            problems.append(
                FieldProblem(
                    "organising" if r.organising is not None else "cohesion",
                    "đ and e are given to leaders (heads and deputies) only",
                    number,
                )
            )
    return problems


def _assessment(record: asyncpg.Record) -> Assessment:
    d = dict(record)
    d["month"] = format_month(d["month"])
    d["general_total"] = d["politics"] + d["capacity"] + d["innovation"]
    return Assessment(**d)


async def list_assessments(
    conn: asyncpg.Connection,
    principal: Principal,
    *,
    cadre: str | None,
    month: int | None,
    limit: int,
    offset: int,
) -> tuple[list[Assessment], int]:
    values = {"cadre": cadre, "month": month, "scope": await scope_filter(conn, principal)}
    page = await fetch_page(
        conn,
        Filters(
            Q["select"], Q["count"], _FILTERS, {k: v for k, v in values.items() if v is not None}
        ),
        order_by="a.month desc, c.code",
        limit=limit,
        offset=offset,
    )
    return [_assessment(r) for r in page.rows], page.total
