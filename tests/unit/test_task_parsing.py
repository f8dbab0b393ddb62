"""Parsing task blocks without a database: fast and csv-module paths agree; chunking."""

from __future__ import annotations

import numpy as np
import pytest

from evalsvc.domain.errors import InvalidInput
from evalsvc.domain.tasks import CsvHeader, LineChunker, Problems, parse_csv_block, utf8_nfc

HEADER = (
    b"source_system,external_id,cadre_code,month,product_code,k,assigned,done,exceeded,"
    b"errors_counted,errors_objective,errors_confirmed_by,delays_counted,delays_objective,"
    b"delays_confirmed_by\n"
)
ROWS = (
    b"hr,e1,A1,2026-05,P1,1.5,10,8,false,1,0,,0,0,\n"
    b"hr,e2,A2,2026-06,P2,2,3,4,TRUE,0,1,Ms Lan,2,0,\n"
    b"hr,e3,A3,2026-05,P3,1e0, 7 ,7,,,,,,,\n"
)


def columns(block: bytes) -> dict[str, list[object]]:
    problems = Problems()
    cols = parse_csv_block(block, CsvHeader(HEADER, None), 1, problems)
    assert cols is not None, problems.items
    out: dict[str, list[object]] = {}
    for name, value in vars(cols).items():
        out[name] = value.to_list() if hasattr(value, "to_list") else np.asarray(value).tolist()
    return out


def test_fast_and_quoted_paths_agree() -> None:
    fast = columns(ROWS)
    quoted = columns(ROWS.replace(b"Ms Lan", b'"Ms Lan"'))
    assert fast == quoted
    assert fast["k"] == [1.5, 2.0, 1.0]
    assert fast["assigned"] == [10.0, 3.0, 7.0]  # " 7 " goes through float()
    assert fast["exceeded"] == [False, True, False]
    assert fast["month"] == [202605, 202606, 202605]
    assert fast["errors_confirmed_by"] == [b"", b"Ms Lan", b""]


def test_ragged_row_is_named() -> None:
    problems = Problems()
    block = ROWS + b"hr,e4,A1,2026-05\n"
    assert parse_csv_block(block, CsvHeader(HEADER, None), 1, problems) is None
    assert [(p.row, p.field) for p in problems.items] == [(4, "row")]
    assert problems.malformed


def test_chunker_keeps_quoted_line_breaks_and_detects_truncation() -> None:
    chunker = LineChunker(target=10)
    data = b'a,"x\ny",1\nb,2,3\nc,4,5\n'
    blocks = [b for i in range(0, len(data), 4) for b in chunker.feed(data[i : i + 4])]
    blocks += list(chunker.finish())
    assert b"".join(blocks) == data
    assert all(b.count(b'"') % 2 == 0 for b in blocks)
    chunker = LineChunker(target=10)
    list(chunker.feed(b"a,1\nb,2"))
    with pytest.raises(InvalidInput, match="truncated"):
        list(chunker.finish())


def test_chunker_without_quotes_cuts_at_the_last_line_break() -> None:
    data = b"".join(b"row%d,%d\n" % (i, i * 7) for i in range(500))
    for piece in (1, 3, 64, 1000):
        chunker = LineChunker(target=100)
        blocks = [b for i in range(0, len(data), piece) for b in chunker.feed(data[i : i + piece])]
        blocks += list(chunker.finish())
        assert b"".join(blocks) == data
        assert all(b.endswith(b"\n") for b in blocks)
        assert len(blocks) > 1


def test_utf8_nfc_checks_only_lines_with_non_ascii_bytes() -> None:
    ascii_block = b"a,1\nb,2\n"
    assert utf8_nfc(ascii_block, 1, Problems()) is ascii_block
    nfc = "a,Hà Nội\nb,2\nc,Trưởng phòng\n".encode()
    assert utf8_nfc(nfc, 1, Problems()) is nfc
    decomposed = "a,1\nb,Ha\u0300 No\u0323\u0302i\nc,3\n"
    assert utf8_nfc(decomposed.encode(), 1, Problems()) == "a,1\nb,Hà Nội\nc,3\n".encode()
    problems = Problems()
    assert utf8_nfc(b"a,1\nb,\xc3\nc,\xc3\xa0\n", 5, problems) is None
    assert [(p.row, p.field) for p in problems.items] == [(6, "body")]
    assert problems.malformed
    mostly = ("à" * 50 + "\n").encode()
    assert utf8_nfc(mostly, 1, Problems()) is mostly
