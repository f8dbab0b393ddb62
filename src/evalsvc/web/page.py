"""What every page needs: who is logged in, the language, the CSRF token, rendering.

The page guard runs before every page handler (after the API-key guard, which lets pages
through): it finds the session's person, checks the CSRF field of every POST, sends people
who must log in (or change their first password) to the right page, and leaves a ``Page``
on ``request.state.page`` for the handler.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any, Final, cast
from urllib.parse import quote

import asyncpg
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from litestar import Request, Response
from litestar.connection import ASGIConnection
from litestar.datastructures import Cookie, State
from litestar.exceptions import PermissionDeniedException
from litestar.handlers import BaseRouteHandler
from litestar.response import Redirect

from evalsvc import __version__
from evalsvc.domain.access import Role
from evalsvc.keyring import web_key
from evalsvc.settings import Settings
from evalsvc.store.users import SessionUser, session_user
from evalsvc.web.i18n import LOCALE_NAMES, Translator, pick_locale
from evalsvc.web.security import (
    CSRF_COOKIE,
    CSRF_FIELD,
    LANG_COOKIE,
    SESSION_COOKIE,
    cookie,
    csrf_ok,
    csrf_token,
    new_csrf_cookie_value,
)

ANYONE: Final = "anyone"
"""``opt={"page": ANYONE}``: no login needed (login page, voter pages)."""
LOGGED_IN: Final = "logged_in"
PASSWORD_PAGE: Final = "password_page"
"""Opt flag of the pages a person who must change their password may still open."""


def people(*roles: Role) -> dict[str, Any]:
    """Handler opt: logged-in people with one of these roles."""
    return {"page": frozenset(roles)}


EVERYONE_LOGGED_IN: Final = {"page": LOGGED_IN}
PUBLIC_PAGE: Final = {"page": ANYONE}


class LoginRequired(Exception):
    """No (live) session: the person is sent to the login page."""


class PasswordChangeRequired(Exception):
    """First login or reset: the new password comes before anything else."""


class CsrfRefused(Exception):
    """A POST whose CSRF field does not match the browser's cookie."""


@dataclass(slots=True)
class Page:
    user: SessionUser | None
    t: Translator
    csrf: str
    new_csrf_cookie: str | None
    session_token: str | None
    path: str

    @property
    def lang(self) -> str:
        return self.t.locale


@cache
def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("evalsvc.web", "templates"),
        autoescape=select_autoescape(default=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals["version"] = __version__
    env.globals["locale_names"] = LOCALE_NAMES
    return env


def page_of(request: Request[Any, Any, Any]) -> Page:
    page: Page = request.state.page
    return page


def render(
    request: Request[Any, Any, Any],
    template: str,
    status_code: int = 200,
    cookies: list[Cookie] | None = None,
    headers: dict[str, str] | None = None,
    **context: Any,
) -> Response[str]:
    page = page_of(request)
    html = (
        environment()
        .get_template(template)
        .render(page=page, user=page.user, _=page.t, t=page.t, csrf=page.csrf, **context)
    )
    out_cookies = list(cookies or [])
    if page.new_csrf_cookie:
        out_cookies.append(cookie(request, CSRF_COOKIE, page.new_csrf_cookie))
    return Response(
        html,
        status_code=status_code,
        media_type="text/html; charset=utf-8",
        cookies=out_cookies,
        headers={"Cache-Control": "no-store", **(headers or {})},
    )


def web_key_of(state: State) -> bytes:
    key: bytes | None = state.get("web_key")
    if key is None:
        settings: Settings = state.settings
        key = state.web_key = web_key(settings)
    return key


async def page_guard(
    connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler
) -> None:
    """Litestar guard of the page router (see the module docstring)."""
    state = connection.app.state
    key = web_key_of(state)
    csrf_cookie = connection.cookies.get(CSRF_COOKIE)
    new_cookie = None
    if not csrf_cookie:
        csrf_cookie = new_cookie = new_csrf_cookie_value()
    token = connection.cookies.get(SESSION_COOKIE)
    user = None
    if token:
        pool: asyncpg.Pool = state.pool
        async with pool.acquire() as conn:
            user = await session_user(cast(asyncpg.Connection, conn), token)
    if user is not None:
        # The audit trail names the person behind a page's writes (api/deps.provide_conn).
        connection.state.principal = user.principal
    connection.state.page = Page(
        user=user,
        t=Translator(pick_locale(connection.cookies.get(LANG_COOKIE))),
        csrf=csrf_token(key, csrf_cookie),
        new_csrf_cookie=new_cookie,
        session_token=token if user else None,
        path=connection.scope["path"],
    )
    need = handler.opt.get("page")
    if connection.scope.get("method") == "POST":
        form = await cast(Request[Any, Any, Any], connection).form()
        field = form.get(CSRF_FIELD)
        if not csrf_ok(key, connection.cookies.get(CSRF_COOKIE), field):
            raise CsrfRefused()
    if user is not None and user.must_change_password and not handler.opt.get(PASSWORD_PAGE):
        raise PasswordChangeRequired()
    if need is None:
        raise PermissionDeniedException()  # a page that declares nobody is open to nobody
    if need == ANYONE:
        return
    if user is None:
        raise LoginRequired()
    if isinstance(need, frozenset) and user.role not in need:
        raise PermissionDeniedException()


def login_redirect(request: Request[Any, Any, Any], _: Exception) -> Response[Any]:
    path = request.scope["path"]
    target = "/login"
    if request.method == "GET" and path not in ("/", "/login"):
        target += "?next=" + quote(path + (f"?{request.url.query}" if request.url.query else ""))
    elif request.method != "GET":
        target += "?expired=1"
    return Redirect(target, status_code=303)


def password_redirect(_: Request[Any, Any, Any], __: Exception) -> Response[Any]:
    return Redirect("/account/password", status_code=303)


def csrf_refused(request: Request[Any, Any, Any], _: Exception) -> Response[str]:
    page = page_of(request)
    return render(
        request,
        "error.html",
        status_code=403,
        title=page.t("This form has expired"),
        message=page.t(
            "The page was open too long or came from elsewhere. Go back, reload the page "
            "and send the form again."
        ),
    )


def forbidden(request: Request[Any, Any, Any], _: Exception) -> Response[str]:
    page = page_of(request)
    return render(
        request,
        "error.html",
        status_code=403,
        title=page.t("Not allowed"),
        message=page.t("Your account may not open this page."),
    )


PAGE_EXCEPTION_HANDLERS: Final = {
    LoginRequired: login_redirect,
    PasswordChangeRequired: password_redirect,
    CsrfRefused: csrf_refused,
    PermissionDeniedException: forbidden,
}


def safe_next(target: str | None) -> str:
    """Only local paths: a login link must not send people to another site."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"
