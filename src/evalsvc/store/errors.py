"""Driver errors → domain errors, by constraint name, so callers never see asyncpg."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg

from evalsvc.domain.errors import Conflict, FieldProblem, RuleViolation

# constraint name → (error class, field, reason)
_KNOWN: dict[str, tuple[type[Conflict] | type[RuleViolation], str, str]] = {
    "catalogs_published_immutable": (Conflict, "status", "a published catalog is immutable"),
    "units_code_key": (Conflict, "code", "a unit with this code exists"),
    "cadres_code_key": (Conflict, "code", "a cadre with this code exists"),
    "peer_groups_code_key": (Conflict, "code", "a peer group with this code exists"),
    "catalogs_name_version_key": (Conflict, "version", "this catalog version exists"),
    "units_parent_fkey": (Conflict, "code", "the unit still has sub-units"),
    "cadres_unit_fkey": (Conflict, "code", "the unit still has cadres"),
}


@asynccontextmanager
async def translated() -> AsyncIterator[None]:
    """Re-raise known constraint violations as Conflict / RuleViolation."""
    try:
        yield
    except asyncpg.PostgresError as exc:
        name = getattr(exc, "constraint_name", None)
        if name in _KNOWN:
            cls, field, reason = _KNOWN[name]
            raise cls(reason, [FieldProblem(field, reason)]) from exc
        raise
