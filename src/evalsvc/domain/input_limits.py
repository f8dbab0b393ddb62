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
    JSON paths (``items[2].name``), relative to ``where``. Every request body passes here, so
    a value's path is spelled out only when it has a problem (each entry keeps its parent).
    """
    problems: list[FieldProblem] = []
    # (value, parent entry, key: str for an object member, int for an array item, depth)
    stack: list[tuple[Any, Any, str | int | None, int]] = [(doc, None, None, 0)]
    while stack and len(problems) < 20:
        entry = stack.pop()
        value, _parent, key, depth = entry
        if isinstance(value, str):
            if len(value) <= MAX_TEXT and not _CONTROL.search(value):
                continue  # the common case, without a call
            limit = LONG_TEXT_FIELDS.get(key, MAX_TEXT) if isinstance(key, str) else MAX_TEXT
            reason = text_problem(value, limit=limit)
        elif isinstance(value, dict):
            if depth >= MAX_DEPTH:
                reason = f"nested more than {MAX_DEPTH} levels deep"
            else:
                reason = None
                for member, item in value.items():
                    member = str(member)
                    if len(member) > MAX_TEXT or _CONTROL.search(member):
                        key_reason = text_problem(member)
                        path = _join(_path(entry, where), "<key>")
                        problems.append(FieldProblem(path, key_reason or "", row))
                    else:
                        stack.append((item, entry, member, depth + 1))
        elif isinstance(value, list):
            if depth >= MAX_DEPTH:
                reason = f"nested more than {MAX_DEPTH} levels deep"
            else:
                reason = None
                stack.extend((item, entry, i, depth + 1) for i, item in enumerate(value))
        elif isinstance(value, int) and not isinstance(value, bool):
            reason = int_problem(value)
        else:
            reason = None
        if reason:
            problems.append(FieldProblem(_path(entry, where) or "body", reason, row))
    return problems


def _path(entry: tuple[Any, Any, str | int | None, int], where: str) -> str:
    """The JSON path of a stack entry of ``value_problems``: its keys up to the root."""
    keys: list[str | int] = []
    while entry[1] is not None:
        key = entry[2]
        assert key is not None
        keys.append(key)
        entry = entry[1]
    path = where
    for key in reversed(keys):
        path = f"{path}[{key}]" if isinstance(key, int) else _join(path, key)
    return path


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key
