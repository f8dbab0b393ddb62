"""List responses as JSON pages or CSV (``?format=csv`` or ``Accept: text/csv``)."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import date, datetime
from typing import Annotated, Any, Literal

import msgspec
from litestar import Request, Response
from litestar.params import QueryParameter

Format = Literal["json", "csv"]
Limit = Annotated[int, QueryParameter(ge=1, le=1000, description="Page size (1-1000)")]
Offset = Annotated[int, QueryParameter(ge=0, description="Rows to skip")]


def wants_csv(request: Request[Any, Any, Any], fmt: Format | None) -> bool:
    if fmt is not None:
        return fmt == "csv"
    accept = request.headers.get("accept", "")
    return "text/csv" in accept and "application/json" not in accept


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict | list):
        return msgspec.json.encode(value).decode()
    if isinstance(value, float):
        return repr(value)
    text = str(value)
    if isinstance(value, str) and text.startswith(_FORMULA_STARTS):
        # A spreadsheet would run "=HYPERLINK(...)" as a formula (CSV injection, OWASP):
        # a leading apostrophe makes any text cell read as text.
        return "'" + text
    return text


_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def to_csv(items: Sequence[dict[str, Any]], columns: Sequence[str] | None = None) -> bytes:
    cols = list(columns or (items[0].keys() if items else []))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(cols)
    for item in items:
        writer.writerow([_cell(item.get(c)) for c in cols])
    return out.getvalue().encode("utf-8")


def page(
    request: Request[Any, Any, Any],
    fmt: Format | None,
    items: list[dict[str, Any]],
    total: int,
    limit: int,
    offset: int,
    filename: str,
    columns: Sequence[str] | None = None,
    **extra: Any,
) -> Response[Any]:
    """One page as ``{items, total, limit, offset, ...}`` or as CSV with the same rows."""
    if wants_csv(request, fmt):
        return _csv_response(to_csv(items, columns), filename, total)
    return Response({"items": items, "total": total, "limit": limit, "offset": offset, **extra})


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
    return _csv_response(to_csv(body["items"]), filename, body["total"])
