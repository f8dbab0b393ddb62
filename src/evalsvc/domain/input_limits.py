"""Limits every value from outside must respect, whatever field it arrives in.

One check for all endpoints, applied before a value reaches the database: integers must fit
PostgreSQL's int8 (asyncpg cannot send a larger one), text must hold no NUL or other control
characters (PostgreSQL text cannot store NUL; the others forge log lines and CSV cells),
text must not be absurdly long, and JSON must not nest deeper than any request of ours does.
Tabs and line breaks stay allowed in JSON text (descriptions, comments) but not in paths and
query strings, where no value of ours has them.
"""

from __future__ import annotations

import re
from typing import Any

from evalsvc.domain.errors import FieldProblem

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1
MAX_TEXT = 10_000
"""Characters in one JSON or CSV text value (a remediation description is far shorter)."""
MAX_PARAM_TEXT = 1_000
"""Characters in one path segment or query value."""
LONG_TEXT_FIELDS = {"sealed": 2_000_000}
"""Fields whose text is an encoded payload, not words: a sealed sheet (base64) grows with the
voter's colleagues and comments; the store checks its exact bound (``max_sealed_bytes``)."""
MAX_DEPTH = 16
"""Nesting of JSON arrays and objects (our deepest body, a catalog, nests 3 levels)."""

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_CONTROL_OR_BREAK = re.compile(r"[\x00-\x1f\x7f]")


def int_problem(value: int) -> str | None:
    if INT64_MIN <= value <= INT64_MAX:
        return None
    return f"{value} is out of range ({INT64_MIN} to {INT64_MAX})"


def text_problem(value: str, *, param: bool = False, limit: int | None = None) -> str | None:
    """Why ``value`` is refused as text, or None. ``param``: a path or query value."""
    if limit is None:
        limit = MAX_PARAM_TEXT if param else MAX_TEXT
    if len(value) > limit:
        return f"longer than {limit} characters"
    found = (_CONTROL_OR_BREAK if param else _CONTROL).search(value)
    if found:
        return f"holds the control character U+{ord(found.group()):04X}"
    return None


def value_problems(doc: Any, where: str = "", row: int | None = None) -> list[FieldProblem]:
    """Every out-of-range integer, bad text and too-deep nesting in a decoded JSON value.

    Iterative (a hostile document must not exhaust the Python stack); fields are named as
    JSON paths (``items[2].name``), relative to ``where``.
    """
    problems: list[FieldProblem] = []
    stack: list[tuple[Any, str, int]] = [(doc, where, 0)]
    while stack and len(problems) < 20:
        value, path, depth = stack.pop()
        if isinstance(value, bool) or value is None or isinstance(value, float):
            continue
        if isinstance(value, int):
            reason = int_problem(value)
        elif isinstance(value, str):
            field = path.rsplit(".", 1)[-1]
            reason = text_problem(value, limit=LONG_TEXT_FIELDS.get(field, MAX_TEXT))
        elif depth >= MAX_DEPTH:
            reason = f"nested more than {MAX_DEPTH} levels deep"
        elif isinstance(value, dict):
            reason = None
            for key, item in value.items():
                key_reason = text_problem(str(key))
                if key_reason:
                    problems.append(FieldProblem(_join(path, "<key>"), key_reason, row))
                else:
                    stack.append((item, _join(path, str(key)), depth + 1))
        elif isinstance(value, list):
            reason = None
            stack.extend((item, f"{path}[{i}]", depth + 1) for i, item in enumerate(value))
        else:
            reason = None
        if reason:
            problems.append(FieldProblem(path or "body", reason, row))
    return problems


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key
