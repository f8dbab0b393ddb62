"""Results pages for people: rankings of units, a unit, a cadre; their downloads.

Every read goes through ``published.results`` (the API's read side) with the logged-in person's
principal, so a scoped personnel officer sees exactly what its API key would: a unit or a
cadre outside its subtree gets a refusal page, not the data.
"""

from __future__ import annotations

import re
from collections import Counter
from datetime import date
from typing import Any

from litestar import Controller, Request, Response, get
from litestar.params import FromPath

from evalsvc.api.deps import Conn
from evalsvc.api.export import file_response, to_csv
from evalsvc.domain.errors import DomainError, Forbidden, NotFound
from evalsvc.jobs import report_files
from evalsvc.published import results as jobs
from evalsvc.reports import labels
from evalsvc.reports.numbers import integer, score_text, two
from evalsvc.store import ballot_results, ballot_rounds, remediation, result_pages
from evalsvc.web import charts
from evalsvc.web.page import EVERYONE_LOGGED_IN, Page, page_of, render
from evalsvc.web.pages.members import level_counts, member_page
from evalsvc.web.pages.periods import PeriodMismatch, Rating, offered_periods, rating_for
from evalsvc.web.texts import N_

MEMBERS_SHOWN = 300
"""Members listed per unit page (the counts by level and the downloads hold all)."""
ROUNDS_SHOWN = 10
TALLY_ROWS_SHOWN = 300
"""A closed round with more people than this is a link to the round's page (its summary
and results are there): a city-wide round has every cadre of the city as a target."""
REMEDIATION_SHOWN = 100
ALL_MEMBERS = report_files.ALL
"""A download holds every member, as the XLSX and PDF do (not the first 100,000)."""


def refusal(request: Request[Any, Any, Any], exc: DomainError) -> Response[Any]:
    """A domain error as a page: refused (403), not found (404) or a bad choice (422)."""
    page = page_of(request)
    scoped = page.user is not None and not page.user.principal.city_wide
    unseen = isinstance(exc, NotFound) and any(p.field == "code" for p in exc.problems)
    if isinstance(exc, Forbidden) or (scoped and unseen):
        # A scoped reader learns no more than the API tells its key ("not found" outside
        # the subtree), but in words that say why it sees nothing.
        return render(
            request,
            "error.html",
            status_code=403,
            title=page.t("Outside your units"),
            message=page.t(
                "This unit or person is not in the units your account manages (or the code "
                "does not exist), so no results are shown to you."
            ),
        )
    if isinstance(exc, PeriodMismatch):
        return render(
            request,
            "error.html",
            status_code=422,
            title=page.t("Check the choice"),
            message=(
                page.t(
                    "%(year)s is rated by quarters (profile %(profile)s): choose %(instead)s "
                    "or the whole year.",
                    year=exc.asked[:4], profile=exc.profile, instead=exc.instead,
                )
                if exc.quarterly
                else page.t(
                    "%(year)s is rated by months (profile %(profile)s): choose a month such "
                    "as %(instead)s, or the whole year.",
                    year=exc.asked[:4], profile=exc.profile, instead=exc.instead,
                )
            ),
        )  # fmt: skip
    if isinstance(exc, NotFound):
        return render(
            request,
            "error.html",
            status_code=404,
            title=page.t("Not found"),
            message=page.t("Nothing was found for this choice: %(detail)s", detail=exc.detail),
        )
    return render(
        request,
        "error.html",
        status_code=422,
        title=page.t("Check the choice"),
        message=exc.detail,
    )


def score(page: Page, value: Any) -> str:
    return score_text(value, page.lang)


def level_name(page: Page, code: str | None) -> str:
    return labels.level_label(code, page.lang)


def period_name(page: Page, period: str, months_per_period: int = 1) -> str:
    if len(period) == 4:
        return page.t("Year %(year)s", year=period)
    if "-Q" in period:
        return page.t("Quarter %(q)s/%(year)s", q=period[6:], year=period[:4])
    year, month = int(period[:4]), int(period[5:7])
    if months_per_period == 3:
        return page.t("Quarter %(q)s/%(year)s", q=(month - 1) // 3 + 1, year=year)
    return f"{month:02d}/{year}" if page.lang == "vi" else f"{year}-{month:02d}"


async def _period(conn: Conn, asked: str | None) -> tuple[str | None, list[str], Rating | None]:
    """The period a page reads (the asked one, else the newest published year), the
    periods its filter offers, and how the run of that period rates.

    Raises:
        DomainError: the asked period is malformed, unpublished or does not fit the
            profile of its year (a quarter of a year rated by months).
    """
    periods = await offered_periods(conn)
    if not asked:
        years = [p for p in periods if len(p) == 4]
        asked = years[0] if years else (periods[0] if periods else None)
    if asked is None:
        return None, periods, None
    return asked, periods, await rating_for(conn, asked)


def helpers(page: Page) -> dict[str, Any]:
    return {
        "score": lambda v: score(page, v),
        "integer": integer,
        "level_name": lambda c: level_name(page, c),
        "reason_name": lambda c: labels.reason_label(c, page.lang),
        "position_name": lambda c: labels.position_label(c, page.lang),
        "period_name": lambda p, m=1: period_name(page, p, m),
    }


class ResultPages(Controller):
    include_in_schema = False

    @get("/rankings", opt=EVERYONE_LOGGED_IN)
    async def rankings(self, request: Request[Any, Any, Any], conn: Conn) -> Response[Any]:
        page = page_of(request)
        block = request.query_params.get("block") or None
        try:
            period, periods, rating = await _period(conn, request.query_params.get("period"))
        except DomainError as exc:
            return refusal(request, exc)
        blocks = await jobs.ranking_blocks(conn)
        context: dict[str, Any] = {
            "periods": periods,
            "period": period,
            "blocks": blocks,
            "block": block,
            "groups": [],
            "unranked": [],
            "run_id": None,
            "months_per_period": rating.months_per_period if rating else 1,
        }
        if period is not None:
            try:
                items, _ = await jobs.rankings(
                    conn, period=period, run=None, block=block, limit=100_000, offset=0
                )
            except DomainError as exc:
                return refusal(request, exc)
            context["unranked"] = [r for r in items if not r.get("ranked", True)]
            items = [r for r in items if r.get("ranked", True)]
            sizes = Counter(r["block"] for r in items)
            groups: dict[str, list[dict[str, Any]]] = {}
            for r in items:
                r["bar"] = charts.rank_interval(
                    integer(r["rank"]), integer(r["rank_low"]), integer(r["rank_high"]),
                    sizes[r["block"]],
                )  # fmt: skip
                groups.setdefault(r["block"], []).append(r)
            context["groups"] = list(groups.items())
            context["run_id"] = items[0]["run_id"] if items else None
        return render(request, "rankings.html", **context, **helpers(page))

    @get("/rankings/download", opt=EVERYONE_LOGGED_IN)
    async def rankings_download(self, request: Request[Any, Any, Any], conn: Conn) -> Response[Any]:
        fmt = request.query_params.get("format", "xlsx")
        period = request.query_params.get("period") or ""
        block = request.query_params.get("block") or None
        try:
            await rating_for(conn, period)
            if fmt == "csv":
                items, _ = await jobs.rankings(
                    conn, period=period, run=None, block=block, limit=100_000, offset=0
                )
                return _csv(to_csv(items, jobs.RANKING_COLUMNS, excel=True), f"xep-hang-{period}")
            report = await report_files.rankings_report_of(
                conn, period=period, run=None, block=block
            )
        except DomainError as exc:
            return refusal(request, exc)
        kind: report_files.FileFormat = "pdf" if fmt == "pdf" else "xlsx"
        return file_response(await report_files.render(report, kind), report.filename, kind)

    @get("/unit/{code:str}", opt=EVERYONE_LOGGED_IN)
    async def unit(
        self, request: Request[Any, Any, Any], conn: Conn, code: FromPath[str]
    ) -> Response[Any]:
        page = page_of(request)
        assert page.user is not None
        principal = page.user.principal
        try:
            offset = max(0, int(request.query_params.get("offset", "0")))
        except ValueError:
            offset = 0
        try:
            period, periods, rating = await _period(conn, request.query_params.get("period"))
            if period is None or rating is None:
                raise NotFound("no published results yet")
            overview = await jobs.unit_overview(conn, principal, code, period, None)
            counts = await level_counts(conn, overview["unit"], period)
            total = sum(c["count"] for c in counts)
            members = await member_page(
                conn, overview["unit"], period, members=total, limit=MEMBERS_SHOWN,
                offset=min(offset, total),
            )  # fmt: skip
        except DomainError as exc:
            return refusal(request, exc)
        result = overview["result"]
        parts: list[tuple[str, float]] = []
        adjust = None
        if result is not None and result["u"] is not None:
            parts = [(f"U{i}", float(result[f"u{i}"] or 0.0)) for i in range(1, 6)]
            diff = two(result["u"] - sum(v for _, v in parts))
            adjust = float(diff) if diff is not None and diff != 0 else None
        months = overview["months"]
        per = rating.months_per_period
        name = overview["unit"].name
        title = (
            page.t("U of %(unit)s over the quarters", unit=name)
            if rating.quarterly
            else page.t("U of %(unit)s over the months", unit=name)
        )
        chart = charts.score_chart(
            [(_tick(m["period"], per), m["u"]) for m in months],
            rating.cuts,
            rating.codes,
            title,
            [score(page, m["u"]) for m in months],
        ) if months else None  # fmt: skip
        today = date.today()
        items, open_total = await remediation.list_items(
            conn, principal, filters={"unit_or_members": code, "status": "open"},
            today=today, limit=REMEDIATION_SHOWN, offset=0,
        )  # fmt: skip
        _, overdue = await remediation.list_items(
            conn, principal, filters={"unit_or_members": code, "status": "open", "overdue": True},
            today=today, limit=1, offset=0,
        )  # fmt: skip
        rounds = await _unit_rounds(conn, principal, overview["unit"].id)
        return render(
            request,
            "unit.html",
            overview=overview,
            unit=overview["unit"],
            result=result,
            parts=parts,
            adjust=adjust,
            bar=charts.stacked_bar(parts, result["u"] if result else 0, page.t("U1 to U5"))
            if parts
            else None,
            chart=chart,
            months=months,
            members=members,
            member_total=total,
            offset=offset,
            shown=MEMBERS_SHOWN,
            counts=counts,
            remediation=items,
            open_total=open_total,
            overdue=overdue,
            rounds=rounds,
            period=period,
            periods=periods,
            months_per_period=per,
            **helpers(page),
        )

    @get("/unit/{code:str}/download", opt=EVERYONE_LOGGED_IN)
    async def unit_download(
        self, request: Request[Any, Any, Any], conn: Conn, code: FromPath[str]
    ) -> Response[Any]:
        page = page_of(request)
        assert page.user is not None
        principal = page.user.principal
        fmt = request.query_params.get("format", "xlsx")
        period = request.query_params.get("period") or ""
        try:
            await rating_for(conn, period)
            if fmt == "csv":
                items, _ = await jobs.unit_members(
                    conn, principal, code, period=period, run=None, subtree=True,
                    level=None, position=None, limit=ALL_MEMBERS, offset=0,
                )  # fmt: skip
                body = to_csv(items, jobs.MEMBER_COLUMNS, excel=True)
                return _csv(body, f"ket-qua-{code}-{period}")
            report = await report_files.members_report_of(
                conn, principal, code, period=period, run=None, subtree=True
            )
        except DomainError as exc:
            return refusal(request, exc)
        kind: report_files.FileFormat = "pdf" if fmt == "pdf" else "xlsx"
        return file_response(await report_files.render(report, kind), report.filename, kind)

    @get("/cadre/{code:str}", opt=EVERYONE_LOGGED_IN)
    async def cadre(
        self, request: Request[Any, Any, Any], conn: Conn, code: FromPath[str]
    ) -> Response[Any]:
        page = page_of(request)
        assert page.user is not None
        try:
            period, periods, rating = await _period(conn, request.query_params.get("period"))
            if period is None or rating is None:
                raise NotFound("no published results yet")
            year = period[:4]
            # The year is read whole (chart, annual rating); a chosen month or quarter is
            # the period opened and marked on the chart.
            body = await jobs.cadre_ratings(conn, page.user.principal, code, year, None)
        except DomainError as exc:
            return refusal(request, exc)
        focus = period if len(period) > 4 else None
        months = body["months"]
        for m in months:  # a rounding of 0.00 explains nothing
            m["components"] = [
                c | {"detail": detail_text(page, c["detail"])}
                for c in m["components"]
                if c["name"] != "rounding" or abs(c["points"]) >= 0.005
            ]
        per = rating.months_per_period
        marked = next((i for i, m in enumerate(months) if m["period"] == focus), None)
        chart = charts.score_chart(
            [(_tick(m["period"], per), m["score"]) for m in months],
            rating.cuts,
            rating.codes,
            page.t("Scores of %(name)s in %(year)s", name=body["cadre"]["full_name"], year=year),
            [score(page, m["score"]) for m in months],
            mark=marked,
        ) if months else None  # fmt: skip
        return render(
            request,
            "cadre.html",
            body=body,
            cadre=body["cadre"],
            annual=body["annual"],
            months=months,
            chart=chart,
            next_level=next_level(page, body["annual"], rating),
            year=year,
            period=period,
            focus=focus,
            periods=periods,
            quarterly=rating.quarterly,
            months_per_period=per,
            component_names=COMPONENT_NAMES,
            **helpers(page),
        )


COMPONENT_NAMES = {
    "task": N_("Task results (T)"),
    "general": N_("General criteria (G)"),
    "manifestation": N_("Confirmed manifestations"),
    "general_floor": N_("G kept within 0 to 30"),
    "bonus": N_("Bonus points"),
    "rounding": N_("Rounding (half-up, 2 decimals)"),
}


DETAILS = {
    "supervisor's sub-criteria": N_("sub-criteria assessed by the direct supervisor"),
    "no task basis": N_("no task basis"),
    "G kept in [0, 30]": N_("G kept within 0 to 30"),
    "bonus points": N_("Bonus points"),
    "half-up to 2 decimals": N_("half-up to 2 decimals"),
}
MANIFESTATIONS = re.compile(r"^(\d+) confirmed manifestation\(s\)$")


def detail_text(page: Page, detail: str) -> str:
    """The read side's English detail of a score part, in the reader's words (formulas
    such as 'KQ=0.9805; T = 70·min(KQ, 1)' stay as they are)."""
    if detail in DETAILS:
        return page.t(DETAILS[detail])
    found = MANIFESTATIONS.match(detail)
    if found:
        return page.t("%(n)s confirmed manifestation(s)", n=found.group(1))
    return detail


def _tick(period: str, months_per_period: int) -> str:
    """A chart's x label: the month number, or Q1-Q4 under a quarterly profile."""
    if "-Q" in period:
        return period[5:]
    month = int(period[5:7])
    return f"Q{(month - 1) // 3 + 1}" if months_per_period == 3 else str(month)


def _csv(body: bytes, filename: str) -> Response[Any]:
    return Response(
        body,
        media_type="text/csv",
        headers={"content-disposition": f'attachment; filename="{filename}.csv"'},
    )


HELD_BY = frozenset(
    {
        "gate_tasks_done", "gate_exceeded", "unremediated", "gate_late_tasks", "absence_cap",
        "leader_cap", "quota", "low_confidence_ballot", "discipline", "score_below_50",
        "degradation", "corruption_in_charge", "low_confidence",
    }
)  # fmt: skip
"""Reasons that keep a level below what the score alone would give."""


def next_level(page: Page, annual: dict[str, Any] | None, rating: Rating) -> list[str]:
    """What would reach the next level: the points missing to the next cut, and the
    conditions that held the level down this year (in the reader's words)."""
    if annual is None or annual["level"] is None:
        return []
    code = annual["level"]["code"]
    y = annual["score"]
    out: list[str] = []
    order = rating.codes  # the profile's codes, lowest first (A/B/C/D under hn3814)
    if code == order[-1]:
        return [page.t("The highest level is reached.")]
    if code not in order:  # not rated
        return [labels.reason_label(r, page.lang) for r in annual["reasons"]]
    target = order[order.index(code) + 1]
    cut = rating.cuts[order.index(code)]
    if y is not None and y < cut:
        out.append(
            page.t(
                "%(points)s more points (to %(cut)s) would reach %(level)s.",
                points=score(page, cut - y),
                cut=score(page, cut),
                level=level_name(page, target),
            )
        )
    else:
        out.append(
            page.t(
                "The score already reaches %(level)s; what held the level down:",
                level=level_name(page, target),
            )
        )
    held = [r for r in annual["reasons"] if r in HELD_BY]
    out += [labels.reason_label(r, page.lang) for r in held]
    return out


async def _unit_rounds(conn: Conn, principal: Any, unit_id: int) -> list[dict[str, Any]]:
    """The unit's newest ballot rounds (its own, read by its id: however many rounds the
    city holds); a closed round's results, only above k_min (the tally store withholds the
    rest), person by person when the round is small enough to list here."""
    if principal.role.value == "hr_system":
        return []
    rounds = await ballot_rounds.unit_rounds(conn, unit_id, ROUNDS_SHOWN)
    for r in rounds:
        if r["status"] != "closed":
            continue
        if await result_pages.tally_targets_upto(conn, r["id"], TALLY_ROWS_SHOWN + 1) > (
            TALLY_ROWS_SHOWN
        ):
            r["too_many"] = TALLY_ROWS_SHOWN
            continue
        try:
            r["tally"] = await ballot_results.list_tallies(
                conn, principal, r["id"], TALLY_ROWS_SHOWN, 0
            )
        except DomainError:
            r["tally"] = None
    return rounds
