"""Task records (sản phẩm / công việc): the columns, and parsing CSV / NDJSON / JSON into
validated column batches.

A batch of rows is held column-wise (numpy arrays for numbers, lists of UTF-8 bytes for text)
so millions of rows are checked with a few vectorised operations per chunk and written with
binary COPY, never a Python object per row on the database path.

Rows are numbered from 1: the first record after the CSV header, the first NDJSON line, the
first element of a JSON array. Every problem names its row, field and reason.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Annotated, Any

import msgspec
import numpy as np
import numpy.typing as npt

from evalsvc.domain.errors import MAX_REPORTED_PROBLEMS, FieldProblem, InvalidInput, RuleViolation
from evalsvc.domain.fastcsv import (
    NEWLINE,
    TextCol,
    pack_token,
    pack_tokens,
    parse_decimal,
    parse_months,
    split_fields,
)

TEXT_FIELDS = (
    "source_system",
    "external_id",
    "cadre_code",
    "product_code",
    "errors_confirmed_by",
    "delays_confirmed_by",
)
FLOAT_FIELDS = ("k", "assigned", "done")
INT_FIELDS = ("errors_counted", "errors_objective", "delays_counted", "delays_objective")
FIELDS = (
    "source_system",
    "external_id",
    "cadre_code",
    "month",
    "product_code",
    "k",
    "assigned",
    "done",
    "exceeded",
    "errors_counted",
    "errors_objective",
    "errors_confirmed_by",
    "delays_counted",
    "delays_objective",
    "delays_confirmed_by",
)
REQUIRED = frozenset(
    {"external_id", "cadre_code", "month", "product_code", "k", "assigned", "done"}
)
"""source_system is required too, unless the batch names a default source."""

MAX_K = 1000.0
MAX_QUANTITY = 1_000_000.0
MAX_TEXT = 200
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_TRUE = {b"true", b"1", b"yes", b"t", b"y"}
_FALSE = {b"false", b"0", b"no", b"f", b"n", b""}

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int32]


def parse_month(text: str) -> int | None:
    """``"2026-05"`` → ``202605``; None when not a month between 2000-01 and 2100-12."""
    match = _MONTH.match(text)
    if not match:
        return None
    year, month = int(match.group(1)), int(match.group(2))
    if not (2000 <= year <= 2100 and 1 <= month <= 12):
        return None
    return year * 100 + month


def format_month(month: int) -> str:
    """``202605`` → ``"2026-05"``."""
    return f"{month // 100:04d}-{month % 100:02d}"


class TaskRow(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """One task record as sent in NDJSON or a JSON array (the CSV header uses the same names).

    Numbers are checked after decoding, together with the cross-field rules, so a JSON row and a
    CSV row get the same messages.
    """

    external_id: str
    cadre_code: str
    month: str
    product_code: str
    k: float
    assigned: float
    done: float
    source_system: str | None = None
    exceeded: bool = False
    errors_counted: Annotated[int, msgspec.Meta(ge=0)] = 0
    errors_objective: Annotated[int, msgspec.Meta(ge=0)] = 0
    errors_confirmed_by: str | None = None
    delays_counted: Annotated[int, msgspec.Meta(ge=0)] = 0
    delays_objective: Annotated[int, msgspec.Meta(ge=0)] = 0
    delays_confirmed_by: str | None = None


@dataclass
class TaskColumns:
    """A validated chunk of task records, column-wise. Text columns are byte spans (UTF-8,
    NFC); an empty confirmed_by means none."""

    row_no: npt.NDArray[np.int64]
    source_system: TextCol
    external_id: TextCol
    cadre_code: TextCol
    month: IntArray
    product_code: TextCol
    k: FloatArray
    assigned: FloatArray
    done: FloatArray
    exceeded: npt.NDArray[np.bool_]
    errors_counted: IntArray
    errors_objective: IntArray
    errors_confirmed_by: TextCol
    delays_counted: IntArray
    delays_objective: IntArray
    delays_confirmed_by: TextCol

    def __len__(self) -> int:
        return len(self.row_no)


@dataclass
class Problems:
    """Row problems of one batch, keeping the first MAX_REPORTED_PROBLEMS (and a total)."""

    items: list[FieldProblem] = field(default_factory=list)
    total: int = 0
    malformed: bool = False  # undecodable input (bad bytes, wrong shape or type): HTTP 400

    def add(
        self, row: int | None, field_name: str, reason: str, *, malformed: bool = False
    ) -> None:
        self.total += 1
        self.malformed = self.malformed or malformed
        if len(self.items) < MAX_REPORTED_PROBLEMS:
            self.items.append(FieldProblem(field_name, reason, row))

    @property
    def full(self) -> bool:
        return len(self.items) >= MAX_REPORTED_PROBLEMS

    def raise_if_any(self, what: str = "task records") -> None:
        if self.total:
            self.items.sort(key=lambda p: (p.row or 0, p.field))
            shown = len(self.items)
            more = f" (first {shown} shown)" if self.total > shown else ""
            cls = InvalidInput if self.malformed else RuleViolation
            raise cls(
                f"{self.total} problem(s) in the {what}; nothing was stored{more}", self.items
            )


# --------------------------------------------------------------------------- chunking


class LineChunker:
    """Cuts a byte stream into blocks of whole lines of about ``target`` bytes.

    A line break inside a quoted CSV field does not end a row. At the end, bytes after the last
    line break mean the upload was cut short (every row must end with a line break).
    """

    def __init__(self, target: int = 4 << 20) -> None:
        self.target = target
        self._pending: list[bytes] = []
        self._size = 0

    def feed(self, data: bytes) -> Iterator[bytes]:
        if not data:
            return
        self._pending.append(data)
        self._size += len(data)
        if self._size < self.target:
            return
        cut = data.rfind(b"\n")
        if cut >= 0 and not any(b'"' in p for p in self._pending):
            # No quotes: the last line break of the newest piece ends the block (one copy).
            head = [*self._pending[:-1], data[: cut + 1]]
            rest = data[cut + 1 :]
            self._pending, self._size = ([rest], len(rest)) if rest else ([], 0)
            yield b"".join(head)
            return
        block = b"".join(self._pending)
        cut = _last_row_end(block)
        if cut < 0:
            self._pending, self._size = [block], len(block)
            return
        rest = block[cut + 1 :]
        self._pending, self._size = ([rest], len(rest)) if rest else ([], 0)
        yield block[: cut + 1]

    def finish(self) -> Iterator[bytes]:
        block = b"".join(self._pending)
        self._pending, self._size = [], 0
        if not block:
            return
        if not block.endswith(b"\n") or block.count(b'"') % 2:
            raise InvalidInput(
                "the upload ends in the middle of a row (no line break after the last row); "
                "it looks truncated, nothing was stored",
                [FieldProblem("body", "truncated: the last row has no line break")],
            )
        yield block


def _last_row_end(block: bytes) -> int:
    """Index of the last line break that is not inside a quoted field (-1 if none)."""
    cut = block.rfind(b"\n")
    if b'"' not in block:
        return cut
    while cut >= 0 and block.count(b'"', 0, cut) % 2:
        cut = block.rfind(b"\n", 0, cut)
    return cut


def decode_text(block: bytes, first_row: int, problems: Problems) -> str | None:
    """UTF-8 decode (NFC-normalised); a bad byte is a problem naming its row."""
    try:
        text = block.decode("utf-8")
    except UnicodeDecodeError as exc:
        row = first_row + block.count(b"\n", 0, exc.start)
        problems.add(row, "body", f"not UTF-8 (byte 0x{block[exc.start]:02x})", malformed=True)
        return None
    if not text.isascii() and not unicodedata.is_normalized("NFC", text):
        text = unicodedata.normalize("NFC", text)
    return text


def utf8_nfc(block: bytes, first_row: int, problems: Problems) -> bytes | None:
    """The block itself when it is UTF-8 in NFC already (the usual case: no copy), else its
    NFC form; None (a problem naming the row) when it is not UTF-8.

    ASCII bytes are valid UTF-8 in NFC and a line break composes with nothing, so only the
    lines holding non-ASCII bytes are decoded and checked (in a typical upload, a few names
    with diacritics among ASCII codes and numbers).
    """
    buf = np.frombuffer(block, np.uint8)
    high = np.flatnonzero(buf >= 0x80)
    if not len(high):
        return block
    if len(high) * 4 > len(buf):  # mostly non-ASCII: decode it all
        sample = block
    else:
        ends = np.flatnonzero(buf == NEWLINE)
        which = np.unique(np.searchsorted(ends, high))
        bounds = np.r_[-1, ends, len(buf)]
        starts, stops = (bounds[which] + 1).tolist(), bounds[which + 1].tolist()
        sample = b"\n".join([block[i:j] for i, j in zip(starts, stops, strict=True)])
    try:
        text = sample.decode("utf-8")
    except UnicodeDecodeError:
        decode_text(block, first_row, problems)  # records the problem with its row
        return None
    if unicodedata.is_normalized("NFC", text):
        return block
    return unicodedata.normalize("NFC", block.decode("utf-8")).encode("utf-8")


# --------------------------------------------------------------------------- CSV


class CsvHeader:
    """The column layout of a CSV upload, from its header line."""

    def __init__(self, line: bytes, default_source: str | None) -> None:
        try:
            text = line.decode("utf-8").lstrip("\ufeff").rstrip("\r\n")
        except UnicodeDecodeError as exc:
            raise InvalidInput(
                "the CSV header is not UTF-8", [FieldProblem("header", "not UTF-8", 0)]
            ) from exc
        names = [n.strip() for n in next(csv.reader([text]), [])]
        problems = Problems()
        for name in names:
            if name not in FIELDS:
                problems.add(0, name or "header", "unknown column")
        dupes = sorted({n for n in names if names.count(n) > 1})
        for name in dupes:
            problems.add(0, name, "column appears twice")
        need = set(REQUIRED) | (set() if default_source else {"source_system"})
        for name in sorted(need - set(names)):
            problems.add(0, name, "required column missing from the header")
        if problems.total:
            raise InvalidInput("the CSV header is not usable", problems.items)
        self.names = names
        self.index = {n: i for i, n in enumerate(names)}
        self.default_source = default_source


def parse_csv_block(
    block: bytes, header: CsvHeader, first_row: int, problems: Problems
) -> TaskColumns | None:
    """Parse and validate whole CSV lines; None when the block has problems."""
    data = utf8_nfc(block, first_row, problems)
    if data is None:
        return None
    if b"\r" in data:
        data = data.replace(b"\r\n", b"\n")
    ncol = len(header.names)
    raw: dict[str, TextCol] | None = None
    if b'"' not in data:
        buf = np.frombuffer(data, np.uint8)
        spans = split_fields(buf, ncol)
        if spans is not None:
            starts, ends = spans
            n = len(starts)
            by_column = starts.T.copy()  # one contiguous row of offsets per column
            lens = ends.T - by_column
            raw = {name: TextCol(buf, by_column[i], lens[i]) for i, name in enumerate(header.names)}
    if raw is None:
        lines = data.split(b"\n")
        lines.pop()  # the block ends with a line break
        n = len(lines)
        flat = _slow_csv(lines, ncol, first_row, problems)
        if flat is None:
            return None
        raw = {name: TextCol.from_list(flat[i::ncol]) for i, name in enumerate(header.names)}
    rows = np.arange(first_row, first_row + n, dtype=np.int64)
    return _from_text(raw, n, rows, header.default_source, problems)


def _slow_csv(
    lines: list[bytes], ncol: int, first_row: int, problems: Problems
) -> list[bytes] | None:
    """The csv module for blocks with quotes or ragged rows; reports rows with a wrong width."""
    text = b"\n".join(lines).decode("utf-8")
    flat: list[bytes] = []
    ok = True
    reader = csv.reader(io.StringIO(text + "\n", newline=""), strict=True)
    row = first_row
    try:
        for fields in reader:
            if len(fields) != ncol:
                problems.add(
                    row, "row", f"expected {ncol} fields, found {len(fields)}", malformed=True
                )
                ok = False
            elif ok:
                flat.extend(f.encode("utf-8") for f in fields)
            row += 1
    except csv.Error as exc:
        problems.add(row, "row", f"malformed CSV: {exc}", malformed=True)
        return None
    return flat if ok else None


def _from_text(
    raw: dict[str, TextCol],
    n: int,
    rows: npt.NDArray[np.int64],
    default_source: str | None,
    problems: Problems,
) -> TaskColumns | None:
    """CSV cells (byte spans) to typed columns, vectorised; odd cells fall back to Python."""
    start = problems.total
    out: dict[str, Any] = {"row_no": rows}
    for name in TEXT_FIELDS:
        col = raw.get(name)
        if name == "source_system" and default_source:
            fallback = TextCol.constant(default_source.encode("utf-8"), n)
            if col is None:
                col = fallback
            elif (col.lens == 0).any():
                empty = col.lens == 0
                merged = col.to_list()
                value = default_source.encode("utf-8")
                col = TextCol.from_list(
                    [value if e else v for v, e in zip(merged, empty, strict=True)]
                )
        out[name] = col if col is not None else TextCol.constant(b"", n)

    month = raw["month"]
    out["month"], ok = parse_months(month.data, month.starts, month.lens)
    for i in np.flatnonzero(~ok)[:MAX_REPORTED_PROBLEMS]:
        shown = month.value(int(i)).decode("utf-8", "replace")
        problems.add(
            int(rows[i]), "month", f"not a month YYYY-MM between 2000-01 and 2100-12: {shown!r}"
        )
    problems.total += max(0, int((~ok).sum()) - MAX_REPORTED_PROBLEMS)

    for name in (*FLOAT_FIELDS, *INT_FIELDS):
        col = raw.get(name)
        integer = name in INT_FIELDS
        if col is None:
            out[name] = np.zeros(n, np.int32 if integer else np.float64)
            continue
        values, ok = parse_decimal(col.data, col.starts, col.lens, integer=integer)
        for i in np.flatnonzero(~ok):
            cell = col.value(int(i))
            parsed = _python_number(cell, integer=integer, optional=integer)
            if isinstance(parsed, str):
                problems.add(int(rows[i]), name, parsed, malformed=True)
                if problems.full:
                    return None
            else:
                values[i] = parsed
        out[name] = values.astype(np.int64) if integer else values

    out["exceeded"] = np.zeros(n, np.bool_)
    col = raw.get("exceeded")
    if col is not None:
        packed = pack_tokens(col.data, col.starts, col.lens)
        true = np.isin(packed, [pack_token(t) for t in _TRUE])
        false = np.isin(packed, [pack_token(t) for t in _FALSE])
        for i in np.flatnonzero(~(true | false))[:MAX_REPORTED_PROBLEMS]:
            word = col.value(int(i)).decode("utf-8", "replace")
            problems.add(int(rows[i]), "exceeded", f"not true/false: {word!r}", malformed=True)
        out["exceeded"] = true
    if problems.total > start:
        return None
    return _validate(out, rows, problems)


def _python_number(cell: bytes, *, integer: bool, optional: bool) -> float | int | str:
    """A cell the vectorised parser left: the number, or the reason it is not one."""
    text = cell.decode("utf-8", "replace").strip()
    if not text:
        return 0 if optional else "is required"
    try:
        return int(text) if integer else float(text)
    except ValueError:
        kind = "a whole number" if integer else "a number"
        return f"not {kind}: {text!r}"


# --------------------------------------------------------------------------- NDJSON / JSON

_ROWS = msgspec.json.Decoder(list[TaskRow])
_ROW = msgspec.json.Decoder(TaskRow)


def parse_ndjson_block(
    block: bytes, default_source: str | None, first_row: int, problems: Problems
) -> TaskColumns | None:
    """Parse and validate whole NDJSON lines (blank lines are skipped but counted)."""
    text = decode_text(block, first_row, problems)
    if text is None:
        return None
    lines = text.split("\n")
    lines.pop()
    numbered = [(first_row + i, ln) for i, ln in enumerate(lines) if ln.strip()]
    joined = "[" + ",".join(ln for _, ln in numbered) + "]"
    try:
        rows = _ROWS.decode(joined)
    except msgspec.DecodeError:
        rows = []
        for row_no, ln in numbered:
            try:
                rows.append(_ROW.decode(ln))
            except msgspec.DecodeError as exc:
                problems.add(row_no, _json_field(exc), str(exc), malformed=True)
        return None
    return rows_to_columns(rows, [r for r, _ in numbered], default_source, problems)


def parse_json_array(
    body: bytes, default_source: str | None, problems: Problems
) -> TaskColumns | None:
    """A whole JSON array of task rows (small batches)."""
    text = decode_text(body, 1, problems)
    if text is None:
        return None
    try:
        raw = msgspec.json.decode(text)
    except msgspec.DecodeError as exc:
        raise InvalidInput(f"malformed JSON: {exc}", [FieldProblem("body", str(exc))]) from exc
    if not isinstance(raw, list):
        raise InvalidInput(
            "expected a JSON array of task records", [FieldProblem("body", "not an array")]
        )
    rows: list[TaskRow] = []
    for i, item in enumerate(raw, start=1):
        try:
            rows.append(msgspec.convert(item, TaskRow))
        except msgspec.ValidationError as exc:
            problems.add(i, _json_field(exc), str(exc), malformed=True)
    if problems.total:
        return None
    return rows_to_columns(rows, list(range(1, len(rows) + 1)), default_source, problems)


def _json_field(exc: Exception) -> str:
    text = str(exc)
    marker = "at `$"
    if marker in text:
        path = text.split(marker, 1)[1].split("`", 1)[0]
        return path.lstrip(".").split("[", 1)[0].split(".")[-1] or "row"
    if "unknown field" in text.lower() and "`" in text:
        return text.split("`")[1]
    return "row"


def rows_to_columns(
    rows: list[TaskRow], row_nos: list[int], default_source: str | None, problems: Problems
) -> TaskColumns | None:
    def text(values: Iterable[str | None]) -> TextCol:
        return TextCol.from_list([(v or "").encode("utf-8") for v in values])

    cols: dict[str, Any] = {
        "source_system": text(r.source_system or default_source for r in rows),
        "external_id": text(r.external_id for r in rows),
        "cadre_code": text(r.cadre_code for r in rows),
        "month": [r.month for r in rows],
        "product_code": text(r.product_code for r in rows),
        "k": np.fromiter((r.k for r in rows), np.float64, len(rows)),
        "assigned": np.fromiter((r.assigned for r in rows), np.float64, len(rows)),
        "done": np.fromiter((r.done for r in rows), np.float64, len(rows)),
        "exceeded": np.fromiter((r.exceeded for r in rows), np.bool_, len(rows)),
        "errors_counted": np.fromiter((r.errors_counted for r in rows), np.int64, len(rows)),
        "errors_objective": np.fromiter((r.errors_objective for r in rows), np.int64, len(rows)),
        "errors_confirmed_by": text(r.errors_confirmed_by for r in rows),
        "delays_counted": np.fromiter((r.delays_counted for r in rows), np.int64, len(rows)),
        "delays_objective": np.fromiter((r.delays_objective for r in rows), np.int64, len(rows)),
        "delays_confirmed_by": text(r.delays_confirmed_by for r in rows),
    }
    rows_arr = np.asarray(row_nos, np.int64)
    months = {m: parse_month(m) for m in set(cols["month"])}
    for i, m in enumerate(cols["month"]):
        if months[m] is None:
            problems.add(
                row_nos[i], "month", f"not a month YYYY-MM between 2000-01 and 2100-12: {m!r}"
            )
    if problems.total:
        return None
    cols["month"] = np.fromiter((months[m] or 0 for m in cols["month"]), np.int32, len(rows))
    cols["row_no"] = rows_arr
    return _validate(cols, rows_arr, problems)


# --------------------------------------------------------------------------- validation


def _validate(
    out: dict[str, Any], rows: npt.NDArray[np.int64], problems: Problems
) -> TaskColumns | None:
    """Every per-row rule, vectorised over typed columns."""
    start = problems.total

    def bad(mask: npt.NDArray[np.bool_], field_name: str, reason: str) -> None:
        hits = np.flatnonzero(mask)
        for i in hits[:MAX_REPORTED_PROBLEMS]:
            problems.add(int(rows[i]), field_name, reason)
        problems.total += max(0, len(hits) - MAX_REPORTED_PROBLEMS)

    for name in ("source_system", "external_id", "cadre_code", "product_code"):
        bad(out[name].lens == 0, name, "is required")
    for name in TEXT_FIELDS:
        col: TextCol = out[name]
        over = np.flatnonzero(col.lens > MAX_TEXT)  # bytes ≥ characters: a cheap pre-check
        if len(over):
            long = np.zeros(len(col), np.bool_)
            long[over] = [len(col.value(int(i)).decode("utf-8")) > MAX_TEXT for i in over]
            bad(long, name, f"longer than {MAX_TEXT} characters")
    for name in FLOAT_FIELDS:
        bad(~np.isfinite(out[name]), name, "not a finite number")
    for name in INT_FIELDS:
        values = out[name]
        bad(values < 0, name, "must be 0 or more")
        bad(values > 1000, name, "must be at most 1000")
        out[name] = np.clip(values, -1, 1001).astype(np.int32)
    if problems.total > start:
        return None
    k, assigned, done = out["k"], out["assigned"], out["done"]
    bad(~(k > 0), "k", "conversion factor k must be greater than 0")
    bad(k > MAX_K, "k", f"conversion factor k must be at most {MAX_K:g}")
    bad(assigned < 0, "assigned", "must be 0 or more")
    bad(done < 0, "done", "must be 0 or more")
    bad(assigned > MAX_QUANTITY, "assigned", f"must be at most {MAX_QUANTITY:g}")
    bad(done > MAX_QUANTITY, "done", f"must be at most {MAX_QUANTITY:g}")
    bad(
        (done > assigned) & ~out["exceeded"],
        "done",
        "done exceeds assigned but the record is not marked exceeded",
    )
    for kind in ("errors", "delays"):
        bad(
            (out[f"{kind}_objective"] > 0) & (out[f"{kind}_confirmed_by"].lens == 0),
            f"{kind}_confirmed_by",
            f"{kind} with an objective cause need who confirmed the cause",
        )
    if problems.total > start:
        return None
    return TaskColumns(**out)
