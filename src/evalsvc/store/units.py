"""Units: bulk upsert (all-or-nothing), read, list."""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg
import msgspec

from evalsvc.domain.access import Principal
from evalsvc.domain.bulk import Upload
from evalsvc.domain.errors import Conflict, FieldProblem, NotFound, RuleViolation
from evalsvc.domain.units import Unit, UnitCreate, UpsertSummary
from evalsvc.domain.vietnamese import fold, nfc, sort_key
from evalsvc.store.listing import Filters, fetch_page
from evalsvc.store.scope import allowed_units, ensure_visible, subtree_ids
from evalsvc.store.sqlfiles import queries

Q = queries("units")


async def upsert_units(
    conn: asyncpg.Connection,
    units: Upload[UnitCreate] | Sequence[UnitCreate],
    principal: Principal | None = None,
) -> UpsertSummary:
    """Insert or update units by code, in one transaction; any bad row stores nothing.

    Raises:
        RuleViolation: every problem found: bad rows, duplicate codes, unknown parents, a cycle.
    """
    upload = Upload.of(units)
    rows = upload.rows
    codes = [r.code for r in rows]
    in_upload = set(codes)
    parents = {r.parent_code for r in rows if r.parent_code and r.parent_code not in in_upload}
    known = {rec["code"] for rec in await conn.fetch(Q["existing_codes"], list(parents))}
    upload.refuse_if(
        [
            *upload.duplicates(codes, "code"),
            *(
                FieldProblem("parent_code", f"no unit with code {r.parent_code!r}", n)
                for n, r in upload.numbered()
                if r.parent_code and r.parent_code not in in_upload and r.parent_code not in known
            ),
        ]
    )
    if principal is not None and not principal.city_wide:
        await _check_unit_scope(conn, principal, upload)

    names = [nfc(r.name) for r in rows]
    async with conn.transaction():
        written = await conn.fetch(
            Q["upsert"],
            codes,
            names,
            [sort_key(n) for n in names],
            [fold(n) for n in names],
            [nfc(r.kind) for r in rows],
            [nfc(r.ranking_block) if r.ranking_block else None for r in rows],
        )
        with_flag = [r for r in rows if r.agency is not msgspec.UNSET]
        flagged = await conn.fetch(
            Q["set_agency"], [r.code for r in with_flag], [r.agency for r in with_flag]
        )
        moved = await conn.fetch(Q["set_parents"], codes, [r.parent_code for r in rows])
        cyclic = [rec["code"] for rec in await conn.fetch(Q["cycles"], codes)]
        if cyclic:
            raise RuleViolation(
                "the upload would make a unit its own ancestor; nothing was stored",
                [
                    FieldProblem("parent_code", "creates a cycle in the unit tree", n)
                    for n, code in zip(upload.numbers, codes, strict=True)
                    if code in cyclic
                ],
            )
        with_years = [r for r in rows if r.outstanding_years is not msgspec.UNSET]
        years_changed: set[str] = set()
        if with_years:
            before = {
                rec["code"]: rec["years"]
                for rec in await conn.fetch(Q["outstanding_of"], [r.code for r in with_years])
            }
            years_changed = {
                r.code
                for r in with_years
                if sorted(set(r.outstanding_years)) != before.get(r.code, [])  # type: ignore[arg-type]
            }
            await conn.execute(Q["clear_outstanding"], [r.code for r in with_years])
            await conn.execute(
                Q["add_outstanding"],
                [r.code for r in with_years for _ in r.outstanding_years],  # type: ignore[union-attr]
                [y for r in with_years for y in r.outstanding_years],  # type: ignore[union-attr]
            )
        if years_changed:
            await conn.execute(Q["touch"], list(years_changed))
    inserted = sum(1 for rec in written if rec["inserted"])
    changed = {rec["code"] for rec in written if not rec["inserted"]}
    changed |= ({rec["code"] for rec in (*moved, *flagged)} | years_changed) - {
        rec["code"] for rec in written if rec["inserted"]
    }
    return UpsertSummary(
        inserted=inserted, updated=len(changed), unchanged=len(rows) - inserted - len(changed)
    )


async def create_unit(conn: asyncpg.Connection, row: UnitCreate, principal: Principal) -> Unit:
    """Create one unit; an existing code is a conflict (bulk upsert is for updates)."""
    if await conn.fetchval(Q["id_by_code"], row.code) is not None:
        raise Conflict(
            f"a unit with code {row.code!r} exists; use /units/bulk to update",
            [FieldProblem("code", "already exists")],
        )
    await upsert_units(conn, [row], principal)
    return await get_unit(conn, row.code, principal)


async def _check_unit_scope(
    conn: asyncpg.Connection, principal: Principal, upload: Upload[UnitCreate]
) -> None:
    """A scoped key may add or change units only strictly below its subtree root.

    Answered as rule violations (422) worded as for codes that do not exist: a parent
    outside reads "no unit with code", so a key cannot tell another subtree's codes from
    unknown ones. A row's own code taken by a unit elsewhere cannot read as unknown (an
    unknown code would be created): it is "already in use", which says no more than a
    create would.
    """
    rows = upload.rows
    wanted = [r.code for r in rows] + [r.parent_code for r in rows if r.parent_code]
    ids = {rec["code"]: rec["id"] for rec in await conn.fetch(Q["ids_by_codes"], wanted)}
    allowed = await allowed_units(conn, principal) or set()
    problems = []
    for number, row in upload.numbered():
        if ids.get(row.code) == principal.scope_unit_id:
            problems.append(FieldProblem("code", "is the root unit of this key's scope", number))
        elif row.code in ids and ids[row.code] not in allowed:
            problems.append(FieldProblem("code", f"code {row.code!r} is already in use", number))
        elif row.parent_code in ids and ids[row.parent_code] not in allowed:
            reason = f"no unit with code {row.parent_code!r}"
            problems.append(FieldProblem("parent_code", reason, number))
        elif row.parent_code is None and row.code not in ids:
            reason = "is required: a new unit of this key goes below its scope's root"
            problems.append(FieldProblem("parent_code", reason, number))
    upload.refuse_if(problems)


_LIST_FILTERS: dict[str, str] = {
    "parent": "p.code = ${}",
    "kind": "u.kind = ${}",
    "ranking_block": "u.ranking_block = ${}",
    "within": "u.id = any(${}::bigint[])",
    "q": "u.search_text like '%' || ${} || '%'",
}


async def list_units(
    conn: asyncpg.Connection,
    *,
    filters: dict[str, object],
    limit: int,
    offset: int,
    principal: Principal,
) -> tuple[list[Unit], int]:
    """Units in Vietnamese alphabetical order of name, filtered; scoped keys see their subtree."""
    active = {k: v for k, v in filters.items() if v is not None}
    if "q" in active:
        active["q"] = fold(str(active["q"]))
    if not principal.city_wide:
        active["within"] = await subtree_ids(conn, principal.scope_unit_id)  # type: ignore[arg-type]
    page = await fetch_page(
        conn,
        Filters(select=Q["select"], count=Q["count"], clauses=_LIST_FILTERS, values=active),
        order_by="u.name_key, u.code",
        limit=limit,
        offset=offset,
    )
    return [msgspec.convert(dict(r), Unit) for r in page.rows], page.total


async def get_unit(conn: asyncpg.Connection, code: str, principal: Principal) -> Unit:
    row = await conn.fetchrow(Q["select"] + " where u.code = $1", code)
    missing = NotFound(f"no unit with code {code!r}", [FieldProblem("code", "not found")])
    if row is None:
        raise missing
    await ensure_visible(conn, principal, row["id"], missing)
    return msgspec.convert(dict(row), Unit)


async def unit_id(conn: asyncpg.Connection, code: str, field: str = "unit_code") -> int:
    found: int | None = await conn.fetchval(Q["id_by_code"], code)
    if found is None:
        raise NotFound(f"no unit with code {code!r}", [FieldProblem(field, "not found")])
    return found
