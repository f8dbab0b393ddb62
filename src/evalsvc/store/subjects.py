"""Resolving the cadre and unit codes of an upload, checking them against the caller's scope.

Shared by the small per-month and per-event records (assessments, discipline, confidence votes,
unit indicators, remediation): one query per kind of code for a whole upload.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import asyncpg

from evalsvc.domain.access import Principal
from evalsvc.domain.bulk import Upload
from evalsvc.domain.errors import FieldProblem
from evalsvc.domain.units import UpsertSummary
from evalsvc.store.scope import ensure_in_scope, subtree_ids

Row = TypeVar("Row")


@dataclass(frozen=True, slots=True)
class CadreRef:
    id: int
    unit_id: int
    position: str


@dataclass
class Subjects:
    cadres: dict[str, CadreRef] = field(default_factory=dict)
    units: dict[str, int] = field(default_factory=dict)


async def resolve(
    conn: asyncpg.Connection,
    numbers: Sequence[int],
    *,
    cadre_codes: Sequence[str | None] = (),
    unit_codes: Sequence[str | None] = (),
    principal: Principal | None = None,
) -> tuple[Subjects, list[FieldProblem]]:
    """Ids for the codes of the rows numbered ``numbers`` (None: the row has no such code),
    and a problem for each row whose code matches nothing.

    With a scoped ``principal``, codes outside its subtree match nothing either: the answer
    is the same as for a code that does not exist, so a key cannot probe other subtrees.
    """
    subjects = Subjects()
    wanted_cadres = sorted({c for c in cadre_codes if c is not None})
    if wanted_cadres:
        rows = await conn.fetch(
            "select code, id, unit_id, position from cadres where code = any($1::text[])",
            wanted_cadres,
        )
        subjects.cadres = {r["code"]: CadreRef(r["id"], r["unit_id"], r["position"]) for r in rows}
    wanted_units = sorted({u for u in unit_codes if u is not None})
    if wanted_units:
        rows = await conn.fetch(
            "select code, id from units where code = any($1::text[])", wanted_units
        )
        subjects.units = {r["code"]: r["id"] for r in rows}
    if principal is not None and not principal.city_wide:
        allowed = set(await subtree_ids(conn, principal.scope_unit_id))  # type: ignore[arg-type]
        subjects.cadres = {k: c for k, c in subjects.cadres.items() if c.unit_id in allowed}
        subjects.units = {k: u for k, u in subjects.units.items() if u in allowed}
    problems: list[FieldProblem] = []
    for number, code in zip(numbers, cadre_codes, strict=False):
        if code is not None and code not in subjects.cadres:
            problems.append(FieldProblem("cadre_code", f"no cadre with code {code!r}", number))
    for number, code in zip(numbers, unit_codes, strict=False):
        if code is not None and code not in subjects.units:
            problems.append(FieldProblem("unit_code", f"no unit with code {code!r}", number))
    return subjects, problems


async def check_scope(
    conn: asyncpg.Connection, principal: Principal | None, subjects: Subjects
) -> None:
    """Forbidden when a cadre or unit lies outside a scoped caller's subtree."""
    if principal is not None:
        await ensure_in_scope(
            conn,
            principal,
            {c.unit_id for c in subjects.cadres.values()} | set(subjects.units.values()),
        )


async def scope_filter(conn: asyncpg.Connection, principal: Principal) -> list[int] | None:
    """Unit ids a scoped reader may see (None: the whole city)."""
    if principal.city_wide:
        return None
    assert principal.scope_unit_id is not None
    return await subtree_ids(conn, principal.scope_unit_id)


def upsert_counts(rows: int, written: list[asyncpg.Record]) -> tuple[int, int, int]:
    """(inserted, updated, unchanged) from ``returning (xmax = 0) as inserted`` rows."""
    inserted = sum(1 for r in written if r["inserted"])
    updated = len(written) - inserted
    return inserted, updated, rows - inserted - updated


def given(values: dict[str, object]) -> dict[str, object]:
    """The filters a caller actually set."""
    return {k: v for k, v in values.items() if v is not None}


async def upsert_rows(
    conn: asyncpg.Connection,
    upload: Upload[Row] | Sequence[Row],
    principal: Principal | None,
    *,
    query: str,
    key: Callable[[Row], str],
    key_field: str,
    columns: Callable[[Subjects, Sequence[Row]], list[list[Any]]],
    cadre_code: Callable[[Row], str] | None = None,
    unit_code: Callable[[Row], str] | None = None,
    check: Callable[[Subjects, Upload[Row]], list[FieldProblem]] | None = None,
) -> UpsertSummary:
    """The bulk upsert of a per-cadre or per-unit record, all or nothing.

    In one transaction: resolve the rows' codes (a scoped caller's other subtrees match
    nothing), refuse the whole upload with every problem — unknown codes, rows repeating an
    earlier row's ``key`` (named ``key_field``), ``check``'s own — then write ``columns``
    with ``query`` (which returns ``(xmax = 0) as inserted`` for the rows it changed).
    """
    upload = Upload.of(upload)
    rows = upload.rows
    async with conn.transaction():
        subjects, problems = await resolve(
            conn,
            upload.numbers,
            cadre_codes=[cadre_code(r) for r in rows] if cadre_code else (),
            unit_codes=[unit_code(r) for r in rows] if unit_code else (),
            principal=principal,
        )
        problems += upload.duplicates([key(r) for r in rows], key_field)
        if check is not None:
            problems += check(subjects, upload)
        upload.refuse_if(problems)
        await check_scope(conn, principal, subjects)
        written = await conn.fetch(query, *columns(subjects, rows))
    inserted, updated, unchanged = upsert_counts(len(rows), written)
    return UpsertSummary(inserted=inserted, updated=updated, unchanged=unchanged)
