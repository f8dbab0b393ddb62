"""Turning an uploaded body (CSV or JSON) into validated rows, or into precise errors.

Shared by the HTTP API and ``evalsvc import``: a body is parsed whole, every row is checked,
and the caller gets either all rows or the problems (row, field, reason) of the first ones.
Rows are numbered from 1 in the order they appear (the CSV header is not a row).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Literal, TypeVar

import msgspec

from evalsvc.domain.errors import (
    MAX_REPORTED_PROBLEMS,
    FieldProblem,
    InvalidInput,
    RuleViolation,
)

T = TypeVar("T")
Format = Literal["csv", "json"]


def format_of(content_type: str | None, filename: str | None = None) -> Format:
    """The upload format from a Content-Type header or a file name."""
    ctype = (content_type or "").split(";")[0].strip().lower()
    if ctype in ("text/csv", "application/csv"):
        return "csv"
    if ctype in ("application/json", ""):
        if filename and filename.lower().endswith(".csv"):
            return "csv"
        return "json"
    raise InvalidInput(
        f"unsupported content type {ctype!r}: send application/json or text/csv",
        [FieldProblem("content-type", f"{ctype!r} is not application/json or text/csv")],
    )


def decode_utf8(data: bytes) -> str:
    """Strict UTF-8 (a leading BOM from spreadsheet exports is dropped)."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise InvalidInput(
            f"the body is not valid UTF-8: byte {exc.start} (line {line})",
            [FieldProblem("body", f"invalid UTF-8 at byte {exc.start}, line {line}")],
        ) from exc
    return text.removeprefix("\ufeff")


def raw_json_rows(data: bytes, key: str = "rows") -> list[Any]:
    """A JSON array, or an object holding the array under ``key``."""
    decode_utf8(data)  # precise message for bad bytes, before the JSON parser sees them
    try:
        doc = msgspec.json.decode(data)
    except msgspec.DecodeError as exc:
        raise InvalidInput(f"malformed JSON: {exc}", [FieldProblem("body", str(exc))]) from exc
    if isinstance(doc, dict) and isinstance(doc.get(key), list):
        doc = doc[key]
    if not isinstance(doc, list):
        raise InvalidInput(
            f"expected a JSON array of rows (or {{{key!r}: [...]}})",
            [FieldProblem("body", "not an array")],
        )
    return doc


def raw_json_object(data: bytes) -> Any:
    """One JSON document (for uploads that are a single object, like a catalog)."""
    decode_utf8(data)
    try:
        return msgspec.json.decode(data)
    except msgspec.DecodeError as exc:
        raise InvalidInput(f"malformed JSON: {exc}", [FieldProblem("body", str(exc))]) from exc


def raw_csv_rows(
    data: bytes, columns: Sequence[str], required: Iterable[str]
) -> list[dict[str, str]]:
    """CSV with a header row: known columns only, required ones present, one dict per row.

    Empty cells are left out of the row dict, so optional fields take their defaults.
    """
    text = decode_utf8(data)
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader, None)
        if header is None:
            raise InvalidInput("empty CSV: a header row is needed", [FieldProblem("body", "empty")])
        header = [h.strip() for h in header]
        unknown = [h for h in header if h not in columns]
        missing = [c for c in required if c not in header]
        if unknown or missing or len(set(header)) != len(header):
            problems = [FieldProblem(h, "unknown column") for h in unknown]
            problems += [FieldProblem(c, "required column is missing") for c in missing]
            if len(set(header)) != len(header):
                problems.append(FieldProblem("header", "a column appears twice"))
            raise InvalidInput(f"bad CSV header; columns are: {', '.join(columns)}", problems)
        rows: list[dict[str, str]] = []
        problems = []
        for number, record in enumerate(reader, start=1):
            if not record:
                continue
            if len(record) != len(header):
                problems.append(
                    FieldProblem(
                        "row", f"has {len(record)} fields, the header has {len(header)}", number
                    )
                )
                rows.append({})
                continue
            rows.append({h: v.strip() for h, v in zip(header, record, strict=True) if v.strip()})
    except csv.Error as exc:
        raise InvalidInput(
            f"malformed CSV at line {reader.line_num}: {exc}",
            [FieldProblem("body", f"line {reader.line_num}: {exc}")],
        ) from exc
    if problems:
        raise RuleViolation(_summary(problems), problems[:MAX_REPORTED_PROBLEMS])
    return rows


def convert_rows(
    raw: Sequence[Any],
    row_type: type[T],
    *,
    strict: bool,
    check: Callable[[T], None] | None = None,
) -> list[T]:
    """Validate each raw row into ``row_type``; collect the problems of every bad row.

    Args:
        raw: decoded rows (dicts).
        row_type: a msgspec Struct with its constraints; ``__post_init__`` may raise ValueError.
        strict: False for CSV, where every cell is text ("12" → int, "true" → bool).
        check: an extra per-row rule raising ValueError.

    Raises:
        RuleViolation: naming row, field and reason for the first rows that fail.
    """
    if not raw:
        raise RuleViolation("the upload has no rows", [FieldProblem("body", "no rows")])
    out: list[T] = []
    problems: list[FieldProblem] = []
    for number, item in enumerate(raw, start=1):
        try:
            row = msgspec.convert(item, row_type, strict=strict)
            if check is not None:
                check(row)
        except msgspec.ValidationError as exc:
            problems.append(problem_from_validation(exc, number))
            continue
        except ValueError as exc:
            problems.append(FieldProblem(getattr(exc, "field", "row"), str(exc), number))
            continue
        out.append(row)
    if problems:
        raise RuleViolation(_summary(problems), problems[:MAX_REPORTED_PROBLEMS])
    return out


def problem_from_validation(exc: msgspec.ValidationError, row: int | None) -> FieldProblem:
    """msgspec says "Expected `int`, got `str` - at `$.quantity`": split field from reason."""
    text = str(exc)
    field = "row"
    if " - at `$" in text:
        text, _, where = text.rpartition(" - at `$")
        field = where.rstrip("`").lstrip(".") or "row"
    elif text.startswith(("Object missing required field", "Object contains unknown field")):
        field = text.split("`")[1] if "`" in text else field
    return FieldProblem(field, text, row)


def duplicate_problems(keys: Sequence[str], field: str) -> list[FieldProblem]:
    """Rows whose ``field`` repeats an earlier row of the same upload."""
    seen: dict[str, int] = {}
    problems = []
    for number, key in enumerate(keys, start=1):
        if key in seen:
            problems.append(
                FieldProblem(field, f"{key!r} already appears in row {seen[key]}", number)
            )
        else:
            seen[key] = number
    return problems


def raise_if(problems: list[FieldProblem]) -> None:
    if problems:
        raise RuleViolation(_summary(problems), problems[:MAX_REPORTED_PROBLEMS])


def _summary(problems: list[FieldProblem]) -> str:
    rows = {p.row for p in problems if p.row is not None}
    shown = min(len(problems), MAX_REPORTED_PROBLEMS)
    return f"{len(problems)} problem(s) in {len(rows)} row(s); nothing was stored" + (
        f" (first {shown} listed)" if shown < len(problems) else ""
    )


class UploadSpec(msgspec.Struct, frozen=True):
    """How one kind of row arrives: its struct, and for CSV its columns and cell mapping."""

    row_type: type
    columns: tuple[str, ...]
    required: tuple[str, ...]
    csv_row: Callable[[dict[str, str]], dict[str, object]] | None = None


def parse_upload(data: bytes, fmt: Format, spec: UploadSpec) -> list[Any]:
    """Every row of an upload validated into ``spec.row_type``, or the problems."""
    if fmt == "csv":
        cells = raw_csv_rows(data, spec.columns, spec.required)
        mapped = [spec.csv_row(r) if spec.csv_row else r for r in cells]
        return convert_rows(mapped, spec.row_type, strict=False)
    return convert_rows(raw_json_rows(data), spec.row_type, strict=True)
