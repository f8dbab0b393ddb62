"""Vietnamese text: NFC normalisation and an alphabetical sort key.

PostgreSQL servers differ (the embedded one has no ICU, many have no ``vi_VN`` locale), so the
sort key is computed here and stored beside the name; the database orders it byte-wise.

Order, as Vietnamese lists are conventionally sorted:
- letters follow the Vietnamese alphabet: a ă â b c d đ e ê g h i k l m n o ô ơ p q r s t u ư v x y
  (f j w z, absent from Vietnamese, sort where Latin puts them);
- tone marks only break ties: none, huyền, hỏi, ngã, sắc, nặng;
- person names sort by given name (the last word) first, then the whole name from the start.
"""

from __future__ import annotations

import unicodedata

_ALPHABET = "aăâbcdđeêfghijklmnoôơpqrstuưvwxyz"
_RANK = {ch: i for i, ch in enumerate(_ALPHABET)}
# Combining marks that make a new letter (breve, circumflex, horn) vs. tone marks.
_LETTER_MARKS = {"\u0306": "breve", "\u0302": "circumflex", "\u031b": "horn"}
_TONES = {"\u0300": 1, "\u0309": 2, "\u0303": 3, "\u0301": 4, "\u0323": 5}  # huyền hỏi ngã sắc nặng
_WITH_MARK = {
    ("a", "breve"): "ă",
    ("a", "circumflex"): "â",
    ("e", "circumflex"): "ê",
    ("o", "circumflex"): "ô",
    ("o", "horn"): "ơ",
    ("u", "horn"): "ư",
}
# Key alphabet: word separator sorts before every letter, letters before other characters.
_SEP = " "
_LETTER_BASE = 0x30
_OTHER_BASE = 0x100


def nfc(text: str) -> str:
    """NFC-normalise and collapse runs of whitespace (names arrive from many systems)."""
    return " ".join(unicodedata.normalize("NFC", text).split())


def _letters_and_tones(word: str) -> tuple[str, str]:
    primary: list[str] = []
    tones: list[str] = []
    for ch in unicodedata.normalize("NFC", word.lower()):
        decomposed = unicodedata.normalize("NFD", ch)
        base, marks = decomposed[0], decomposed[1:]
        letter = base
        tone = 0
        for mark in marks:
            if mark in _LETTER_MARKS:
                letter = _WITH_MARK.get((letter, _LETTER_MARKS[mark]), letter)
            elif mark in _TONES:
                tone = _TONES[mark]
        rank = _RANK.get(letter)
        primary.append(
            chr(_LETTER_BASE + rank) if rank is not None else chr(_OTHER_BASE + ord(letter))
        )
        tones.append(chr(_LETTER_BASE + tone))
    return "".join(primary), "".join(tones)


def sort_key(text: str) -> str:
    """A string whose byte order (``COLLATE "C"``) is Vietnamese alphabetical order."""
    words = nfc(text).split(" ")
    parts = [_letters_and_tones(w) for w in words]
    primary = _SEP.join(p for p, _ in parts)
    tones = _SEP.join(t for _, t in parts)
    # "\x1f" < separator < letters: a shorter name sorts before its extensions.
    return primary + "\x1f" + tones


def person_sort_key(full_name: str) -> str:
    """Sort key for a person's full name: by given name, then family and middle names."""
    words = nfc(full_name).split(" ")
    # "\x1e" sorts below every character of a key: the given name is compared whole
    # (letters, then tones) before the rest of the name is looked at.
    return sort_key(words[-1]) + "\x1e" + sort_key(" ".join(words))


def fold(text: str) -> str:
    """Lowercase ASCII letters for searching: every mark dropped, đ → d ("Đặng" → "dang")."""
    decomposed = unicodedata.normalize("NFD", nfc(text).lower().replace("đ", "d"))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))
