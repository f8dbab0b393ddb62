"""Where the project's SQL lives: ``sql/migrations`` and ``sql/queries`` (shipped too)."""

from __future__ import annotations

import re
from functools import cache
from importlib import resources
from importlib.abc import Traversable

_NAME = re.compile(r"^--\s*name:\s*([a-z0-9_.]+)\s*$", re.MULTILINE)


def sql_root() -> Traversable:
    """The ``sql`` folder, whether installed as a wheel or run from a checkout."""
    return resources.files("evalsvc") / "sql"


@cache
def queries(area: str) -> dict[str, str]:
    """Named queries of ``sql/queries/<area>.sql``, split on ``-- name: x`` lines.

    Loaded once per process; a missing name is a programming error (KeyError).
    """
    text = (sql_root() / "queries" / f"{area}.sql").read_text(encoding="utf-8")
    parts = _NAME.split(text)
    named: dict[str, str] = {}
    for i in range(1, len(parts), 2):
        named[parts[i]] = parts[i + 1].strip().rstrip(";")
    return named
