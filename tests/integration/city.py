"""A tiny city for integration tests, created through the public API."""

from __future__ import annotations

from litestar.testing import AsyncTestClient

UNITS = [
    {"code": "HN", "name": "Thành phố Hà Nội", "kind": "city"},
    {
        "code": "SNV",
        "name": "Sở Nội vụ",
        "kind": "department",
        "parent_code": "HN",
        "ranking_block": "Khối Sở",
    },
    {"code": "SNV-VP", "name": "Văn phòng Sở", "kind": "division", "parent_code": "SNV"},
    {
        "code": "PLB",
        "name": "Phường Long Biên",
        "kind": "commune_ward",
        "parent_code": "HN",
        "ranking_block": "Khối xã, phường",
    },
]
PEER_GROUPS = [{"code": "cv", "name": "Chuyên viên"}, {"code": "ld", "name": "Lãnh đạo"}]


def cadre(
    code: str, name: str, unit: str, position: str = "staff", **extra: object
) -> dict[str, object]:
    return {
        "code": code,
        "full_name": name,
        "personnel_type": "cong_chuc",
        "position": position,
        "unit_code": unit,
        "peer_group": "ld" if position != "staff" else "cv",
        **extra,
    }


async def build_city(client: AsyncTestClient, headers: dict[str, str]) -> None:  # type: ignore[type-arg]
    for path, rows in (("/peer-groups/bulk", PEER_GROUPS), ("/units/bulk", UNITS)):
        response = await client.post(path, json=rows, headers=headers)
        assert response.status_code == 200, response.text
