"""Accounts page for administrators: list, create, disable, reset a password.

A new or reset password is shown once on the answer page, for the administrator to hand
over; the person must change it at their first login.
"""

from __future__ import annotations

import contextlib
from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath

from evalsvc.api.deps import Conn
from evalsvc.domain.access import Role
from evalsvc.domain.accounts import temporary_password
from evalsvc.domain.errors import DomainError
from evalsvc.store import choices, users
from evalsvc.web.page import page_of, people, render
from evalsvc.web.texts import N_, problem_text

ADMINS = people(Role.ADMIN)
ROLE_NAMES = {
    "admin": N_("Administrator"),
    "personnel": N_("Personnel officer"),
    "auditor": N_("Auditor"),
    "hr_system": N_("HR system operator"),
}


class UserPages(Controller):
    path = "/admin/users"
    include_in_schema = False

    async def _list(
        self,
        request: Request[Any, Any, Any],
        conn: Conn,
        status_code: int = 200,
        errors: dict[str, str] | None = None,
        values: dict[str, str] | None = None,
        shown: dict[str, str] | None = None,
    ) -> Response[Any]:
        page = page_of(request)
        assert page.user is not None
        return render(
            request,
            "users.html",
            status_code=status_code,
            accounts=await users.list_users(conn),
            units=await choices.units_for(conn, page.user.principal),
            roles=ROLE_NAMES,
            errors=errors or {},
            values=values or {},
            shown=shown,
        )

    @get("/", opt=ADMINS)
    async def list_users(self, request: Request[Any, Any, Any], conn: Conn) -> Response[Any]:
        return await self._list(request, conn)

    @post("/", opt=ADMINS, status_code=200)
    async def create_user(self, request: Request[Any, Any, Any], conn: Conn) -> Response[Any]:
        page = page_of(request)
        assert page.user is not None
        form = await request.form()
        values = {
            k: str(form.get(k, "")).strip() for k in ("username", "full_name", "role", "unit")
        }
        errors: dict[str, str] = {}
        if values["role"] not in ROLE_NAMES:
            errors["role"] = page.t("Choose a role.")
        if errors:
            return await self._list(request, conn, 422, errors, values)
        password = temporary_password()
        try:
            await users.create_user(
                conn,
                values["username"],
                values["full_name"],
                Role(values["role"]),
                values["unit"] or None,
                password,
                page.user.principal.actor,
            )
        except DomainError as exc:
            errors = {p.field: problem_text(page.t, p.reason) for p in exc.problems}
            return await self._list(request, conn, 422, errors, values)
        shown = {"username": values["username"].lower(), "password": password}
        return await self._list(request, conn, shown=shown)

    @post("/{user_id:int}/disable", opt=ADMINS, status_code=200)
    async def disable(
        self, request: Request[Any, Any, Any], conn: Conn, user_id: FromPath[int]
    ) -> Response[Any]:
        page = page_of(request)
        assert page.user is not None
        if user_id == page.user.user_id:
            return await self._list(
                request, conn, 422, {"list": page.t("You cannot disable your own account.")}
            )
        with contextlib.suppress(DomainError):  # already disabled: the list shows it
            await users.disable_user(conn, user_id)
        return await self._list(request, conn)

    @post("/{user_id:int}/enable", opt=ADMINS, status_code=200)
    async def enable(
        self, request: Request[Any, Any, Any], conn: Conn, user_id: FromPath[int]
    ) -> Response[Any]:
        with contextlib.suppress(DomainError):
            await users.enable_user(conn, user_id)
        return await self._list(request, conn)

    @post("/{user_id:int}/reset", opt=ADMINS, status_code=200)
    async def reset(
        self, request: Request[Any, Any, Any], conn: Conn, user_id: FromPath[int]
    ) -> Response[Any]:
        password = temporary_password()
        await users.reset_password(conn, user_id, password)
        row = await conn.fetchval("select username from users where id = $1", user_id)
        return await self._list(request, conn, shown={"username": row, "password": password})
