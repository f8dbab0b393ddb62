"""Task records: the streaming bulk upload, raw rows and the monthly totals."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, get, post
from litestar.exceptions import HTTPException
from litestar.params import Parameter

from evalsvc.api.deps import Caller, Conn
from evalsvc.api.export import Limit, Offset
from evalsvc.api.guards import READERS, allow
from evalsvc.api.openapi_docs import UNSUPPORTED_MEDIA, returns, text_body
from evalsvc.api.schemas.lists import TaskBatchSummary, TaskRecordPage, TaskTotalsPage
from evalsvc.api.uploads import STREAMED_LIMIT, body_pieces, upload_limit
from evalsvc.domain.access import Role
from evalsvc.domain.errors import FieldProblem, InvalidInput
from evalsvc.domain.tasks import TaskRow, parse_month
from evalsvc.store import tasks as store
from evalsvc.store.tasks import Format

WRITERS = allow(Role.ADMIN, Role.PERSONNEL, Role.HR_SYSTEM)
FORMATS: dict[str, Format] = {
    "text/csv": "csv",
    "application/csv": "csv",
    "application/x-ndjson": "ndjson",
    "application/ndjson": "ndjson",
    "application/jsonl": "ndjson",
    "application/json": "json",
}


def month_param(value: str) -> int:
    month = parse_month(value)
    if month is None:
        raise InvalidInput(
            "month must be YYYY-MM", [FieldProblem("month", f"not a month YYYY-MM: {value!r}")]
        )
    return month


class TaskController(Controller):
    path = "/tasks"
    tags = ["tasks"]

    @post(
        "/batches",
        operation_class=text_body(
            "Task records as CSV (a header line), NDJSON (one object a line) or a JSON array; "
            "every row ends with a line break.",
            "source_system,external_id,cadre_code,month,product_code,k,assigned,done\n"
            "hrm,T-1,C001,2026-05,VB,1,10,9\n",
            "text/csv",
            "application/x-ndjson",
            "application/json",
            rows=TaskRow,
        ),
        opt=WRITERS,
        request_max_body_size=STREAMED_LIMIT,
        status_code=201,
        summary="Upload a batch of task records (CSV, NDJSON or a JSON array), all or nothing",
        description=(
            "Streams the body: `text/csv` with a header line, `application/x-ndjson` (one JSON "
            "object per line) or `application/json` (an array, for small batches). Rows are "
            "upserted by (source_system, external_id): re-sending changes nothing, a changed "
            "row replaces the stored one. Every row must end with a line break; a body that "
            "ends mid-row is treated as truncated. Any problem rejects the whole batch and the "
            "error lists the first rows with field and reason."
        ),
        responses={**UNSUPPORTED_MEDIA, **returns(TaskBatchSummary, "The stored batch", 201)},
    )
    async def upload_batch(
        self,
        request: Request[Any, Any, Any],
        conn: Conn,
        principal: Caller,
        source: Annotated[
            str | None,
            Parameter(description="source_system for rows that name none", max_length=200),
        ] = None,
    ) -> dict[str, int]:
        media = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
        fmt = FORMATS.get(media)
        if fmt is None:
            raise HTTPException(
                status_code=415,
                detail="send text/csv, application/x-ndjson or application/json",
                extra=[{"field": "content-type", "reason": f"unsupported: {media or 'none'}"}],
            )
        result = await store.ingest_stream(
            conn,
            body_pieces(request, upload_limit(request)),
            fmt=fmt,
            principal=principal,
            origin="http",
            default_source=source or None,
        )
        return result.as_dict()

    @get("/", opt=READERS, summary="Task records of a month (optionally one cadre)")
    async def list_records(
        self,
        conn: Conn,
        principal: Caller,
        month: Annotated[str, Parameter(description="YYYY-MM")],
        cadre: Annotated[str | None, Parameter(description="cadre code")] = None,
        limit: Limit = 100,
        offset: Offset = 0,
    ) -> TaskRecordPage:
        items, total = await store.list_records(
            conn, principal, month=month_param(month), cadre_code=cadre, limit=limit, offset=offset
        )
        body = {"items": items, "total": total, "limit": limit, "offset": offset}
        return msgspec.convert(body, TaskRecordPage)

    @get(
        "/totals",
        opt=READERS,
        summary="Monthly task totals per cadre (the Decree 335 sums and derived shares)",
    )
    async def list_totals(
        self,
        conn: Conn,
        principal: Caller,
        month: Annotated[str, Parameter(description="YYYY-MM")],
        cadre: Annotated[str | None, Parameter(description="cadre code")] = None,
        limit: Limit = 100,
        offset: Offset = 0,
    ) -> TaskTotalsPage:
        items, total = await store.list_totals(
            conn, principal, month=month_param(month), cadre_code=cadre, limit=limit, offset=offset
        )
        body = {"items": items, "total": total, "limit": limit, "offset": offset}
        return msgspec.convert(body, TaskTotalsPage)
