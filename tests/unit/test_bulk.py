from __future__ import annotations

import pytest

from evalsvc.domain import uploads
from evalsvc.domain.bulk import format_of, parse_upload
from evalsvc.domain.errors import InvalidInput, RuleViolation

HEADER = "code,name,kind,parent_code,ranking_block,outstanding_years\n"


def test_csv_rows_become_structs_with_defaults_for_empty_cells() -> None:
    data = (HEADER + "HN,Hà Nội,city,,,\nSNV,Sở Nội vụ,department,HN,Khối Sở,2024;2025\n").encode()
    rows = parse_upload(data, "csv", uploads.UNITS).valid_rows()
    assert [r.code for r in rows] == ["HN", "SNV"]
    assert rows[0].parent_code is None
    assert rows[1].outstanding_years == [2024, 2025]


def test_csv_header_with_unknown_and_missing_columns_is_refused() -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_upload(b"code,title\nA,B\n", "csv", uploads.UNITS).valid_rows()
    fields = {(p.field, p.reason) for p in caught.value.problems}
    assert ("title", "unknown column") in fields
    assert ("name", "required column is missing") in fields
    assert ("kind", "required column is missing") in fields


def test_row_problems_name_row_and_field() -> None:
    data = (HEADER + "HN,Hà Nội,city,,,\nbad code!,X,city,,,\nB,Y,city,,,abc\n").encode()
    with pytest.raises(RuleViolation) as caught:
        parse_upload(data, "csv", uploads.UNITS).valid_rows()
    problems = {(p.row, p.field) for p in caught.value.problems}
    assert problems == {(2, "code"), (3, "outstanding_years")}


def test_wrong_number_of_cells_is_a_row_problem() -> None:
    with pytest.raises(RuleViolation) as caught:
        parse_upload((HEADER + "HN,Hà Nội\n").encode(), "csv", uploads.UNITS).valid_rows()
    assert caught.value.problems[0].row == 1
    assert "number of cells" in caught.value.problems[0].reason


def test_non_utf8_bytes_are_reported_with_their_position() -> None:
    data = HEADER.encode() + b"HN,H\xe0 N\xf4i,city,,,\n"
    with pytest.raises(InvalidInput) as caught:
        parse_upload(data, "csv", uploads.UNITS).valid_rows()
    assert caught.value.problems[0].field == "body"
    assert "line 2" in caught.value.problems[0].reason


def test_unterminated_quote_is_malformed_csv() -> None:
    with pytest.raises(InvalidInput, match="malformed CSV"):
        parse_upload((HEADER + 'HN,"Hà Nội,city,,,\n').encode(), "csv", uploads.UNITS).valid_rows()


def test_json_rows_refuse_unknown_fields_and_wrong_types() -> None:
    data = (
        b'[{"code": "HN", "name": "H", "kind": "city", "colour": "red"},'
        b' {"code": "X", "name": 5, "kind": "city"}]'
    )
    with pytest.raises(RuleViolation) as caught:
        parse_upload(data, "json", uploads.UNITS).valid_rows()
    assert [(p.row, p.field) for p in caught.value.problems] == [(1, "colour"), (2, "name")]


def test_malformed_json_and_non_array_are_invalid_input() -> None:
    with pytest.raises(InvalidInput):
        parse_upload(b'[{"code": ', "json", uploads.UNITS).valid_rows()
    with pytest.raises(InvalidInput):
        parse_upload(b'{"code": "HN"}', "json", uploads.UNITS).valid_rows()


def test_a_unit_cannot_be_its_own_parent() -> None:
    upload = parse_upload(
        b'[{"code": "A", "name": "A", "kind": "x", "parent_code": "A"}]', "json", uploads.UNITS
    )
    assert [(p.field, p.reason) for p in upload.problems] == [
        ("parent_code", "a unit cannot be its own parent")
    ]


def test_format_follows_content_type() -> None:
    assert format_of("text/csv; charset=utf-8") == "csv"
    assert format_of("application/json") == "json"
    with pytest.raises(InvalidInput):
        format_of("application/xml")


def test_csv_problems_use_column_names_and_plain_words() -> None:
    header = (
        "code,full_name,personnel_type,position,unit_code,peer_group,party_member,"
        "employment_start,employment_end\n"
    )
    data = (
        header
        + "C1,Lê Văn Tám,cong_chuc,staff,SNV,,yes,2024-13-01,\n"
        + "C2,,cong_chuc,staff,SNV,,không,,\n"
        + "C3,Lê Văn Tám,cong_chuc,staff,SNV,,maybe,,\n"
    ).encode()
    upload = parse_upload(data, "csv", uploads.CADRES)
    assert [(p.row, p.field, p.reason) for p in upload.problems] == [
        (1, "employment_start", "expected a date as YYYY-MM-DD"),
        (2, "full_name", "is required (missing or empty)"),
        (3, "party_member", "Expected `bool`, got `str`"),
    ]
