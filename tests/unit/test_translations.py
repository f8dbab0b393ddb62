"""Every message of the pages has its Vietnamese text, and the placeholders agree."""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
PO = ROOT / "src/evalsvc/web/locale/vi/LC_MESSAGES/messages.po"
KEYWORDS = {"_": None, "N_": None, "t": None}
METHODS = [
    ("src/evalsvc/web/**.py", "python"),
    ("src/evalsvc/delivery/**.py", "python"),
    ("src/evalsvc/web/templates/**.html", "jinja2"),
]


def test_every_page_message_is_translated() -> None:
    found = {
        m[2] for m in extract_from_dir(ROOT, METHODS, keywords=KEYWORDS) if isinstance(m[2], str)
    }
    assert len(found) > 50
    with PO.open("rb") as f:
        catalog = read_po(f, locale="vi", abort_invalid=True)
    translated = {m.id: m.string for m in catalog if m.id and m.string}
    missing = sorted(found - set(translated))
    assert not missing, f"untranslated: {missing}"
    for msgid, text in translated.items():
        assert sorted(re.findall(r"%\((\w+)\)s", msgid)) == sorted(
            re.findall(r"%\((\w+)\)s", str(text))
        ), msgid
