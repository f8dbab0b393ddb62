"""Cadres and peer groups: bulk upsert (all-or-nothing), read, list, move."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date

import asyncpg
import msgspec

from evalsvc.domain.access import Principal
from evalsvc.domain.bulk import Upload
from evalsvc.domain.cadres import (
    Absence,
    Cadre,
    CadreCreate,
    CadreMove,
    EmploymentSpell,
    PeerGroup,
    PeerGroupCreate,
)
from evalsvc.domain.errors import Conflict, FieldProblem, NotFound, RuleViolation
from evalsvc.domain.units import UpsertSummary
from evalsvc.domain.vietnamese import fold, nfc, person_sort_key
from evalsvc.store.listing import Filters, fetch_page
from evalsvc.store.scope import (
    allowed_units,
    ensure_in_scope,
    ensure_visible,
    subtree_ids,
)
from evalsvc.store.sqlfiles import queries

Q = queries("cadres")
QU = queries("units")


async def upsert_cadres(
    conn: asyncpg.Connection,
    cadres: Upload[CadreCreate] | Sequence[CadreCreate],
    principal: Principal,
) -> UpsertSummary:
    """Insert or update cadres by code in one transaction; any bad row stores nothing.

    A changed unit is recorded as a move effective today. Employment spells and absences
    are replaced only for rows that send them.

    Raises:
        RuleViolation: every problem found: bad rows, duplicates, unknown units or groups.
    """
    upload = Upload.of(cadres)
    rows = upload.rows
    codes = [r.code for r in rows]
    unit_ids = await _ids(conn, QU["ids_by_codes"], {r.unit_code for r in rows})
    group_ids = await _ids(conn, Q["peer_group_ids"], {r.peer_group for r in rows if r.peer_group})
    problems = upload.duplicates(codes, "code")
    for number, row in upload.numbered():
        if row.unit_code not in unit_ids:
            problems.append(
                FieldProblem("unit_code", f"no unit with code {row.unit_code!r}", number)
            )
        if row.peer_group and row.peer_group not in group_ids:
            problems.append(
                FieldProblem("peer_group", f"no peer group with code {row.peer_group!r}", number)
            )
    upload.refuse_if(problems)

    async with conn.transaction():
        before = {r["code"]: r for r in await conn.fetch(Q["existing"], codes)}
        allowed = await allowed_units(conn, principal)
        if allowed is not None:
            outside = []
            for number, row in upload.numbered():
                if unit_ids[row.unit_code] not in allowed:
                    outside.append(  # worded as for an unknown unit: no probing
                        FieldProblem("unit_code", f"no unit with code {row.unit_code!r}", number)
                    )
                elif row.code in before and before[row.code]["unit_id"] not in allowed:
                    # An unknown code would be created: "in use" says no more than that.
                    reason = f"code {row.code!r} is already in use"
                    outside.append(FieldProblem("code", reason, number))
            upload.refuse_if(outside)
        old_lists = await _lists_of(conn, [r["id"] for r in before.values()])
        names = [r.full_name for r in rows]
        written = await conn.fetch(
            Q["upsert"],
            codes,
            names,
            [person_sort_key(n) for n in names],
            [r.personnel_type for r in rows],
            [r.position for r in rows],
            [unit_ids[r.unit_code] for r in rows],
            [group_ids[r.peer_group] if r.peer_group else None for r in rows],
            [r.party_member for r in rows],
            [fold(n) for n in names],
        )
        ids = {rec["code"]: rec["id"] for rec in written} | {
            code: rec["id"] for code, rec in before.items()
        }
        moves = [
            (before[r.code]["id"], before[r.code]["unit_id"], unit_ids[r.unit_code])
            for r in rows
            if r.code in before and before[r.code]["unit_id"] != unit_ids[r.unit_code]
        ]
        if moves:
            today = date.today()
            await conn.execute(
                Q["record_moves"],
                [m[0] for m in moves],
                [m[1] for m in moves],
                [m[2] for m in moves],
                [today] * len(moves),
            )
        lists_changed = await _replace_lists(conn, rows, ids, old_lists)
        given = [r for r in rows if r.email is not msgspec.UNSET]
        if given:
            changed = await conn.fetch(
                Q["set_emails"], [r.code for r in given], [r.email for r in given]
            )
            lists_changed |= {rec["code"] for rec in changed}
    inserted = {rec["code"] for rec in written if rec["inserted"]}
    updated = ({rec["code"] for rec in written} | lists_changed) - inserted
    return UpsertSummary(
        inserted=len(inserted),
        updated=len(updated),
        unchanged=len(rows) - len(inserted) - len(updated),
    )


async def _ids(conn: asyncpg.Connection, query: str, codes: set[str]) -> dict[str, int]:
    return {rec["code"]: rec["id"] for rec in await conn.fetch(query, list(codes))}


Lists = dict[int, tuple[list[EmploymentSpell], list[Absence]]]


async def _lists_of(conn: asyncpg.Connection, cadre_ids: list[int]) -> Lists:
    found: Lists = defaultdict(lambda: ([], []))
    for rec in await conn.fetch(Q["spells_of"], cadre_ids):
        found[rec["cadre_id"]][0].append(
            EmploymentSpell(start=rec["start_date"], end=rec["end_date"])
        )
    for rec in await conn.fetch(Q["absences_of"], cadre_ids):
        found[rec["cadre_id"]][1].append(
            Absence(kind=rec["kind"], start=rec["start_date"], end=rec["end_date"])
        )
    return found


async def _replace_lists(
    conn: asyncpg.Connection, rows: Sequence[CadreCreate], ids: dict[str, int], old: Lists
) -> set[str]:
    """Replace spells/absences of rows that sent them; return the codes whose lists changed."""
    changed: set[str] = set()
    spell_rows = [r for r in rows if r.employment is not msgspec.UNSET]
    absence_rows = [r for r in rows if r.absences is not msgspec.UNSET]

    def sort_spells(items: list[EmploymentSpell]) -> list[EmploymentSpell]:
        return sorted(items, key=lambda s: (s.start, s.end or date.max))

    def sort_absences(items: list[Absence]) -> list[Absence]:
        return sorted(items, key=lambda a: (a.start, a.end, a.kind))

    if spell_rows:
        triples = [(ids[r.code], s) for r in spell_rows for s in r.employment]  # type: ignore[union-attr]
        await conn.execute(
            Q["replace_spells"],
            [ids[r.code] for r in spell_rows],
            [t[0] for t in triples],
            [t[1].start for t in triples],
            [t[1].end for t in triples],
        )
        changed |= {
            r.code
            for r in spell_rows
            if sort_spells(r.employment) != sort_spells(old.get(ids[r.code], ([], []))[0])  # type: ignore[arg-type]
        }
    if absence_rows:
        pairs = [(ids[r.code], a) for r in absence_rows for a in r.absences]  # type: ignore[union-attr]
        await conn.execute(
            Q["replace_absences"],
            [ids[r.code] for r in absence_rows],
            [p[0] for p in pairs],
            [p[1].kind for p in pairs],
            [p[1].start for p in pairs],
            [p[1].end for p in pairs],
        )
        changed |= {
            r.code
            for r in absence_rows
            if sort_absences(r.absences) != sort_absences(old.get(ids[r.code], ([], []))[1])  # type: ignore[arg-type]
        }
    return changed


_LIST_FILTERS: dict[str, str] = {
    "unit": "u.code = ${}",
    "within": "c.unit_id = any(${}::bigint[])",
    "scope": "c.unit_id = any(${}::bigint[])",
    "position": "c.position = ${}",
    "personnel_type": "c.personnel_type = ${}",
    "peer_group": "g.code = ${}",
    "party_member": "c.party_member = ${}",
    "q": "c.search_text like '%' || ${} || '%'",
}


async def list_cadres(
    conn: asyncpg.Connection,
    *,
    filters: dict[str, object],
    subtree: str | None,
    limit: int,
    offset: int,
    principal: Principal,
) -> tuple[list[Cadre], int]:
    """Cadres in Vietnamese alphabetical order (given name first); scoped keys see their subtree."""
    active = {k: v for k, v in filters.items() if v is not None}
    if "q" in active:
        active["q"] = fold(str(active["q"]))
    for name, code in (("unit", active.get("unit")), ("subtree", subtree)):
        if code is None:
            continue
        found = await conn.fetchval(QU["id_by_code"], code)
        missing = NotFound(f"no unit with code {code!r}", [FieldProblem(name, "not found")])
        if found is None:
            raise missing
        await ensure_visible(conn, principal, found, missing)
        if name == "subtree":
            active["within"] = await subtree_ids(conn, found)
    if not principal.city_wide:
        active["scope"] = await subtree_ids(conn, principal.scope_unit_id)  # type: ignore[arg-type]
    page = await fetch_page(
        conn,
        Filters(select=Q["select"], count=Q["count"], clauses=_LIST_FILTERS, values=active),
        order_by="c.name_key, c.code",
        limit=limit,
        offset=offset,
    )
    return [_cadre(r) for r in page.rows], page.total


async def create_cadre(conn: asyncpg.Connection, row: CadreCreate, principal: Principal) -> Cadre:
    """Create one cadre; an existing code is a conflict (bulk upsert is for updates)."""
    if await conn.fetchrow(Q["existing"], [row.code]) is not None:
        raise Conflict(
            f"a cadre with code {row.code!r} exists; use /cadres/bulk to update",
            [FieldProblem("code", "already exists")],
        )
    await upsert_cadres(conn, [row], principal)
    return await get_cadre(conn, row.code, principal)


def _cadre(row: asyncpg.Record) -> Cadre:
    return msgspec.convert(dict(row), Cadre, strict=False)


async def get_cadre(conn: asyncpg.Connection, code: str, principal: Principal) -> Cadre:
    row = await conn.fetchrow(Q["select"] + " where c.code = $1", code)
    missing = NotFound(f"no cadre with code {code!r}", [FieldProblem("code", "not found")])
    if row is None:
        raise missing
    unit = await conn.fetchval(QU["id_by_code"], row["unit_code"])
    await ensure_visible(conn, principal, unit, missing)
    return _cadre(row)


async def move_cadre(
    conn: asyncpg.Connection, code: str, move: CadreMove, principal: Principal
) -> Cadre:
    """Move a cadre to another unit (both units must be in the caller's scope)."""
    async with conn.transaction():
        current = await conn.fetchrow(Q["existing"], [code])
        if current is None:
            raise NotFound(f"no cadre with code {code!r}", [FieldProblem("code", "not found")])
        target = await conn.fetchval(QU["id_by_code"], move.unit_code)
        if target is None:
            raise RuleViolation(
                f"no unit with code {move.unit_code!r}", [FieldProblem("unit_code", "not found")]
            )
        if target == current["unit_id"]:
            raise RuleViolation(
                "the cadre already belongs to that unit",
                [FieldProblem("unit_code", "is the cadre's current unit")],
            )
        await ensure_in_scope(
            conn,
            principal,
            [current["unit_id"]],
            NotFound(f"no cadre with code {code!r}", [FieldProblem("code", "not found")]),
        )
        await ensure_in_scope(
            conn,
            principal,
            [target],
            RuleViolation(
                f"no unit with code {move.unit_code!r}", [FieldProblem("unit_code", "not found")]
            ),
        )
        await conn.execute(
            Q["record_moves"],
            [current["id"]],
            [current["unit_id"]],
            [target],
            [move.effective_date],
        )
        await conn.execute(Q["move"], current["id"], target, move.position)
    return await get_cadre(conn, code, principal)


async def upsert_peer_groups(
    conn: asyncpg.Connection, groups: Upload[PeerGroupCreate] | Sequence[PeerGroupCreate]
) -> UpsertSummary:
    upload = Upload.of(groups)
    rows = upload.rows
    upload.refuse_if(upload.duplicates([r.code for r in rows], "code"))
    written = await conn.fetch(
        Q["upsert_peer_groups"], [r.code for r in rows], [nfc(r.name) for r in rows]
    )
    inserted = sum(1 for r in written if r["inserted"])
    updated = len(written) - inserted
    return UpsertSummary(inserted=inserted, updated=updated, unchanged=len(rows) - len(written))


async def list_peer_groups(conn: asyncpg.Connection) -> list[PeerGroup]:
    return [PeerGroup(**dict(r)) for r in await conn.fetch(Q["list_peer_groups"])]
