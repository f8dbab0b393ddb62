"""Cookies and CSRF tokens of the pages.

Session cookie: 256 random bits, HttpOnly, SameSite=Lax, Secure when the request came over
TLS (``https`` in the ASGI scope: uvicorn sets it behind a proxy with ``--proxy-headers``).
CSRF: every form carries ``_csrf`` = HMAC(web key, the browser's CSRF cookie); a POST whose
field does not match is refused. An attacker's page can neither read our cookie nor compute
the HMAC, so it cannot forge the field.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Any, Final

from litestar.connection import ASGIConnection
from litestar.datastructures import Cookie

SESSION_COOKIE: Final = "evalsvc_session"
CSRF_COOKIE: Final = "evalsvc_csrf"
LANG_COOKIE: Final = "evalsvc_lang"
CSRF_FIELD: Final = "_csrf"


def is_tls(connection: ASGIConnection[Any, Any, Any, Any]) -> bool:
    return connection.scope.get("scheme") == "https"


def cookie(
    connection: ASGIConnection[Any, Any, Any, Any],
    name: str,
    value: str,
    max_age: int | None = None,
    httponly: bool = True,
) -> Cookie:
    return Cookie(
        key=name,
        value=value,
        path="/",
        max_age=max_age,
        httponly=httponly,
        samesite="lax",
        secure=is_tls(connection),
    )


def expired_cookie(connection: ASGIConnection[Any, Any, Any, Any], name: str) -> Cookie:
    return Cookie(
        key=name,
        value="",
        path="/",
        max_age=0,
        httponly=True,
        samesite="lax",
        secure=is_tls(connection),
    )


def new_csrf_cookie_value() -> str:
    return secrets.token_urlsafe(24)


def csrf_token(key: bytes, cookie_value: str) -> str:
    return hmac.new(key, b"csrf|" + cookie_value.encode(), hashlib.sha256).hexdigest()


def csrf_ok(key: bytes, cookie_value: str | None, field_value: str | None) -> bool:
    if not cookie_value or not field_value:
        return False
    return hmac.compare_digest(csrf_token(key, cookie_value), field_value)
