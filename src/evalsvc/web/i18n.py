"""Translations of the pages: Vietnamese by default, English on request.

Message ids are English; ``locale/vi/LC_MESSAGES/messages.po`` holds the Vietnamese text.
The ``.po`` file is compiled in memory by Babel when first used, so the package ships only
text (``pybabel extract -F babel.cfg -o messages.pot src/evalsvc`` finds new messages).
"""

from __future__ import annotations

import gettext
import io
from datetime import date, datetime
from functools import cache
from importlib import resources
from typing import Any, Final

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

from evalsvc.domain.localtime import HANOI

LOCALES: Final = ("vi", "en")
DEFAULT_LOCALE: Final = "vi"
LOCALE_NAMES: Final = {"vi": "Tiếng Việt", "en": "English"}


@cache
def translations(locale: str) -> gettext.NullTranslations:
    if locale == "en":
        return gettext.NullTranslations()
    path = resources.files("evalsvc.web") / "locale" / locale / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as po:
        catalog = read_po(po, locale=locale)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(fp=buffer)


def pick_locale(cookie: str | None, accept_language: str = "") -> str:
    """The cookie's choice; else Vietnamese (the service's users are Vietnamese civil
    servants: a browser set to English does not switch the pages by itself)."""
    return cookie if cookie in LOCALES else DEFAULT_LOCALE


class Translator:
    """``_`` for templates and handlers: gettext, then ``%(name)s`` filled in."""

    def __init__(self, locale: str) -> None:
        self.locale = locale
        self._t = translations(locale)

    def __call__(self, message: str, **values: Any) -> str:
        text = self._t.gettext(message)
        return text % values if values else text

    def ngettext(self, singular: str, plural: str, n: int, **values: Any) -> str:
        text = self._t.ngettext(singular, plural, n)
        return text % ({"n": n} | values)

    def datetime(self, value: datetime | None) -> str:
        if value is None:
            return ""
        local = value.astimezone(HANOI)
        return f"{local:%d/%m/%Y %H:%M}" if self.locale == "vi" else f"{local:%Y-%m-%d %H:%M}"

    def date(self, value: date | None) -> str:
        if value is None:
            return ""
        return f"{value:%d/%m/%Y}" if self.locale == "vi" else f"{value:%Y-%m-%d}"
