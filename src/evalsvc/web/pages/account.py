"""Home, login, logout, own password change, own committee key and the language switch."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath
from litestar.response import Redirect

from evalsvc.api.deps import Conn
from evalsvc.domain.accounts import session_hash
from evalsvc.domain.errors import DomainError
from evalsvc.store import ballot_committee, users
from evalsvc.web.i18n import LOCALES
from evalsvc.web.page import (
    EVERYONE_LOGGED_IN,
    PASSWORD_PAGE,
    PUBLIC_PAGE,
    page_of,
    render,
    safe_next,
)
from evalsvc.web.ratelimit import LoginLimiter
from evalsvc.web.security import LANG_COOKIE, SESSION_COOKIE, cookie, expired_cookie
from evalsvc.web.texts import problem_text


def limiter(request: Request[Any, Any, Any]) -> LoginLimiter:
    state = request.app.state
    found: LoginLimiter | None = state.get("login_limiter")
    if found is None:
        found = state.login_limiter = LoginLimiter()
    return found


def client_address(request: Request[Any, Any, Any]) -> str:
    return request.client.host if request.client else "?"


class AccountPages(Controller):
    include_in_schema = False

    @get("/", opt=PUBLIC_PAGE)
    async def home(self, request: Request[Any, Any, Any]) -> Response[Any]:
        return render(request, "home.html")

    @get("/login", opt=PUBLIC_PAGE)
    async def login_form(self, request: Request[Any, Any, Any]) -> Response[Any]:
        page = page_of(request)
        if page.user is not None:
            return Redirect(safe_next(request.query_params.get("next")), status_code=303)
        expired = request.query_params.get("expired")
        notice = page.t("Your session has ended. Log in again.") if expired else None
        return render(
            request,
            "login.html",
            next=safe_next(request.query_params.get("next")),
            username="",
            error=None,
            notice=notice,
        )

    @post("/login", opt=PUBLIC_PAGE, status_code=200)
    async def login(self, request: Request[Any, Any, Any], conn: Conn) -> Response[Any]:
        page = page_of(request)
        form = await request.form()
        username = str(form.get("username", "")).strip().lower()[:100]
        password = str(form.get("password", ""))
        target = safe_next(str(form.get("next", "/")))
        limit = limiter(request)
        address = client_address(request)
        wait = limit.wait_seconds(username, address)
        if wait:
            error = page.t(
                "Too many failed logins. Try again in %(minutes)s minutes.",
                minutes=(wait + 59) // 60,
            )
            return render(
                request,
                "login.html",
                status_code=429,
                next=target,
                username=username,
                error=error,
                notice=None,
            )
        user_id = await users.check_login(conn, username, password)
        if user_id is None:
            limit.failed(username, address)
            return render(
                request,
                "login.html",
                status_code=401,
                next=target,
                username=username,
                error=page.t("Wrong username or password, or the account is disabled."),
                notice=None,
            )
        limit.succeeded(username)
        if page.session_token:
            await users.end_session(conn, page.session_token)
        token = await users.start_session(conn, user_id)
        response: Response[Any] = Redirect(target, status_code=303)
        response.set_cookie(cookie(request, SESSION_COOKIE, token))
        return response

    @post("/logout", opt=PUBLIC_PAGE | {PASSWORD_PAGE: True}, status_code=303)
    async def logout(self, request: Request[Any, Any, Any], conn: Conn) -> Response[Any]:
        page = page_of(request)
        if page.session_token:
            await users.end_session(conn, page.session_token)
        response: Response[Any] = Redirect("/login", status_code=303)
        response.set_cookie(expired_cookie(request, SESSION_COOKIE))
        return response

    @get("/account/password", opt=EVERYONE_LOGGED_IN | {PASSWORD_PAGE: True})
    async def password_form(self, request: Request[Any, Any, Any]) -> Response[Any]:
        return render(request, "password.html", errors={}, done=False)

    @post("/account/password", opt=EVERYONE_LOGGED_IN | {PASSWORD_PAGE: True}, status_code=200)
    async def change_password(self, request: Request[Any, Any, Any], conn: Conn) -> Response[Any]:
        page = page_of(request)
        assert page.user is not None
        form = await request.form()
        current = str(form.get("current_password", ""))
        new = str(form.get("password", ""))
        errors: dict[str, str] = {}
        if new != str(form.get("password_again", "")):
            errors["password_again"] = page.t("The two new passwords differ.")
        else:
            try:
                await users.change_password(
                    conn,
                    page.user.user_id,
                    current,
                    new,
                    session_hash(page.session_token or ""),
                )
            except DomainError as exc:
                errors = {p.field: problem_text(page.t, p.reason) for p in exc.problems}
        if errors:
            return render(request, "password.html", status_code=422, errors=errors, done=False)
        page.user = await users.session_user(conn, page.session_token or "")
        return render(request, "password.html", errors={}, done=True)

    @get("/account/committee-key", opt=EVERYONE_LOGGED_IN)
    async def committee_key_form(
        self, request: Request[Any, Any, Any], conn: Conn
    ) -> Response[Any]:
        """The person's committee key: made in this browser (the private half is saved as a
        file by the person and never sent), only the public half is registered."""
        page = page_of(request)
        assert page.user is not None
        current = await ballot_committee.registered_key(conn, page.user.principal)
        return render(request, "committee_key.html", current=current, errors={}, done=False)

    @post("/account/committee-key", opt=EVERYONE_LOGGED_IN, status_code=200)
    async def register_committee_key(
        self, request: Request[Any, Any, Any], conn: Conn
    ) -> Response[Any]:
        page = page_of(request)
        assert page.user is not None
        form = await request.form()
        errors: dict[str, str] = {}
        try:
            await ballot_committee.register_key(
                conn, page.user.principal, str(form.get("public_key", ""))
            )
        except DomainError as exc:
            errors = {p.field: problem_text(page.t, p.reason) for p in exc.problems}
        current = await ballot_committee.registered_key(conn, page.user.principal)
        return render(
            request,
            "committee_key.html",
            status_code=422 if errors else 200,
            current=current,
            errors=errors,
            done=not errors,
        )

    @get("/lang/{code:str}", opt=PUBLIC_PAGE)
    async def set_language(
        self, request: Request[Any, Any, Any], code: FromPath[str]
    ) -> Response[Any]:
        target = safe_next(request.query_params.get("next"))
        response: Response[Any] = Redirect(target, status_code=303)
        if code in LOCALES:
            response.set_cookie(
                cookie(request, LANG_COOKIE, code, max_age=365 * 24 * 3600, httponly=False)
            )
        return response
