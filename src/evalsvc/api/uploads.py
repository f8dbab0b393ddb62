"""Reading a bulk upload (JSON array or CSV) from a request body."""

from __future__ import annotations

from typing import Any

from litestar import Request

from evalsvc.domain.bulk import Upload, UploadSpec, format_of, parse_upload


async def read_upload(request: Request[Any, Any, Any], spec: UploadSpec) -> Upload[Any]:
    """All rows, validated; the format follows the Content-Type (JSON or text/csv)."""
    fmt = format_of(request.headers.get("content-type"))
    return parse_upload(await request.body(), fmt, spec)
