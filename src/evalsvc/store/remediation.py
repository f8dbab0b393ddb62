"""Remediation items: open (one, many, or idempotently from other code), verify, cancel, list."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import asyncpg

from evalsvc.domain.access import Principal
from evalsvc.domain.bulk import Upload
from evalsvc.domain.errors import Conflict, FieldProblem, NotFound, RuleViolation
from evalsvc.domain.remediation import (
    NewItem,
    Remediation,
    RemediationCancel,
    RemediationIn,
    RemediationVerify,
)
from evalsvc.domain.units import UpsertSummary
from evalsvc.store.listing import Filters, fetch_page
from evalsvc.store.scope import ensure_in_scope
from evalsvc.store.sqlfiles import queries
from evalsvc.store.subjects import check_scope, resolve, scope_filter

Q = queries("remediation")
_FILTERS = {
    "cadre": "c.code = ${}",
    "unit": "u.code = ${}",
    # The unit's own items or its staff's (one subject each), through the unit and cadre
    # indexes: a bitmap OR, not a scan of every item of the city (the unit page reads it).
    "unit_or_members": (
        "(r.unit_id = (select id from units where code = ${0})"
        " or r.cadre_id = any(array(select x.id from cadres x"
        " where x.unit_id = (select id from units where code = ${0}))))"
    ),
    "status": "r.status = ${}",
    "origin": "r.origin = ${}",
    "origin_ref": "r.origin_ref = ${}",
    "overdue_on": "r.status = 'open' and r.due_on < ${}",
    "due_from": "r.due_on >= ${}",
    "due_to": "r.due_on <= ${}",
    "scope": "coalesce(r.unit_id, c.unit_id) = any(${}::bigint[])",
}


async def open_items(conn: asyncpg.Connection, items: Sequence[NewItem]) -> list[int]:
    """Open many items in one statement; for other code (ballot rounds) that knows the ids.

    Idempotent per (origin, origin_ref, subject, item_code) when origin_ref is given: an item
    that exists is left untouched (even if verified or cancelled). Returns the ids inserted now.
    Runs in the caller's transaction, if any.
    """
    if not items:
        return []
    bad = [i for i in items if (i.cadre_id is None) == (i.unit_id is None)]
    if bad:
        raise RuleViolation(
            "each remediation item needs exactly one of cadre_id and unit_id",
            [FieldProblem("cadre_id", "exactly one of cadre_id and unit_id")],
        )
    rows = await conn.fetch(
        Q["open_items"],
        [i.cadre_id for i in items],
        [i.unit_id for i in items],
        [i.origin for i in items],
        [i.origin_ref for i in items],
        [i.item_code for i in items],
        [i.description for i in items],
        [i.identified_on for i in items],
        [i.due_on for i in items],
    )
    return [r["id"] for r in rows]


async def create_items(
    conn: asyncpg.Connection,
    upload: Upload[RemediationIn] | Sequence[RemediationIn],
    principal: Principal | None,
) -> tuple[UpsertSummary, list[int]]:
    """Items from an upload (codes), all or nothing; existing idempotent ones are unchanged."""
    upload = Upload.of(upload)
    rows = upload.rows
    seen: dict[tuple[object, ...], int] = {}
    problems = []
    for number, r in upload.numbered():
        if r.origin_ref is None:
            continue
        key = (r.origin, r.origin_ref, r.cadre_code, r.unit_code, r.item_code)
        if key in seen:
            problems.append(FieldProblem("origin_ref", f"same item as row {seen[key]}", number))
        seen.setdefault(key, number)
    async with conn.transaction():
        subjects, unknown = await resolve(
            conn,
            upload.numbers,
            cadre_codes=[r.cadre_code for r in rows],
            unit_codes=[r.unit_code for r in rows],
            principal=principal,
        )
        upload.refuse_if([*unknown, *problems])
        await check_scope(conn, principal, subjects)
        ids = await open_items(
            conn,
            [
                NewItem(
                    origin=r.origin,
                    description=r.description,
                    identified_on=r.identified_on,
                    due_on=r.due_on,
                    cadre_id=subjects.cadres[r.cadre_code].id if r.cadre_code else None,
                    unit_id=subjects.units[r.unit_code] if r.unit_code else None,
                    origin_ref=r.origin_ref,
                    item_code=r.item_code,
                )
                for r in rows
            ],
        )
    summary = UpsertSummary(inserted=len(ids), updated=0, unchanged=len(rows) - len(ids))
    return summary, ids


def _item(record: asyncpg.Record, today: date) -> Remediation:
    d = dict(record)
    d["overdue"] = d["status"] == "open" and d["due_on"] < today
    d["verified_late"] = (
        d["status"] == "done" and d["verified_on"] is not None and d["verified_on"] > d["due_on"]
    )
    return Remediation(**d)


async def get_item(
    conn: asyncpg.Connection, item_id: int, principal: Principal, today: date
) -> Remediation:
    values: dict[str, object] = {"id": item_id}
    scope = await scope_filter(conn, principal)
    if scope is not None:
        values["scope"] = scope
    page = await fetch_page(
        conn,
        Filters(Q["select"], Q["count"], {**_FILTERS, "id": "r.id = ${}"}, values),
        order_by="r.id",
        limit=1,
        offset=0,
    )
    if not page.rows:
        raise NotFound(f"no remediation item {item_id}", [FieldProblem("id", "not found")])
    return _item(page.rows[0], today)


async def list_items(
    conn: asyncpg.Connection,
    principal: Principal,
    *,
    filters: dict[str, object],
    today: date,
    limit: int,
    offset: int,
) -> tuple[list[Remediation], int]:
    values = {k: v for k, v in filters.items() if v is not None}
    if values.pop("overdue", None):
        values["overdue_on"] = today
    scope = await scope_filter(conn, principal)
    if scope is not None:
        values["scope"] = scope
    page = await fetch_page(
        conn,
        Filters(Q["select"], Q["count"], _FILTERS, values),
        order_by="r.due_on, r.id",
        limit=limit,
        offset=offset,
    )
    return [_item(r, today) for r in page.rows], page.total


async def _transition(
    conn: asyncpg.Connection, item_id: int, principal: Principal
) -> asyncpg.Record:
    """Lock the item (remediation_items_pkey, FOR UPDATE) and check scope and state."""
    row = await conn.fetchrow(Q["subject_unit"], item_id)
    if row is None:
        raise NotFound(f"no remediation item {item_id}", [FieldProblem("id", "not found")])
    await ensure_in_scope(
        conn,
        principal,
        [row["unit_id"]],
        NotFound(f"no remediation item {item_id}", [FieldProblem("id", "not found")]),
    )
    if row["status"] != "open":
        raise Conflict(
            f"item {item_id} is {row['status']}; only open items can change",
            [FieldProblem("status", f"is {row['status']}")],
        )
    return row


async def verify_item(
    conn: asyncpg.Connection,
    item_id: int,
    data: RemediationVerify,
    principal: Principal,
    today: date,
) -> Remediation:
    """open → done, with who verified and when (not before it was identified, not later than
    today)."""
    async with conn.transaction():
        row = await _transition(conn, item_id, principal)
        if data.verified_on < row["identified_on"]:
            raise RuleViolation(
                "verified_on is before the item was identified",
                [FieldProblem("verified_on", "before identified_on")],
            )
        if data.verified_on > today:
            raise RuleViolation(
                "verified_on is in the future", [FieldProblem("verified_on", "after today")]
            )
        await conn.execute(Q["verify"], item_id, data.verified_by, data.verified_on)
    return await get_item(conn, item_id, principal, today)


async def cancel_item(
    conn: asyncpg.Connection,
    item_id: int,
    data: RemediationCancel,
    principal: Principal,
    today: date,
) -> Remediation:
    """open → cancelled, with the reason (a cancelled item no longer counts as a task)."""
    async with conn.transaction():
        await _transition(conn, item_id, principal)
        await conn.execute(Q["cancel"], item_id, data.reason)
    return await get_item(conn, item_id, principal, today)


async def open_from_ballot_round(
    conn: asyncpg.Connection, round_id: int, which: str, due_days: int
) -> int:
    """Open items for the manifestations a closed round flagged (DOMAIN part 4).

    Args:
        which: "confirmed" or "watch" (confirmed and watched items).
        due_days: the items are identified today and due this many days later.
    Returns:
        How many items were opened now (a second call opens none).
    """
    status = await conn.execute(Q["open_from_ballot_round"], round_id, which, due_days)
    return int(status.split()[-1])
