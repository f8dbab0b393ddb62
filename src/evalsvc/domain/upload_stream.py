"""Cutting an upload's body, piece by piece, into batches of validated rows.

The server never holds a whole bulk upload: CSV and NDJSON bodies are decoded as they arrive
and handed on in batches of at most ``BATCH_ROWS`` rows and about ``CUT_CHARS`` of text,
numbered across the whole upload (the CSV
header is not a row, blank lines are skipped). A JSON array cannot be split before it is
parsed, so it is for small uploads: up to ``MAX_JSON_ARRAY_BYTES``, larger ones are refused
(413) with the advice to send CSV or NDJSON.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterator, Sequence
from typing import Any, Literal

import msgspec

from evalsvc.domain.bulk import Upload, UploadSpec, convert_batch, csv_header, json_rows_raw
from evalsvc.domain.errors import FieldProblem, InvalidInput, RuleViolation, TooLarge

StreamFormat = Literal["csv", "ndjson", "json"]
BATCH_ROWS = 5_000
"""Rows per batch: a few MB of Python objects, and one round trip per kind of write."""
CUT_CHARS = 1 << 20
"""Text buffered before the complete lines in it are parsed (pieces arrive in ~64 KiB)."""
MAX_JSON_ARRAY_BYTES = 32 << 20
"""A JSON array is parsed whole; beyond this, CSV or NDJSON (which stream) are asked for."""


def stream_format_of(content_type: str | None) -> StreamFormat:
    """The format of a streamed upload from its Content-Type (JSON when none is given)."""
    ctype = (content_type or "").split(";")[0].strip().lower()
    if ctype in ("text/csv", "application/csv"):
        return "csv"
    if ctype in ("application/x-ndjson", "application/ndjson", "application/jsonl"):
        return "ndjson"
    if ctype in ("application/json", ""):
        return "json"
    raise InvalidInput(
        f"unsupported content type {ctype!r}: send text/csv, application/x-ndjson or "
        "application/json",
        [FieldProblem("content-type", f"{ctype!r} is not CSV, NDJSON or JSON")],
    )


def _record_end(text: str) -> int:
    """Index just past the last line break that ends a CSV record (-1 if none).

    A line break inside a quoted cell has an odd number of quote characters before it
    (an escaped quote is two), so the cut is the last break after an even number.
    """
    pos = text.rfind("\n")
    if pos < 0:
        return -1
    quotes = text.count('"', 0, pos)
    while quotes % 2:
        prev = text.rfind("\n", 0, pos)
        if prev < 0:
            return -1
        quotes -= text.count('"', prev, pos)
        pos = prev
    return pos + 1


class RowStream:
    """Feed it the body's pieces; it returns the batches of rows completed so far.

    Rows failing validation are kept as problems of their batch; a problem of the body as a
    whole (bad bytes, a malformed CSV line, a bad header) raises InvalidInput at once.
    """

    def __init__(self, fmt: StreamFormat, spec: UploadSpec) -> None:
        self.fmt = fmt
        self.spec = spec
        self._decoder = codecs.getincrementaldecoder("utf-8")()
        self._bytes = 0
        self._text = ""
        self._lines = 0  # lines of text parsed so far
        self._header: list[str] | None = None
        self._json: bytearray | None = bytearray() if fmt == "json" else None
        self._raw: list[Any] = []
        self.rows = 0

    def feed(self, piece: bytes) -> list[Upload[Any]]:
        if self._json is not None:
            if len(self._json) + len(piece) > MAX_JSON_ARRAY_BYTES:
                raise TooLarge(
                    f"a JSON array is limited to {MAX_JSON_ARRAY_BYTES >> 20} MiB; send larger "
                    "uploads as CSV (text/csv) or NDJSON (application/x-ndjson), which stream",
                    [FieldProblem("body", f"larger than {MAX_JSON_ARRAY_BYTES} bytes as JSON")],
                )
            self._json += piece
            return []
        self._decode(piece, final=False)
        if len(self._text) < CUT_CHARS:
            return []
        end = _record_end(self._text) if self.fmt == "csv" else self._text.rfind("\n") + 1
        if end <= 0:
            return []
        block, self._text = self._text[:end], self._text[end:]
        self._parse(block)
        # Every row of the block goes on now: a batch is at most BATCH_ROWS rows and about
        # CUT_CHARS of text, however long the rows (3,900-character descriptions are ~250
        # rows a MiB), so memory stays bounded by text, not by a row count.
        return list(self._batches(final=True))

    def finish(self) -> list[Upload[Any]]:
        """The last batches; raises when the whole upload had no row."""
        if self._json is not None:
            self._raw = json_rows_raw(bytes(self._json))
            self._json = None
        else:
            self._decode(b"", final=True)
            block, self._text = self._text, ""
            if block:
                self._parse(block)
            if self.fmt == "csv" and self._header is None:
                raise InvalidInput(
                    "empty CSV: a header row is needed", [FieldProblem("body", "empty")]
                )
        batches = list(self._batches(final=True))
        if not self.rows:
            raise RuleViolation("the upload has no rows", [FieldProblem("body", "no rows")])
        return batches

    def _decode(self, piece: bytes, *, final: bool) -> None:
        pending = self._decoder.getstate()[0]  # a character's first bytes, from the last piece
        try:
            text = self._decoder.decode(piece, final)
        except UnicodeDecodeError as exc:
            at = self._bytes - len(pending) + exc.start
            data = pending + piece
            line = self._lines + self._text.count("\n") + 1 + data.count(b"\n", 0, exc.start)
            raise InvalidInput(
                f"the body is not valid UTF-8: byte {at} (line {line})",
                [FieldProblem("body", f"invalid UTF-8 at byte {at}, line {line}")],
            ) from exc
        if not self._bytes and not self._text:
            text = text.removeprefix("\ufeff")
        self._bytes += len(piece)
        self._text += text

    def _parse(self, block: str) -> None:
        if self.fmt == "csv":
            self._parse_csv(block)
        else:
            self._parse_ndjson(block)

    def _parse_csv(self, block: str) -> None:
        reader = csv.reader(io.StringIO(block, newline=""), strict=True)
        try:
            if self._header is None:
                first = next(reader, None)
                if first is None:
                    return
                self._header = csv_header(first, self.spec.columns, self.spec.required)
            header = self._header
            for record in reader:
                if not record:
                    continue
                if len(record) != len(header):
                    self._raw.append(None)  # reported with its row number
                    continue
                self._raw.append(
                    {h: v.strip() for h, v in zip(header, record, strict=True) if v.strip()}
                )
        except csv.Error as exc:
            line = self._lines + reader.line_num
            raise InvalidInput(
                f"malformed CSV at line {line}: {exc}",
                [FieldProblem("body", f"line {line}: {exc}")],
            ) from exc
        self._lines += block.count("\n")

    def _parse_ndjson(self, block: str) -> None:
        for line in block.split("\n"):
            self._lines += 1
            if not line.strip():
                continue
            try:
                self._raw.append(msgspec.json.decode(line))
            except (msgspec.DecodeError, RecursionError) as exc:
                raise InvalidInput(
                    f"malformed JSON at line {self._lines}: {exc}",
                    [FieldProblem("body", f"line {self._lines}: {exc}")],
                ) from exc
        self._lines -= 1  # the text after the last line break is no line of its own

    def _batches(self, *, final: bool) -> Iterator[Upload[Any]]:
        while len(self._raw) >= BATCH_ROWS or (final and self._raw):
            raw, self._raw = self._raw[:BATCH_ROWS], self._raw[BATCH_ROWS:]
            yield self._convert(raw)

    def _convert(self, raw: Sequence[Any]) -> Upload[Any]:
        spec = self.spec
        first = self.rows + 1
        self.rows += len(raw)
        if self.fmt == "csv":
            mapped = [spec.csv_row(r) if spec.csv_row and r is not None else r for r in raw]
            return convert_batch(
                mapped, spec.row_type, strict=False, rename=spec.csv_fields, first=first
            )
        return convert_batch(raw, spec.row_type, strict=True, first=first)
