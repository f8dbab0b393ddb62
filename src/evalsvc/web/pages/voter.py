"""The voter's sheet: ``/phieu/<code>`` (or the code typed on ``/phieu``).

Works without JavaScript: one form, every colleague, one POST. The code in the path is the
voter's only credential; the page sets ``Referrer-Policy: no-referrer`` so it never leaks
to another site, and the server's access log records the route's template, never the code
(``api/observe.py``).
"""

from __future__ import annotations

from typing import Any, Final

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import FormMultiDict
from litestar.params import FromPath
from litestar.response import Redirect

from evalsvc.api.deps import Conn
from evalsvc.delivery.runner import keys_of
from evalsvc.domain.ballots import (
    CONFIDENCE_CODES,
    LEVEL_CODES,
    MAX_COMMENT_CHARS,
    BallotSubmit,
)
from evalsvc.domain.errors import Conflict, DomainError, FieldProblem, Forbidden
from evalsvc.domain.sheets import SheetSubmit, normalize_voter_code
from evalsvc.store import ballot_sheets, sheets
from evalsvc.web.page import PASSWORD_PAGE, PUBLIC_PAGE, page_of, render
from evalsvc.web.texts import N_, problem_text

VOTER_PAGE: Final = PUBLIC_PAGE | {PASSWORD_PAGE: True}
NO_REFERRER: Final = {"Referrer-Policy": "no-referrer"}
MARKS: Final = ("observed", "not_observed", "no_basis")
GROUP_TITLES: Final = {
    1: N_("Group 1. Violations of discipline and order"),
    2: N_("Group 2. Avoiding, shirking, pushing work onto others, lack of responsibility"),
    3: N_("Group 3. Violating the protection of dynamic, creative cadres"),
}
LEVELS: Final = {
    "HTXS": N_("Excellently completed duties"),
    "HTT": N_("Well completed duties"),
    "HT": N_("Completed duties"),
    "KHT": N_("Did not complete duties"),
}
CONFIDENCES: Final = {
    "high": N_("High confidence"),
    "normal": N_("Confidence"),
    "low": N_("Low confidence"),
}
POSITIONS: Final = {"head": N_("Head"), "deputy": N_("Deputy"), "staff": N_("Staff")}


def sheet_from_form(form: FormMultiDict) -> tuple[SheetSubmit, list[FieldProblem]]:
    """The posted form as a sheet, and the problems only a form can have (unknown values)."""
    problems: list[FieldProblem] = []
    ballots = []
    for target in form.getall("t", []):
        target = str(target)
        marks: dict[str, Any] = {}
        prefix = f"m.{target}."
        for key in form:
            if key.startswith(prefix):
                value = str(form.get(key))
                item = key[len(prefix) :]
                if value not in MARKS:
                    problems.append(FieldProblem(f"ballots.{target}.marks.{item}", "unknown mark"))
                elif value != "not_observed":
                    marks[item] = value
        level = str(form.get(f"level.{target}", "")) or None
        if level is not None and level not in LEVEL_CODES:
            problems.append(FieldProblem(f"ballots.{target}.level", "unknown level"))
            level = None
        confidence = str(form.get(f"conf.{target}", "")) or None
        if confidence is not None and confidence not in CONFIDENCE_CODES:
            problems.append(FieldProblem(f"ballots.{target}.confidence", "unknown confidence"))
            confidence = None
        comment = str(form.get(f"comment.{target}", ""))  # its length: check_sheet
        ballots.append(
            BallotSubmit(
                target=target,
                marks=marks,
                level=level,  # type: ignore[arg-type]
                confidence=confidence,  # type: ignore[arg-type]
                comment=comment or None,
            )
        )
    return SheetSubmit(ballots=ballots), problems


class VoterPages(Controller):
    path = "/phieu"
    include_in_schema = False

    @get("/", opt=VOTER_PAGE)
    async def enter_code(self, request: Request[Any, Any, Any]) -> Response[Any]:
        typed = request.query_params.get("ma")
        error = None
        if typed is not None:
            code = normalize_voter_code(typed)
            if code is not None:
                return Redirect(f"/phieu/{code}", status_code=303, headers=NO_REFERRER)
            error = page_of(request).t(
                "This is not a ballot code: it has 25 letters and digits, as printed on your slip."
            )
        return render(
            request,
            "voter_code.html",
            status_code=422 if error else 200,
            error=error,
            headers=NO_REFERRER,
        )

    async def _show(
        self,
        request: Request[Any, Any, Any],
        conn: Conn,
        code: str,
        status_code: int = 200,
        errors: dict[str, str] | None = None,
        values: dict[str, str] | None = None,
        notice: str | None = None,
    ) -> Response[Any]:
        page = page_of(request)
        try:
            view = await sheets.sheet_view(conn, keys_of(request.app.state), code)
        except Forbidden:
            return render(
                request,
                "error.html",
                status_code=404,
                headers=NO_REFERRER,
                title=page.t("Unknown ballot code"),
                message=page.t(
                    "This code is not valid. Check the link or the code on your slip; if you "
                    "were sent a new invitation, only the newest one works."
                ),
            )
        return render(
            request,
            "voter_sheet.html",
            status_code=status_code,
            headers=NO_REFERRER,
            view=view,
            code=code,
            errors=errors or {},
            values=values or {},
            notice=notice,
            group_titles=GROUP_TITLES,
            levels=LEVELS,
            confidences=CONFIDENCES,
            positions=POSITIONS,
            max_comment=MAX_COMMENT_CHARS,
            public_key=await ballot_sheets.public_key_b64(conn, view.round_id),
            form_codes={f: [i["code"] for i in items] for f, items in view.forms.items()},
            sealed=request.query_params.get("sealed"),
            receipt=request.query_params.get("receipt"),
        )

    @get("/{code:str}", opt=VOTER_PAGE)
    async def show_sheet(
        self, request: Request[Any, Any, Any], conn: Conn, code: FromPath[str]
    ) -> Response[Any]:
        return await self._show(request, conn, code)

    @post("/{code:str}", opt=VOTER_PAGE, status_code=200)
    async def hand_in(
        self, request: Request[Any, Any, Any], conn: Conn, code: FromPath[str]
    ) -> Response[Any]:
        page = page_of(request)
        form = await request.form()
        sheet, problems = sheet_from_form(form)
        values = {k: str(v) for k, v in form.items() if k != "_csrf"}
        if not problems:
            try:
                done = await sheets.submit_sheet(conn, keys_of(request.app.state), code, sheet)
            except Conflict as exc:
                # Already handed in, or the round is closed: the page shows which.
                return await self._show(request, conn, code, status_code=409, notice=exc.detail)
            except Forbidden:
                return await self._show(request, conn, code)
            except DomainError as exc:
                problems = exc.problems
            else:
                return Redirect(
                    f"/phieu/{code}?done=1&sealed=server&receipt={done['receipt']}",
                    status_code=303,
                    headers=NO_REFERRER,
                )
        errors = {p.field: problem_text(page.t, p.reason) for p in problems}
        return await self._show(request, conn, code, status_code=422, errors=errors, values=values)
