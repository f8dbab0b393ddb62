"""The sealed invitation slip's QR code, read back as a phone would: it is the voter's link."""

from __future__ import annotations

import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest
import zxingcpp
from PIL import Image

from evalsvc.delivery.invitations import voter_link
from evalsvc.delivery.slips import render_slips
from evalsvc.domain.sheets import new_voter_code

BASE = "https://danhgia.example.gov.vn"


def test_each_slips_qr_code_is_its_voters_link(tmp_path: Path) -> None:
    if shutil.which("pdftoppm") is None:
        pytest.fail("pdftoppm (poppler-utils) is needed; scripts/test.sh installs it")
    rnd = {"title": "Quý I/2026", "closes_at": datetime(2026, 3, 31, 10, 0, tzinfo=UTC)}
    voters = [
        {"full_name": f"Nguyễn Văn {n}", "unit_name": "Phòng Tổ chức"}
        for n in ("An", "Bình", "Chi")
    ]
    codes = [new_voter_code() for _ in voters]
    pdf = tmp_path / "slips.pdf"
    pdf.write_bytes(render_slips(rnd, voters, codes, BASE))  # type: ignore[arg-type]
    subprocess.run(["pdftoppm", "-r", "150", "-png", str(pdf), str(tmp_path / "page")], check=True)
    pages = sorted(tmp_path.glob("page*.png"))
    assert len(pages) == 2  # two slips per A4 page

    found: list[list[str]] = []
    for page in pages:
        with Image.open(page) as image:
            codes_on_page = zxingcpp.read_barcodes(image)
        found.append(
            sorted(b.text for b in codes_on_page if b.format == zxingcpp.BarcodeFormat.QRCode)
        )
    assert found == [
        sorted(voter_link(BASE, c) for c in codes[:2]),
        [voter_link(BASE, codes[2])],
    ]
