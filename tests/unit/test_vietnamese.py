from __future__ import annotations

import unicodedata

from evalsvc.domain.vietnamese import nfc, person_sort_key, sort_key


def test_letters_follow_the_vietnamese_alphabet() -> None:
    words = ["Ơn", "Đặng", "Ông", "Dương", "Ăn", "Ân", "Anh", "Oanh", "Bình", "Ấn"]
    assert sorted(words, key=sort_key) == [
        "Anh",
        "Ăn",
        "Ân",
        "Ấn",
        "Bình",
        "Dương",
        "Đặng",
        "Oanh",
        "Ông",
        "Ơn",
    ]


def test_tones_only_break_ties_in_the_traditional_order() -> None:
    # ngang, huyền, hỏi, ngã, sắc, nặng
    words = ["mạ", "má", "mã", "mả", "mà", "ma"]
    assert sorted(words, key=sort_key) == ["ma", "mà", "mả", "mã", "má", "mạ"]


def test_shorter_word_sorts_before_its_extension() -> None:
    assert sorted(["Anh", "An", "Án"], key=sort_key) == ["An", "Án", "Anh"]


def test_person_names_sort_by_given_name_first() -> None:
    names = ["Nguyễn Văn Bình", "Trần Thị An", "Lê Đức Anh", "Phạm Đình An"]
    assert sorted(names, key=person_sort_key) == [
        "Phạm Đình An",
        "Trần Thị An",
        "Lê Đức Anh",
        "Nguyễn Văn Bình",
    ]


def test_decomposed_and_composed_spellings_share_one_key() -> None:
    composed = "Nguyễn Thị Ánh"
    decomposed = unicodedata.normalize("NFD", composed)
    assert decomposed != composed
    assert person_sort_key(decomposed) == person_sort_key(composed)
    assert nfc("  " + decomposed + "  ") == composed
