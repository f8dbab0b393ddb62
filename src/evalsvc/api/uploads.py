"""Reading a bulk upload from a request body, piece by piece.

Bulk uploads of rows (cadres, assessments, discipline, ...) are streamed: their handlers
take no Litestar body limit (``STREAMED_LIMIT``) and count the bytes here against
``max_body_bytes`` (1 GiB by default), since memory no longer grows with the body. Uploads
that must be seen whole (a unit tree, whose parents may come after their children; a catalog;
a round's paper ballots, hashed for their idempotency key) are read up to ``WHOLE_BODY_BYTES``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import asyncpg
from litestar import Request
from litestar.exceptions import InternalServerException

from evalsvc.domain.bulk import Upload, UploadSpec, format_of, parse_upload
from evalsvc.domain.errors import FieldProblem, InvalidInput, TooLarge
from evalsvc.domain.units import UpsertSummary
from evalsvc.domain.upload_stream import RowStream, stream_format_of
from evalsvc.settings import Settings
from evalsvc.store.uploads import WriteBatch, write_in_batches

WHOLE_BODY_BYTES = 16 << 20
"""Largest upload read whole: 16 MiB is some 200,000 units, 60 times a city's tree."""
STREAMED_LIMIT = None
"""``request_max_body_size`` of a streamed upload's handler: no Litestar limit, since
:func:`body_pieces` counts the bytes against the settings' ``max_body_bytes``."""


def _too_large(limit: int) -> TooLarge:
    return TooLarge(
        f"request body larger than {limit} bytes",
        [FieldProblem("body", f"larger than {limit} bytes")],
    )


async def body_pieces(request: Request[Any, Any, Any], limit: int) -> AsyncIterator[bytes]:
    """The body as it arrives; 413 once more than ``limit`` bytes came (or were announced)."""
    announced = request.headers.get("content-length", "")
    if announced.isdigit() and int(announced) > limit:
        raise _too_large(limit)
    seen = 0
    try:
        async for piece in request.stream():
            seen += len(piece)
            if seen > limit:
                raise _too_large(limit)
            if piece:
                yield piece
    except InternalServerException as exc:  # the client went away mid-upload
        raise InvalidInput(
            "the upload was cut off before its end; nothing was stored",
            [FieldProblem("body", "client disconnected")],
        ) from exc


def upload_limit(request: Request[Any, Any, Any]) -> int:
    settings: Settings = request.app.state.settings
    return settings.max_body_bytes


async def upload_batches(
    request: Request[Any, Any, Any], spec: UploadSpec
) -> AsyncIterator[Upload[Any]]:
    """Validated rows in batches, as the body arrives (CSV, NDJSON or a small JSON array)."""
    rows = RowStream(stream_format_of(request.headers.get("content-type")), spec)
    async for piece in body_pieces(request, upload_limit(request)):
        for batch in rows.feed(piece):
            yield batch
    for batch in rows.finish():
        yield batch


async def write_upload(
    request: Request[Any, Any, Any],
    conn: asyncpg.Connection,
    spec: UploadSpec,
    write: WriteBatch,
) -> UpsertSummary:
    """Stream the upload through ``write``, batch by batch, all or nothing."""
    return await write_in_batches(conn, spec, upload_batches(request, spec), write)


async def read_whole_body(request: Request[Any, Any, Any]) -> bytes:
    """The whole body of an upload that is validated as one (413 past ``WHOLE_BODY_BYTES``
    or a smaller ``max_body_bytes``)."""
    limit = min(WHOLE_BODY_BYTES, upload_limit(request))
    return b"".join([piece async for piece in body_pieces(request, limit)])


async def read_upload(request: Request[Any, Any, Any], spec: UploadSpec) -> Upload[Any]:
    """All rows of a whole upload, validated; the format follows the Content-Type."""
    fmt = format_of(request.headers.get("content-type"))
    return parse_upload(await read_whole_body(request), fmt, spec)
