"""Round management for personnel officers (their subtree) and administrators; auditors read.

Create and edit a draft, open it (delivery starts), follow participation as a count, see
each voter's delivery status and re-send, close, read the tallies (k_min withholding), and
upload paper ballots with a preview of every problem before anything is stored.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from datetime import datetime, timedelta
from typing import Any, Final

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.datastructures import FormMultiDict, UploadFile
from litestar.params import FromPath
from litestar.response import Redirect

from evalsvc.api.deps import AppSettings, Conn
from evalsvc.delivery.invitations import invitations_of
from evalsvc.delivery.runner import keys_of, start_delivery
from evalsvc.delivery.slips import print_slips, slip_download
from evalsvc.domain.access import Role
from evalsvc.domain.ballots import RoundCreate, RoundUpdate
from evalsvc.domain.errors import DomainError, FieldProblem, NotFound
from evalsvc.domain.localtime import HANOI
from evalsvc.store import ballot_committee, ballot_results, ballot_rounds, ballots, choices
from evalsvc.store.ballot_rounds import form_items
from evalsvc.store.sheets import finished_voters
from evalsvc.web.page import page_of, people, render
from evalsvc.web.texts import N_, problem_text

MANAGE = people(Role.ADMIN, Role.PERSONNEL)
READ = people(Role.ADMIN, Role.PERSONNEL, Role.AUDITOR)
STATUS: Final = {"draft": N_("draft"), "open": N_("open"), "closed": N_("closed")}
DELIVERY: Final = {
    "pending": N_("waiting"),
    "sent": N_("sent"),
    "failed": N_("failed"),
    "printed": N_("slip printed"),
}
CHANNEL: Final = {"email": N_("email"), "paper": N_("sealed paper slip")}
FIELDS: Final = (
    "title",
    "unit",
    "period",
    "catalog_id",
    "opens_at",
    "closes_at",
    "k_min",
    "voting_scope",
    "voters",
    "targets",
    "paper_voters",
    "committee",
    "threshold",
)


def _local(value: datetime) -> str:
    return value.astimezone(HANOI).strftime("%Y-%m-%dT%H:%M")


def default_close(opens: datetime) -> datetime:
    """A new round's proposed end: 17:00 (end of the working day) of its opening day when
    that is at least an hour away, else 17:00 the next day (never at or before it opens)."""
    close = opens.replace(hour=17, minute=0, second=0, microsecond=0)
    return close if close - opens >= timedelta(hours=1) else close + timedelta(days=1)


def _codes(text: str) -> list[str] | None:
    codes = [c for c in text.replace(",", " ").split() if c]
    return codes or None


def round_input(form: FormMultiDict) -> tuple[dict[str, Any], dict[str, str], list[FieldProblem]]:
    """The round form as RoundCreate's fields (times are Hà Nội time), values to re-show."""
    values = {k: str(form.get(k, "")).strip() for k in FIELDS}
    values["include_subunits"] = "1" if form.get("include_subunits") else ""
    problems: list[FieldProblem] = []
    data: dict[str, Any] = {
        "title": values["title"],
        "unit": values["unit"],
        "period": values["period"],
        "include_subunits": bool(values["include_subunits"]),
        "voting_scope": values["voting_scope"] or "unit",
        "voters": _codes(values["voters"]),
        "targets": _codes(values["targets"]),
    }
    # Left empty: not given (a draft keeps what it had; a new round has none).
    if _codes(values["paper_voters"]):
        data["paper_voters"] = _codes(values["paper_voters"])
    if _codes(values["committee"]):
        data["committee"] = [u.lower() for u in _codes(values["committee"]) or []]
    if values["threshold"]:
        try:
            data["threshold"] = int(values["threshold"])
        except ValueError:
            problems.append(FieldProblem("threshold", "expected a whole number"))
    for name in ("opens_at", "closes_at"):
        try:
            data[name] = datetime.fromisoformat(values[name]).replace(tzinfo=HANOI)
        except ValueError:
            problems.append(FieldProblem(name, "expected a date and time"))
    for name in ("catalog_id", "k_min"):
        try:
            data[name] = int(values[name])
        except ValueError:
            problems.append(FieldProblem(name, "expected a whole number"))
    return data, values, problems


def _decode_problems(exc: msgspec.ValidationError) -> list[FieldProblem]:
    text = str(exc)
    if " - at `$." in text:
        reason, field = text.split(" - at `$.", 1)
        return [FieldProblem(field.rstrip("`").split("[")[0], reason)]
    if ":" in text:
        field, reason = text.split(":", 1)
        return [FieldProblem(field.strip(), reason.strip())]
    return [FieldProblem("round", text)]


class RoundPages(Controller):
    path = "/rounds"
    include_in_schema = False

    async def _form(
        self,
        request: Request[Any, Any, Any],
        conn: Conn,
        values: dict[str, str],
        errors: dict[str, str],
        round_id: int | None = None,
        status_code: int = 200,
    ) -> Response[Any]:
        page = page_of(request)
        assert page.user is not None
        return render(
            request,
            "round_form.html",
            status_code=status_code,
            values=values,
            errors=errors,
            round_id=round_id,
            units=await choices.units_for(conn, page.user.principal),
            catalogs=await choices.published_catalogs(conn),
        )

    @get("/", opt=READ)
    async def list_rounds(self, request: Request[Any, Any, Any], conn: Conn) -> Response[Any]:
        page = page_of(request)
        assert page.user is not None
        rounds, _ = await ballot_rounds.list_rounds(conn, page.user.principal, None, 200, 0)
        return render(request, "rounds.html", rounds=rounds, status_names=STATUS)

    @get("/new", opt=MANAGE)
    async def new_round(self, request: Request[Any, Any, Any], conn: Conn) -> Response[Any]:
        now = datetime.now(HANOI).replace(second=0, microsecond=0)
        catalogs = await choices.published_catalogs(conn)
        values = {
            "k_min": "5",
            "voting_scope": "unit",
            "opens_at": _local(now),
            "closes_at": _local(default_close(now)),
            "catalog_id": str(catalogs[0]["id"]) if catalogs else "",
            "period": f"{now.year}-Q{(now.month - 1) // 3 + 1}",
        }
        return await self._form(request, conn, values, {})

    async def _save(
        self, request: Request[Any, Any, Any], conn: Conn, round_id: int | None
    ) -> Response[Any]:
        page = page_of(request)
        assert page.user is not None
        data, values, problems = round_input(await request.form())
        if not problems:
            try:
                if round_id is None:
                    created = await ballot_rounds.create_round(
                        conn, page.user.principal, msgspec.convert(data, RoundCreate)
                    )
                    round_id = int(created["id"])
                else:
                    await ballot_rounds.update_round(
                        conn, page.user.principal, round_id, msgspec.convert(data, RoundUpdate)
                    )
                return Redirect(f"/rounds/{round_id}", status_code=303)
            except msgspec.ValidationError as exc:
                problems = _decode_problems(exc)
            except DomainError as exc:
                problems = exc.problems or [FieldProblem("round", exc.detail)]
        errors = {p.field: problem_text(page.t, p.reason) for p in problems}
        return await self._form(request, conn, values, errors, round_id, status_code=422)

    @post("/new", opt=MANAGE, status_code=200)
    async def create_round(self, request: Request[Any, Any, Any], conn: Conn) -> Response[Any]:
        return await self._save(request, conn, None)

    @get("/{round_id:int}/edit", opt=MANAGE)
    async def edit_round(
        self, request: Request[Any, Any, Any], conn: Conn, round_id: FromPath[int]
    ) -> Response[Any]:
        page = page_of(request)
        assert page.user is not None
        rnd = await ballot_rounds.get_round(conn, page.user.principal, round_id)
        values = {
            "title": rnd["title"],
            "unit": rnd["unit_code"],
            "period": rnd["period"],
            "catalog_id": str(rnd["catalog_id"]),
            "opens_at": _local(rnd["opens_at"]),
            "closes_at": _local(rnd["closes_at"]),
            "k_min": str(rnd["k_min"]),
            "voting_scope": rnd["voting_scope"],
            "include_subunits": "1" if rnd["include_subunits"] else "",
            "voters": "",
            "targets": "",
            "paper_voters": "",
            "committee": " ".join(m["username"] for m in rnd["committee"]),
            "threshold": str(rnd["threshold"]),
        }
        return await self._form(request, conn, values, {}, round_id)

    @post("/{round_id:int}/edit", opt=MANAGE, status_code=200)
    async def update_round(
        self, request: Request[Any, Any, Any], conn: Conn, round_id: FromPath[int]
    ) -> Response[Any]:
        return await self._save(request, conn, round_id)

    async def _detail(
        self,
        request: Request[Any, Any, Any],
        conn: Conn,
        round_id: int,
        status_code: int = 200,
        message: str | None = None,
        error: str | None = None,
        preview: dict[str, Any] | None = None,
        share: str | None = None,
        sealed_share: str | None = None,
    ) -> Response[Any]:
        page = page_of(request)
        assert page.user is not None
        principal = page.user.principal
        rnd = await ballot_rounds.get_round(conn, principal, round_id)
        mine = [m for m in rnd["committee"] if m["username"] == page.user.username]
        uploads = await ballots.list_uploads(conn, principal, round_id) if mine else []
        manager = principal.role in (Role.ADMIN, Role.PERSONNEL)
        invitations = await invitations_of(conn, round_id) if manager else []
        tallies = None
        if rnd["status"] == "closed":
            tallies = await ballot_results.list_tallies(conn, principal, round_id, 1000, 0)
        slips = await slip_download(conn, round_id)
        forms = await form_items(conn, rnd["catalog_id"])
        return render(
            request,
            "round.html",
            status_code=status_code,
            rnd=rnd,
            manager=manager,
            finished=await finished_voters(conn, round_id),
            invitations=invitations,
            paper_voters=sum(1 for i in invitations if i["channel"] == "paper"),
            tallies=tallies,
            slips=slips,
            may_print=principal.role == Role.ADMIN and rnd["opened_by"] != principal.actor,
            status_names=STATUS,
            delivery_names=DELIVERY,
            channel_names=CHANNEL,
            form_sizes={f: len(items.codes) for f, items in forms.items()},
            message=message,
            error=error,
            preview=preview,
            member=mine[0] if mine else None,
            uploads=uploads,
            share=share,
            sealed_share=sealed_share,
        )

    @get("/{round_id:int}", opt=READ)
    async def show_round(
        self, request: Request[Any, Any, Any], conn: Conn, round_id: FromPath[int]
    ) -> Response[Any]:
        return await self._detail(request, conn, round_id)

    @post("/{round_id:int}/open", opt=MANAGE, status_code=200)
    async def open_round(
        self, request: Request[Any, Any, Any], conn: Conn, round_id: FromPath[int]
    ) -> Response[Any]:
        page = page_of(request)
        assert page.user is not None
        try:
            await ballot_rounds.open_round(
                conn, page.user.principal, round_id, keys_of(request.app.state)
            )
        except DomainError as exc:
            text = "; ".join(problem_text(page.t, p.reason) for p in exc.problems) or exc.detail
            return await self._detail(request, conn, round_id, 409, error=text)
        start_delivery(request.app.state, round_id)
        return Redirect(f"/rounds/{round_id}", status_code=303)

    @post("/{round_id:int}/close", opt=MANAGE, status_code=200)
    async def close_round(
        self,
        request: Request[Any, Any, Any],
        conn: Conn,
        settings: AppSettings,
        round_id: FromPath[int],
    ) -> Response[Any]:
        page = page_of(request)
        assert page.user is not None
        form = await request.form()
        if form.get("confirm") != "yes":  # the page's checkbox, also without its `required`
            error = page.t("Tick the confirmation to close the round; nothing was changed.")
            return await self._detail(request, conn, round_id, 422, error=error)
        shares = [line.strip() for line in str(form.get("shares", "")).splitlines() if line.strip()]
        try:
            await ballot_rounds.close_round(
                conn,
                page.user.principal,
                round_id,
                keys_of(request.app.state),
                shares,
                remediation=settings.ballot_remediation,
                due_days=settings.remediation_due_days,
            )
        except DomainError as exc:
            text = "; ".join(problem_text(page.t, p.reason) for p in exc.problems)
            error = f"{exc.detail} ({text})" if text else exc.detail
            return await self._detail(request, conn, round_id, 409, error=error)
        return Redirect(f"/rounds/{round_id}#results", status_code=303)

    @post("/{round_id:int}/share", opt=READ, status_code=200)
    async def collect_share(
        self, request: Request[Any, Any, Any], conn: Conn, round_id: FromPath[int]
    ) -> Response[Any]:
        """A committee member's share, sealed to their committee key: the page opens it in
        the browser with the member's key file (a round opened before 0056: the share
        itself, shown once)."""
        page = page_of(request)
        assert page.user is not None
        try:
            got = await ballot_committee.collect_share(
                conn, keys_of(request.app.state), page.user.principal, round_id
            )
        except DomainError as exc:
            return await self._detail(request, conn, round_id, 409, error=exc.detail)
        if "sealed_share" in got:
            return await self._detail(request, conn, round_id, sealed_share=got["sealed_share"])
        return await self._detail(request, conn, round_id, share=got["share"])

    @post("/{round_id:int}/paper/{upload_id:int}/confirm", opt=READ, status_code=200)
    async def confirm_paper(
        self,
        request: Request[Any, Any, Any],
        conn: Conn,
        round_id: FromPath[int],
        upload_id: FromPath[int],
    ) -> Response[Any]:
        """A second committee member confirms a paper upload: only then does it count."""
        page = page_of(request)
        assert page.user is not None
        try:
            done = await ballots.confirm_paper(conn, page.user.principal, round_id, upload_id)
        except DomainError as exc:
            return await self._detail(request, conn, round_id, 409, error=exc.detail)
        text = page.t("%(n)s paper ballots were stored.", n=done["ballots"])
        return await self._detail(request, conn, round_id, message=text)

    @post("/{round_id:int}/send", opt=MANAGE, status_code=200)
    async def send(
        self, request: Request[Any, Any, Any], conn: Conn, round_id: FromPath[int]
    ) -> Response[Any]:
        page = page_of(request)
        assert page.user is not None
        rnd = await ballot_rounds.get_round(conn, page.user.principal, round_id)
        form = await request.form()
        voter = form.get("voter")
        if rnd["status"] != "open":
            return await self._detail(request, conn, round_id, 409)
        ids = None
        if voter:
            ids = [int(voter)]
            known = {i["voter_id"] for i in await invitations_of(conn, round_id)}
            if ids[0] not in known:
                raise NotFound("no such invitation")
        start_delivery(request.app.state, round_id, ids)
        return await self._detail(
            request, conn, round_id, message=page.t("Sending started; statuses update below.")
        )

    @get("/{round_id:int}/slips.pdf", opt=people(Role.ADMIN))
    async def slips(
        self,
        request: Request[Any, Any, Any],
        conn: Conn,
        settings: AppSettings,
        round_id: FromPath[int],
    ) -> Response[Any]:
        page = page_of(request)
        assert page.user is not None
        try:
            pdf = await print_slips(
                conn, page.user.principal, keys_of(request.app.state), settings.base_url, round_id
            )
        except DomainError as exc:
            return await self._detail(request, conn, round_id, 409, error=exc.detail)
        return Response(
            pdf,
            media_type="application/pdf",
            headers={
                "Content-Disposition": f'attachment; filename="phieu-moi-dot-{round_id}.pdf"',
                "Cache-Control": "no-store",
            },
        )

    @post("/{round_id:int}/paper", opt=READ, status_code=200)
    async def paper_preview(
        self, request: Request[Any, Any, Any], conn: Conn, round_id: FromPath[int]
    ) -> Response[Any]:
        """Check an upload and show every problem, or what would be stored; stores nothing."""
        page = page_of(request)
        assert page.user is not None
        form = await request.form()
        upload = form.get("file")
        body = b""
        if isinstance(upload, UploadFile):
            body = await upload.read()
        elif form.get("body"):
            try:
                body = base64.b64decode(str(form.get("body")), validate=True)
            except binascii.Error:
                body = b""
        if not body:
            return await self._detail(
                request, conn, round_id, 422, error=page.t("Choose a CSV file to upload.")
            )
        key = "page-" + hashlib.sha256(body).hexdigest()
        if form.get("store"):
            try:
                result = await ballots.upload_paper(
                    conn, page.user.principal, round_id, body, "text/csv", key
                )
            except DomainError as exc:
                return await self._detail(
                    request, conn, round_id, 422, preview=self._problems(page.t, exc, body)
                )
            text = page.t(
                "%(n)s paper ballots were uploaded; they count once a second committee member "
                "confirms them.",
                n=result["ballots"],
            )
            if result["replayed"]:
                text = page.t("This file was already stored; nothing was added.")
            return await self._detail(request, conn, round_id, message=text)
        try:
            checked = await ballots.check_paper_upload(conn, page.user.principal, round_id, body)
        except DomainError as exc:
            return await self._detail(
                request, conn, round_id, 422, preview=self._problems(page.t, exc, body)
            )
        preview = {
            "ok": True,
            "ballots": checked,
            "body": base64.b64encode(body).decode(),
        }
        return await self._detail(request, conn, round_id, preview=preview)

    @staticmethod
    def _problems(t: Any, exc: DomainError, body: bytes) -> dict[str, Any]:
        problems = [
            {"row": p.row, "field": p.field, "reason": problem_text(t, p.reason)}
            for p in exc.problems
        ] or [{"row": None, "field": "", "reason": exc.detail}]
        return {"ok": False, "problems": problems, "summary": exc.detail}
