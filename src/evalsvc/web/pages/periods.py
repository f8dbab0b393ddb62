"""Which periods the results pages offer, and how the run that holds a period rates.

A year published under a monthly profile (``nd335``) is read by its months, one under a
quarterly profile (``qd366``) by its quarters (DOMAIN part 3, "Quarterly tracking"). The
pages read that, the level cut points and the level codes from the profile stored with
the run (a variant's changed thresholds included), never from the profile's name alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import asyncpg

from evalsvc.domain.errors import FieldProblem, RuleViolation
from evalsvc.domain.recompute import PeriodSpan, parse_period, quarter_of
from evalsvc.published import results as published
from evalsvc.store import results as result_store

DEFAULT_CODES = ("KHT", "HT", "HTT", "HTXS")


class PeriodMismatch(RuleViolation):
    """A month asked of a year rated by quarters, or a quarter of one rated by months;
    ``instead`` is the period to ask for (the page says so in the reader's words)."""

    def __init__(self, asked: str, instead: str, profile: str, quarterly: bool) -> None:
        by = "quarters" if quarterly else "months"
        super().__init__(
            f"period: {asked[:4]} is rated by {by} (profile {profile}); ask for {instead}",
            [FieldProblem("period", f"rated by {by}")],
        )
        self.asked = asked
        self.instead = instead
        self.profile = profile
        self.quarterly = quarterly


@dataclass(frozen=True, slots=True)
class Rating:
    """How a run rates: its profile's name, period, level cut points and level codes."""

    profile: str
    quarterly: bool
    cuts: tuple[float, float, float]
    codes: tuple[str, str, str, str]

    @property
    def months_per_period(self) -> int:
        return 3 if self.quarterly else 1


def rating_of(run: dict[str, Any]) -> Rating:
    """The rating of a run (``store.results.get_run``) from the profile stored with it;
    a field missing there (a run stored before the field existed) comes from the built-in
    profile of the same name."""
    stored: dict[str, Any] = run.get("profile") or {}
    name = str(run.get("profile_name") or stored.get("name") or "nd335")
    cuts = stored.get("level_cuts") or published.level_cuts(name)
    period = stored.get("period") or ("quarter" if published.period_months(name) == 3 else "month")
    codes = stored.get("level_labels") or DEFAULT_CODES
    return Rating(
        profile=name,
        quarterly=period == "quarter",
        cuts=(float(cuts[0]), float(cuts[1]), float(cuts[2])),
        codes=(str(codes[0]), str(codes[1]), str(codes[2]), str(codes[3])),
    )


async def rating_for(conn: asyncpg.Connection, period: str) -> Rating:
    """The rating of the run a page reads for ``period``, after checking that the period
    fits it: a quarter of a year rated by months (or a month of a year rated by quarters)
    is refused with the period to ask for instead.

    Raises:
        RuleViolation: a malformed period; PeriodMismatch: one that does not fit.
        NotFound: nothing published for the period.
    """
    span = parse_period(period)
    run_id, _, _, _ = await published.resolve(conn, span.text, None)
    rating = rating_of(await result_store.get_run(conn, run_id))
    if span.kind == "quarter" and not rating.quarterly:
        raise PeriodMismatch(span.text, span.first_month.strftime("%Y-%m"), rating.profile, False)
    if span.kind == "month" and rating.quarterly:
        raise PeriodMismatch(span.text, quarter_of(span.first_month), rating.profile, True)
    return rating


def _sub_periods(run: dict[str, Any], rating: Rating) -> list[str]:
    """The months or quarters a published year's run holds (those it rated)."""
    first: date = run["first_month"]
    span = PeriodSpan(str(first.year), "year", first, int(run["months"]))
    starts = span.month_starts()
    if rating.quarterly:
        return [quarter_of(s) for s in starts if (s.month - 1) % 3 == 0]
    return [s.strftime("%Y-%m") for s in starts]


async def offered_periods(conn: asyncpg.Connection) -> list[str]:
    """Periods a reader can choose, newest first: the published ones and, for a published
    year, the months or the quarters its run rated."""
    out: set[str] = set()
    for period in await result_store.published_periods(conn):
        out.add(period)
        if len(period) == 4:
            run_id = await result_store.resolve_run(conn, period, None)
            run = await result_store.get_run(conn, run_id)
            out.update(_sub_periods(run, rating_of(run)))
    return sorted(out, key=lambda p: (p[:4], len(p) == 4, p), reverse=True)
