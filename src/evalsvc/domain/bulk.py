"""Turning an uploaded body (CSV or JSON) into validated rows, or into precise errors.

Shared by the HTTP API and ``evalsvc import``: a body is parsed whole, every row is checked,
and the caller gets either all rows or the problems (row, field, reason) of the first ones.
Rows are numbered from 1 in the order they appear (the CSV header is not a row).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, Literal, TypeVar

import msgspec

from evalsvc.domain.errors import (
    MAX_REPORTED_PROBLEMS,
    FieldProblem,
    InvalidInput,
    RuleViolation,
)
from evalsvc.domain.input_limits import MAX_DEPTH, value_problems

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
    doc = _decode_json(data)
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
    doc = _decode_json(data)
    problems = value_problems(doc)
    if problems:
        raise InvalidInput(summary_of(problems), problems)
    return doc


def _decode_json(data: bytes) -> Any:
    try:
        return msgspec.json.decode(data)
    except msgspec.DecodeError as exc:
        raise InvalidInput(f"malformed JSON: {exc}", [FieldProblem("body", str(exc))]) from exc
    except RecursionError as exc:
        reason = f"nested more than {MAX_DEPTH} levels deep"
        raise InvalidInput(f"body: {reason}", [FieldProblem("body", reason)]) from exc


def raw_csv_rows(
    data: bytes, columns: Sequence[str], required: Iterable[str]
) -> list[dict[str, str] | None]:
    """CSV with a header row: known columns only, required ones present, one dict per row.

    Empty cells are left out of the row dict, so optional fields take their defaults.
    """
    text = decode_utf8(data)
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader, None)
        if header is None:
            raise InvalidInput("empty CSV: a header row is needed", [FieldProblem("body", "empty")])
        header = csv_header(header, columns, required)
        rows: list[dict[str, str] | None] = []
        for record in reader:
            if not record:
                continue
            if len(record) != len(header):
                rows.append(None)  # reported by the caller with its row number
                continue
            rows.append({h: v.strip() for h, v in zip(header, record, strict=True) if v.strip()})
    except csv.Error as exc:
        raise InvalidInput(
            f"malformed CSV at line {reader.line_num}: {exc}",
            [FieldProblem("body", f"line {reader.line_num}: {exc}")],
        ) from exc
    return rows


def csv_header(cells: Sequence[str], columns: Sequence[str], required: Iterable[str]) -> list[str]:
    """The header's column names, or InvalidInput naming unknown, missing or repeated ones."""
    header = [h.strip() for h in cells]
    unknown = [h for h in header if h not in columns]
    missing = [c for c in required if c not in header]
    if unknown or missing or len(set(header)) != len(header):
        problems = [FieldProblem(h, "unknown column") for h in unknown]
        problems += [FieldProblem(c, "required column is missing") for c in missing]
        if len(set(header)) != len(header):
            problems.append(FieldProblem("header", "a column appears twice"))
        raise InvalidInput(f"bad CSV header; columns are: {', '.join(columns)}", problems)
    return header


def json_rows_raw(data: bytes, key: str = "rows") -> list[msgspec.Raw]:
    """The rows of a JSON array (or of an object holding it under ``key``), each left as raw
    JSON: a few dozen bytes per row instead of a dict of Python objects."""
    decode_utf8(data)
    try:
        doc = msgspec.json.decode(data, type=list[msgspec.Raw] | dict[str, msgspec.Raw])
        if isinstance(doc, dict):
            if key not in doc:
                raise msgspec.ValidationError("Expected `array`, got `object`")
            doc = msgspec.json.decode(doc[key], type=list[msgspec.Raw])
    except msgspec.ValidationError as exc:
        raise InvalidInput(
            f"expected a JSON array of rows (or {{{key!r}: [...]}})",
            [FieldProblem("body", "not an array")],
        ) from exc
    except msgspec.DecodeError as exc:
        raise InvalidInput(f"malformed JSON: {exc}", [FieldProblem("body", str(exc))]) from exc
    return doc


@dataclass
class Upload(Generic[T]):
    """The rows of an upload that passed validation, with their row numbers, and the
    problems found so far. Store functions add their own checks (references, duplicates)
    and refuse the whole upload if anything is wrong, listing every problem found.
    """

    rows: list[T]
    numbers: list[int]
    problems: list[FieldProblem] = field(default_factory=list)

    @classmethod
    def of(cls, rows: Sequence[T] | Upload[T]) -> Upload[T]:
        """Wrap rows that are already valid (single creates, internal loaders)."""
        if isinstance(rows, Upload):
            return rows
        return cls(list(rows), list(range(1, len(rows) + 1)))

    def numbered(self) -> Iterable[tuple[int, T]]:
        return zip(self.numbers, self.rows, strict=True)

    def duplicates(self, keys: Sequence[str], name: str) -> list[FieldProblem]:
        """Rows whose ``name`` repeats an earlier row of the same upload."""
        seen: dict[str, int] = {}
        found = []
        for number, key in zip(self.numbers, keys, strict=True):
            if key in seen:
                found.append(
                    FieldProblem(name, f"{key!r} already appears in row {seen[key]}", number)
                )
            else:
                seen.setdefault(key, number)
        return found

    def valid_rows(self) -> list[T]:
        """The rows, when no problem was found (for uploads with no further checks)."""
        self.refuse_if()
        return self.rows

    def refuse_if(self, more: Iterable[FieldProblem] = ()) -> None:
        """Raise with every problem (sorted by row) when there is any."""
        problems = sorted([*self.problems, *more], key=lambda p: (p.row or 0, p.field))
        if problems:
            raise RuleViolation(summary_of(problems), problems[:MAX_REPORTED_PROBLEMS])


def convert_rows(
    raw: Sequence[Any],
    row_type: type[T],
    *,
    strict: bool,
    rename: dict[str, str] | None = None,
) -> Upload[T]:
    """Validate each raw row into ``row_type``, keeping the good rows and every problem.

    Args:
        raw: decoded rows (dicts); ``None`` marks a CSV line with the wrong number of cells.
        row_type: a msgspec Struct with its constraints; ``__post_init__`` may raise ValueError.
        strict: False for CSV, where every cell is text ("12" → int, "true" → bool).
        rename: problem field names to report under another name (JSON path → CSV column).
    """
    if not raw:
        raise RuleViolation("the upload has no rows", [FieldProblem("body", "no rows")])
    return convert_batch(raw, row_type, strict=strict, rename=rename)


def convert_batch(
    raw: Sequence[Any],
    row_type: type[T],
    *,
    strict: bool,
    rename: dict[str, str] | None = None,
    first: int = 1,
) -> Upload[T]:
    """:func:`convert_rows` for one batch of a longer upload, whose first row is ``first``;
    items may be raw JSON (decoded here, one at a time)."""
    upload: Upload[T] = Upload([], [])
    for number, item in enumerate(raw, start=first):
        if isinstance(item, msgspec.Raw):
            try:
                item = msgspec.json.decode(item)
            except RecursionError:
                reason = f"nested more than {MAX_DEPTH} levels deep"
                upload.problems.append(FieldProblem("row", reason, number))
                continue
        if item is None:
            upload.problems.append(
                FieldProblem("row", "has a different number of cells than the header", number)
            )
            continue
        hostile = value_problems(item, row=number)
        if hostile:
            upload.problems.extend(hostile)
            continue
        try:
            row = msgspec.convert(item, row_type, strict=strict)
        except msgspec.ValidationError as exc:
            upload.problems.append(problem_from_validation(exc, number, rename or {}))
            continue
        if not strict:  # CSV cells become integers only now
            hostile = value_problems(msgspec.to_builtins(row), row=number)
            if hostile:
                upload.problems.extend(hostile)
                continue
        upload.rows.append(row)
        upload.numbers.append(number)
    return upload


_CLEARER = {
    "Invalid RFC3339 encoded date": "expected a date as YYYY-MM-DD",
    "Invalid RFC3339 encoded datetime": "expected a date-time as YYYY-MM-DDTHH:MM:SS+07:00",
}


def problem_from_validation(
    exc: msgspec.ValidationError, row: int | None, rename: dict[str, str] | None = None
) -> FieldProblem:
    """msgspec says "Expected `int`, got `str` - at `$.quantity`": split field from reason."""
    field_name, text = split_message(str(exc))
    renamed = (rename or {}).get(field_name)
    return FieldProblem(renamed or field_name, text, row)


def split_message(text: str) -> tuple[str, str]:
    """A msgspec validation message as (field, reason in plain words); field "row" if none."""
    field_name = "row"
    if " - at `$" in text:
        text, _, where = text.rpartition(" - at `$")
        field_name = where.rstrip("`").lstrip(".") or "row"
    elif text.startswith("Object missing required field"):
        field_name = text.split("`")[1]
        text = "is required (missing or empty)"
    elif text.startswith("Object contains unknown field"):
        field_name = text.split("`")[1]
        text = "unknown field"
    head, sep, rest = text.partition(": ")
    if sep and head.replace("_", "").isalnum() and field_name == "row":
        field_name, text = head, rest  # a ValueError("field: reason") from __post_init__
    return field_name, _CLEARER.get(text, text)


class UploadSpec(msgspec.Struct, frozen=True):
    """How one kind of row arrives: its struct, and for CSV its columns and cell mapping."""

    row_type: type
    columns: tuple[str, ...]
    required: tuple[str, ...]
    csv_row: Callable[[dict[str, str]], dict[str, object]] | None = None
    csv_fields: dict[str, str] = msgspec.field(default_factory=dict)
    key: Callable[[Any], str] | None = None
    """What makes a row unique in one upload (a repeat is a problem); None: no such rule."""
    key_field: str = "code"
    """The field a repeated key is reported under."""


def parse_upload(data: bytes, fmt: Format, spec: UploadSpec) -> Upload[Any]:
    """Every row of an upload validated into ``spec.row_type``, with the problems found."""
    if fmt == "csv":
        cells = raw_csv_rows(data, spec.columns, spec.required)
        mapped = [spec.csv_row(r) if spec.csv_row and r is not None else r for r in cells]
        return convert_rows(mapped, spec.row_type, strict=False, rename=spec.csv_fields)
    return convert_rows(raw_json_rows(data), spec.row_type, strict=True)


def csv_bool(value: str) -> bool | str:
    """Spreadsheet booleans: true/false, 1/0, yes/no, x/empty, có/không; else left as is."""
    folded = value.strip().lower()
    if folded in ("true", "1", "yes", "y", "x", "có", "co"):
        return True
    if folded in ("false", "0", "no", "n", "không", "khong"):
        return False
    return value


def summary_of(problems: list[FieldProblem]) -> str:
    rows = {p.row for p in problems if p.row is not None}
    shown = min(len(problems), MAX_REPORTED_PROBLEMS)
    where = f" in {len(rows)} row(s)" if rows else ""
    return f"{len(problems)} problem(s){where}; nothing was stored" + (
        f" (first {shown} listed)" if shown < len(problems) else ""
    )
