"""List responses as JSON pages or CSV (``?format=csv`` or ``Accept: text/csv``).

``excel=1`` makes the CSV one that Excel on Windows opens as meant: a UTF-8 BOM, Vietnamese
headers, level labels beside level codes, scores with 2 decimals. Text cells that a
spreadsheet would run as a formula (beginning with ``=``, ``+``, ``-``, ``@``, tab or CR)
are prefixed with ``'`` in every CSV.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import date, datetime
from typing import Annotated, Any, Literal

import msgspec
from litestar import Request, Response
from litestar.params import QueryParameter

from evalsvc.reports import labels
from evalsvc.reports.numbers import score_text

Format = Literal["json", "csv"]
ReportFormat = Literal["json", "csv", "xlsx", "pdf"]
"""Result lists people file: also as a spreadsheet or a PDF."""
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
SCORE_COLUMNS = frozenset(
    {"score", "u", "u1", "u2", "u3", "u4", "u5", "score_a", "score_b", "u_a", "u_b"}
)
Limit = Annotated[int, QueryParameter(ge=1, le=1000, description="Page size (1-1000)")]
Offset = Annotated[int, QueryParameter(ge=0, description="Rows to skip")]


def wants_csv(request: Request[Any, Any, Any], fmt: ReportFormat | None) -> bool:
    if fmt is not None:
        return fmt == "csv"
    accept = request.headers.get("accept", "")
    return "text/csv" in accept and "application/json" not in accept


def neutral(text: str) -> str:
    """A text cell a spreadsheet will show, not run (OWASP's CSV injection advice)."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _cell(value: Any, excel: bool = False, column: str = "") -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return ("có" if value else "không") if excel else str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict | list):
        return neutral(msgspec.json.encode(value).decode())
    if isinstance(value, float):
        if excel and column in SCORE_COLUMNS:
            return score_text(value, "en")
        if excel and column.startswith("rank_"):
            return str(round(value))
        return repr(value)
    if isinstance(value, int):
        return str(value)
    return neutral(str(value))


def wants_excel(request: Request[Any, Any, Any]) -> bool:
    return request.query_params.get("excel", "").lower() in ("1", "true", "yes")


def _excel_columns(cols: list[str]) -> list[str]:
    """Level labels beside level codes (unless the rows carry them), reasons as words."""
    out = []
    for c in cols:
        out.append(c)
        if c.startswith("level") and c.removeprefix("level") in ("", "_a", "_b"):
            label = "level_label" + c.removeprefix("level")
            if label not in cols:
                out.append(label)
    if "reasons" in out:
        out.insert(out.index("reasons") + 1, "reasons_text")
    return out


def _excel_value(item: dict[str, Any], column: str) -> Any:
    if column.startswith("level_label") and column not in item:
        return labels.level_label(item.get("level" + column.removeprefix("level_label")))
    if column == "reasons_text":
        return labels.reasons_text(item.get("reasons"))
    if column == "position":
        return labels.position_label(item.get("position"))
    return item.get(column)


def _excel_header(column: str) -> str:
    for suffix, words in (("_a", " (lượt A)"), ("_b", " (lượt B)")):
        if column.endswith(suffix) and column[:-2] in labels.HEADERS_VI:
            return labels.HEADERS_VI[column[:-2]] + words
    return labels.HEADERS_VI.get(column, column)


def to_csv(
    items: Sequence[dict[str, Any]], columns: Sequence[str] | None = None, excel: bool = False
) -> bytes:
    cols = list(columns or (items[0].keys() if items else []))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n" if excel else "\n")
    if excel:
        cols = _excel_columns(cols)
        writer.writerow([_excel_header(c) for c in cols])
        for item in items:
            writer.writerow([_cell(_excel_value(item, c), True, c) for c in cols])
        return b"\xef\xbb\xbf" + out.getvalue().encode("utf-8")
    writer.writerow(cols)
    for item in items:
        writer.writerow([_cell(item.get(c)) for c in cols])
    return out.getvalue().encode("utf-8")


def page(
    request: Request[Any, Any, Any],
    fmt: ReportFormat | None,
    items: list[dict[str, Any]],
    total: int,
    limit: int,
    offset: int,
    filename: str,
    columns: Sequence[str] | None = None,
    *,
    shape: type[msgspec.Struct],
    **extra: Any,
) -> Response[Any]:
    """One page as ``{items, total, limit, offset, ...}`` (converted to ``shape``, the
    documented schema) or as CSV with the same rows."""
    if wants_csv(request, fmt):
        return _csv_response(to_csv(items, columns, wants_excel(request)), filename, total)
    body = {"items": items, "total": total, "limit": limit, "offset": offset, **extra}
    return Response(msgspec.convert(body, shape))


def _csv_response(body: bytes, filename: str, total: int) -> Response[Any]:
    """A CSV download (Litestar adds ``; charset=utf-8`` to a ``text/`` media type)."""
    return Response(
        body,
        media_type="text/csv",
        headers={
            "content-disposition": f'attachment; filename="{filename}.csv"',
            "x-total-count": str(total),
        },
    )


def struct_page(
    request: Request[Any, Any, Any], fmt: Format | None, page_: msgspec.Struct, filename: str
) -> Response[Any]:
    """A typed page (``items``, ``total``, ...) as JSON, or its items as CSV."""
    if not wants_csv(request, fmt):
        return Response(page_)
    body = msgspec.to_builtins(page_)
    return _csv_response(to_csv(body["items"], excel=wants_excel(request)), filename, body["total"])


def file_response(body: bytes, filename: str, fmt: Literal["xlsx", "pdf"]) -> Response[Any]:
    """A report download (XLSX or PDF); the name is ASCII (codes and the period)."""
    media = {
        "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "pdf": "application/pdf",
    }[fmt]
    return Response(
        body,
        media_type=media,
        headers={"content-disposition": f'attachment; filename="{filename}.{fmt}"'},
    )
