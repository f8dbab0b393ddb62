"""The one place where application errors become HTTP responses.

Every error body has the shape ``{"status_code", "detail", "extra"}``; ``extra`` lists the
problems, each naming the field, the reason and, for bulk uploads, the row.
"""

from __future__ import annotations

import logging
from typing import Any

import asyncpg
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.types import ExceptionHandlersMap

from evalsvc.domain.bulk import split_message
from evalsvc.domain.errors import (
    Conflict,
    DomainError,
    Forbidden,
    InvalidInput,
    NotFound,
    RuleViolation,
    TooLarge,
)
from evalsvc.domain.recompute import READABLE_PATTERNS

log = logging.getLogger(__name__)

STATUS_OF: dict[type[DomainError], int] = {
    InvalidInput: 400,
    Forbidden: 403,
    NotFound: 404,
    Conflict: 409,
    RuleViolation: 422,
    TooLarge: 413,
}


def status_of(exc: DomainError) -> int:
    for cls in type(exc).__mro__:
        if cls in STATUS_OF:
            return STATUS_OF[cls]
    return 400


def _body(status: int, detail: str, extra: Any) -> dict[str, Any]:
    return {"status_code": status, "detail": detail, "extra": extra}


def domain_error_handler(_: Request[Any, Any, Any], exc: DomainError) -> Response[Any]:
    status = status_of(exc)
    return Response(
        _body(status, exc.detail, [p.as_dict() for p in exc.problems]), status_code=status
    )


def http_error_handler(_: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    extra = exc.extra if exc.extra is not None else []
    if isinstance(exc, ValidationException) and isinstance(extra, list):
        extra = [_as_problem(item) for item in extra]
    return Response(
        _body(exc.status_code, exc.detail, extra), status_code=exc.status_code, headers=exc.headers
    )


def _as_problem(item: Any) -> Any:
    """Litestar's ``{message, key, source}`` in the same ``{field, reason}`` shape as ours."""
    if not isinstance(item, dict) or "message" not in item:
        return item
    field, reason = item.get("key") or "body", item["message"]
    if item.get("source") == "body" or field == "data":
        field, reason = split_message(reason)
        field = "body" if field == "row" else field
    for pattern, words in READABLE_PATTERNS.items():
        if pattern in reason:  # "Expected `str` matching regex '...'" says it in words
            reason = f"must be {words}"
    problem = {"field": field, "reason": reason}
    if item.get("source"):
        problem["source"] = item["source"]
    return problem


def out_of_range_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """A value the request-validation layer missed and the database could not take (a NUL
    in text, an integer beyond int8, nesting past the decoder's depth): the caller's fault."""
    log.warning("refused %s on %s %s", type(exc).__name__, request.method, request.url.path)
    reason = {
        RecursionError: "nested too deeply",
        OverflowError: "a number is out of range",
    }.get(type(exc), "text holds a character the database cannot store")
    return Response(_body(400, reason, [{"field": "body", "reason": reason}]), status_code=400)


def unexpected_error_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    # Only the path and the exception type: bodies may hold ballot tokens or personal data.
    log.error(
        "unhandled %s on %s %s", type(exc).__name__, request.method, request.url.path, exc_info=exc
    )
    return Response(_body(500, "internal error", []), status_code=500)


EXCEPTION_HANDLERS: ExceptionHandlersMap = {
    DomainError: domain_error_handler,
    RecursionError: out_of_range_handler,
    OverflowError: out_of_range_handler,
    asyncpg.CharacterNotInRepertoireError: out_of_range_handler,
    asyncpg.UntranslatableCharacterError: out_of_range_handler,
    HTTPException: http_error_handler,
    Exception: unexpected_error_handler,
}
