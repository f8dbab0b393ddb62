"""Authentication and authorisation, checked in one guard for every route.

Each handler declares who may call it through ``opt``: ``opt=allow(Role.ADMIN, ...)`` or
``opt=PUBLIC``. A handler that declares nothing is refused to everyone, so forgetting is safe.
"""

from __future__ import annotations

from typing import Any

from litestar.connection import ASGIConnection
from litestar.exceptions import (
    ClientException,
    NotAuthorizedException,
    PermissionDeniedException,
)
from litestar.handlers import BaseRouteHandler

from evalsvc.domain.access import READ_ROLES, Principal, Role
from evalsvc.store.keys import authenticate
from evalsvc.store.users import session_user

PUBLIC: dict[str, Any] = {"public": True}
ROLES_KEY = "roles"
PEOPLE_KEY = "people"


def allow(*roles: Role) -> dict[str, Any]:
    """Handler ``opt`` granting access to these roles."""
    return {ROLES_KEY: frozenset(roles)}


def allow_people(*roles: Role) -> dict[str, Any]:
    """Like :func:`allow`, and a person's session token is accepted as the Bearer token too
    (what the store then checks is who the person is, e.g. a committee member)."""
    return {ROLES_KEY: frozenset(roles), PEOPLE_KEY: True}


READERS = allow(*READ_ROLES)
ADMIN = allow(Role.ADMIN)


def bearer_token(connection: ASGIConnection[Any, Any, Any, Any]) -> str | None:
    header = connection.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    return connection.headers.get("x-api-key")


async def authorize(
    connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler
) -> None:
    """Litestar guard: attach the principal to the request state or refuse."""
    if handler.opt.get("public") or _is_docs(connection):
        _refuse_large_body(connection, connection.app.state.settings.reader_max_body_bytes)
        return
    roles: frozenset[Role] | None = handler.opt.get(ROLES_KEY)
    token = bearer_token(connection)
    if not token:
        raise NotAuthorizedException("an API key is needed: 'Authorization: Bearer <key>'")
    pool = connection.app.state.pool
    async with pool.acquire() as conn:
        principal = await authenticate(conn, token)
        if principal is None and handler.opt.get(PEOPLE_KEY):
            # People (e.g. committee members) call these with their session token.
            person = await session_user(conn, token)
            principal = person.principal if person else None
    if principal is None:
        raise NotAuthorizedException("unknown or revoked API key")
    if not roles or principal.role not in roles:
        raise PermissionDeniedException(f"role {principal.role.value} may not call this endpoint")
    if principal.role is Role.AUDITOR:
        _refuse_large_body(connection, connection.app.state.settings.reader_max_body_bytes)
    connection.state.principal = principal


def _refuse_large_body(connection: ASGIConnection[Any, Any, Any, Any], limit: int) -> None:
    """Body limit per role: voters and auditors send small JSON only (413 past ``limit``)."""
    length = connection.headers.get("content-length", "")
    if length.isdigit() and int(length) > limit:
        raise ClientException(f"request body larger than {limit} bytes", status_code=413)


def _is_docs(connection: ASGIConnection[Any, Any, Any, Any]) -> bool:
    path: str = connection.scope["path"]
    return path == "/schema" or path.startswith("/schema/")


def provide_principal(request: ASGIConnection[Any, Any, Any, Any]) -> Principal:
    """Dependency: the caller that the guard authenticated."""
    principal: Principal = request.state.principal
    return principal
