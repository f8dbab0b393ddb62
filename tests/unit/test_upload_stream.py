"""The streamed reading of bulk uploads gives what reading the whole body gives, however the
body is cut into pieces, while holding only a few batches."""

from __future__ import annotations

import random

import msgspec
import pytest

from evalsvc.domain import upload_stream, uploads
from evalsvc.domain.bulk import Upload, parse_upload
from evalsvc.domain.errors import InvalidInput, RuleViolation, TooLarge
from evalsvc.domain.upload_stream import RowStream, stream_format_of

HEADER = "code,name,kind,parent_code,ranking_block,outstanding_years\n"


@pytest.fixture(autouse=True)
def small_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Cut every few hundred characters and batch every 7 rows, so every case crosses cuts."""
    monkeypatch.setattr(upload_stream, "CUT_CHARS", 200)
    monkeypatch.setattr(upload_stream, "BATCH_ROWS", 7)


def pieces(data: bytes, seed: int) -> list[bytes]:
    rnd = random.Random(seed)
    out, at = [], 0
    while at < len(data):
        step = rnd.randint(1, 90)
        out.append(data[at : at + step])
        at += step
    return out


def stream(data: bytes, fmt: upload_stream.StreamFormat, seed: int = 1) -> list[Upload[object]]:
    rows = RowStream(fmt, uploads.UNITS)
    batches = [b for piece in pieces(data, seed) for b in rows.feed(piece)]
    return batches + rows.finish()


def body(n: int) -> bytes:
    lines = [HEADER]
    for i in range(n):
        # quoted cells with commas, quotes and line breaks, and two-byte characters
        name = f'"Phòng ""số"" {i},\nđội {i}"' if i % 3 == 0 else f"Ủy ban {i}"
        lines.append(f"U{i},{name},ward,,,{'2024;2025' if i % 4 == 0 else ''}\n")
        if i % 10 == 5:
            lines.append("\n")  # blank lines are no rows
    return "".join(lines).encode()


@pytest.mark.parametrize("seed", range(6))
def test_streamed_csv_equals_whole_parse(seed: int) -> None:
    data = body(60)
    whole = parse_upload(data, "csv", uploads.UNITS)
    batches = stream(data, "csv", seed)
    assert all(len(b.rows) + len(b.problems) <= 7 for b in batches)
    assert [n for b in batches for n in b.numbers] == whole.numbers
    assert [r for b in batches for r in b.rows] == whole.rows


def test_row_numbers_of_problems_count_across_batches() -> None:
    data = body(30).replace(b"U20,", b"bad code!,")
    batches = stream(data, "csv")
    problems = [p for b in batches for p in b.problems]
    assert [(p.row, p.field) for p in problems] == [(21, "code")]


def test_bad_bytes_are_located_in_the_whole_body() -> None:
    data = body(40)
    at = len(data) - 30
    broken = data[:at] + b"\xff" + data[at + 1 :]
    with pytest.raises(InvalidInput) as caught:
        stream(broken, "csv")
    assert f"byte {at} " in caught.value.detail


def test_a_quoted_cell_left_open_is_malformed_csv() -> None:
    with pytest.raises(InvalidInput, match="malformed CSV"):
        stream((HEADER + 'A,"open,ward,,,\n' + "B,b,ward,,,\n" * 50).encode(), "csv")


def test_ndjson_rows_stream_and_bad_lines_name_their_line() -> None:
    rows = [{"code": f"U{i}", "name": f"Ủy ban {i}", "kind": "ward"} for i in range(40)]
    data = b"\n".join(msgspec.json.encode(r) for r in rows) + b"\n"
    batches = stream(data, "ndjson")
    assert [r.code for b in batches for r in b.rows] == [r["code"] for r in rows]
    with pytest.raises(InvalidInput, match="line 3"):
        stream(data.replace(b'{"code":"U2"', b'{"code":U2'), "ndjson")


def test_json_arrays_are_read_whole_up_to_their_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    rows = [{"code": f"U{i}", "name": "X", "kind": "ward"} for i in range(20)]
    data = msgspec.json.encode(rows)
    assert len([r for b in stream(data, "json") for r in b.rows]) == 20
    assert (
        len([r for b in stream(msgspec.json.encode({"rows": rows}), "json") for r in b.rows]) == 20
    )
    monkeypatch.setattr(upload_stream, "MAX_JSON_ARRAY_BYTES", len(data) - 1)
    with pytest.raises(TooLarge, match="CSV"):
        stream(data, "json")


def test_an_upload_without_rows_is_refused() -> None:
    with pytest.raises(RuleViolation, match="no rows"):
        stream(HEADER.encode(), "csv")
    with pytest.raises(InvalidInput, match="header"):
        stream(b"", "csv")


def test_content_types() -> None:
    assert stream_format_of("text/csv; charset=utf-8") == "csv"
    assert stream_format_of("application/x-ndjson") == "ndjson"
    assert stream_format_of(None) == "json"
    with pytest.raises(InvalidInput):
        stream_format_of("application/xml")
