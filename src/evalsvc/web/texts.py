"""Reasons from the domain (English, with values) as sentences for the pages.

Domain and store errors say what is wrong in English with the values filled in (they are
also the API's answers). Pages show them in the reader's language: each pattern below maps
a reason to a message id of the catalogs; a reason without a pattern is shown as it is.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, Final

Gettext = Callable[..., str]


def N_(message: str) -> str:  # noqa: N802 (the gettext convention)
    """Marks a message id for extraction; translated later, where the reader is known."""
    return message


_PATTERNS: Final[list[tuple[re.Pattern[str], str]]] = [
    (re.compile(r"^unknown mark$"), N_("unknown mark")),
    (re.compile(r"^expected a date and time$"), N_("expected a date and time")),
    (re.compile(r"^expected a whole number$"), N_("expected a whole number")),
    (re.compile(r"^unknown level$"), N_("unknown level")),
    (re.compile(r"^unknown confidence$"), N_("unknown confidence")),
    (re.compile(r"^at least (?P<n>\d+) characters$"), N_("at least %(n)s characters")),
    (re.compile(r"^at most (?P<n>\d+) characters$"), N_("at most %(n)s characters")),
    (re.compile(r"^does not match$"), N_("does not match")),
    (re.compile(r"^must not be the username$"), N_("must not be the username")),
    (re.compile(r"^must differ from the current one$"), N_("must differ from the current one")),
    (re.compile(r"^taken$"), N_("this username is taken")),
    (
        re.compile(r"^2 to 63 characters: .*"),
        N_("2 to 63 characters: letters a-z without accents, digits, '.', '_' or '-'"),
    ),
    (re.compile(r"^role \S+ needs the unit subtree it acts in$"), N_("this role needs a unit")),
    (re.compile(r"^role \S+ is city-wide and takes no unit$"), N_("this role takes no unit")),
    (re.compile(r"^no unit with code '(?P<code>.*)'$"), N_("no unit with code %(code)s")),
    (re.compile(r"^unknown item '(?P<code>.*)'$"), N_("unknown item %(code)s")),
    (
        re.compile(r"^item '(?P<code>.*)' belongs to the \w+ form.*$"),
        N_("item %(code)s is not on this form"),
    ),
    (
        re.compile(r"^not one of your colleagues in this round$"),
        N_("not one of your colleagues in this round"),
    ),
    (
        re.compile(r"^missing: every colleague needs a ballot$"),
        N_("every colleague needs a ballot"),
    ),
    (re.compile(r"^listed twice$"), N_("listed twice")),
    (re.compile(r"^must be after opens_at$"), N_("must be after the opening time")),
    (re.compile(r"^expected YYYY-MM, YYYY-Qn or YYYY$"), N_("expected YYYY-MM, YYYY-Qn or YYYY")),
    (
        re.compile(r"^'(?P<code>.*)' is not a cadre of the round's units$"),
        N_("%(code)s is not a cadre of the round's units"),
    ),
    (
        re.compile(r"^'(?P<code>.*)' is not a target of this round$"),
        N_("%(code)s is not a target of this round"),
    ),
    (re.compile(r"^only 1, 0 and x are allowed$"), N_("only 1, 0 and x are allowed")),
    (
        re.compile(r"^(?P<got>\d+) marks; the (?P<form>\w+) form has (?P<want>\d+) items$"),
        N_("%(got)s marks; the form has %(want)s items"),
    ),
    (re.compile(r"^longer than (?P<n>\d+) characters$"), N_("longer than %(n)s characters")),
    (
        re.compile(r"^unknown value '(?P<value>.*)'; expected one of (?P<allowed>.*) or empty$"),
        N_("unknown value %(value)s; expected one of %(allowed)s or empty"),
    ),
    (re.compile(r"^unknown column$"), N_("unknown column")),
    (re.compile(r"^missing column$"), N_("missing column")),
    (
        re.compile(r"^'(?P<code>.*)' would have more ballots than its (?P<n>\d+) eligible voters$"),
        N_("%(code)s would have more ballots than its %(n)s eligible voters"),
    ),
    (re.compile(r"^expected (?P<n>\d+) fields$"), N_("expected %(n)s fields")),
]


def problem_text(t: Gettext, reason: str) -> str:
    for pattern, message in _PATTERNS:
        match = pattern.match(reason)
        if match:
            values: dict[str, Any] = {k: v for k, v in match.groupdict().items() if v is not None}
            return t(message, **values)
    return reason
