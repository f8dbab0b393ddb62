"""Every request gets an id, one JSON access-log line; every response the security headers.

The id comes from a well-formed ``X-Request-ID`` header (a proxy's) or is generated; it is
sent back in the response, carried by every log line of the request (``evalsvc.logs``) and
recorded with every change the request makes (the audit trail).
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from typing import Any

from litestar.datastructures import MutableScopeHeaders
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from evalsvc.logs import request_id

log = logging.getLogger("evalsvc.access")
_GOOD_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")

SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
}
PAGE_CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; "
    "script-src 'self' 'wasm-unsafe-eval'; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
"""Pages: every asset comes from the package (no CDN), nothing may frame them;
'wasm-unsafe-eval' lets libsodium's WebAssembly seal a sheet in the browser (it allows no
JavaScript eval)."""
API_CSP = "default-src 'none'; frame-ancestors 'none'"
DOCS_CSP = "frame-ancestors 'none'"
"""The OpenAPI viewers load their scripts from elsewhere: only framing is forbidden."""


def _incoming_id(scope: Scope) -> str:
    for name, value in scope["headers"]:
        if name == b"x-request-id":
            text = value.decode("latin-1")
            if _GOOD_ID.fullmatch(text):
                return text
    return uuid.uuid4().hex


def observe(app: ASGIApp) -> ASGIApp:
    """ASGI middleware (Litestar runs it after routing, so the route template is known)."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await app(scope, receive, send)
            return
        rid = _incoming_id(scope)
        token = request_id.set(rid)
        started = time.perf_counter()
        status = 500
        path: str = scope.get("path_template") or "?"

        async def send_with_headers(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = MutableScopeHeaders.from_message(message)
                headers["x-request-id"] = rid
            await send(message)

        try:
            await app(scope, receive, send_with_headers)
        finally:
            log.info(
                "request",
                extra={
                    "method": scope.get("method", "?"),
                    "route": path,
                    "status": status,
                    "ms": round((time.perf_counter() - started) * 1000, 1),
                },
            )
            request_id.reset(token)

    return middleware


async def secure_headers(message: Message, scope: Scope) -> None:
    """App-level ``before_send`` hook: the security headers on every response.

    A hook and not the middleware above, because Litestar runs middleware only for requests
    that found a route: unknown paths (404) and wrong methods (405) would go without. Those
    also get a request id here, since the middleware gave them none.
    """
    if message["type"] != "http.response.start":
        return
    headers = MutableScopeHeaders.from_message(message)
    for key, value in SECURITY_HEADERS.items():
        headers.setdefault(key, value)
    headers.setdefault("content-security-policy", _csp(scope.get("path", ""), headers))
    if "x-request-id" not in headers:
        headers["x-request-id"] = uuid.uuid4().hex


def _csp(path: str, headers: Any) -> str:
    if path == "/schema" or path.startswith("/schema/"):
        return DOCS_CSP
    if headers.get("content-type", "").startswith("text/html"):
        return PAGE_CSP
    return API_CSP
