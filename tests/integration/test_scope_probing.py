"""A bulk write naming another subtree's unit or cadre answers exactly as one naming a code
that does not exist (issue 16: a scoped key must not probe which codes exist elsewhere).

Every bulk write of the API is here, sent by DEP-B's scoped keys (personnel and HR system)
naming DEP-A's objects, then the same body with a code nobody has: status and body must be
the same once the code itself is swapped. Where the row's own key is taken elsewhere (a
unit or cadre code, a task record's key), the answer cannot read as unknown (an unknown key
would be created): it is a 422 "already in use" that names nothing of the other subtree.
"""

from __future__ import annotations

from typing import Any

import asyncpg
import msgspec
import pytest
from litestar.testing import AsyncTestClient

from evalsvc.domain.access import Role
from tests.conftest import make_key
from tests.integration.tasks_helpers import HEADER as TASK_HEADER
from tests.integration.tasks_helpers import make_city, row

Client = AsyncTestClient  # type: ignore[type-arg]
MISSING = "NO-SUCH-CODE"
SECRET = "Nguyễn Bí Mật"

# path, body template ({code}: the code named), content type, roles allowed to call it
CASES: dict[str, tuple[str, str, str, tuple[Role, ...]]] = {
    "unit parent": (
        "/units/bulk",
        '[{"code": "B-NEW", "name": "Tổ mới", "kind": "team", "parent_code": "{code}"}]',
        "application/json",
        (Role.PERSONNEL,),
    ),
    "cadre unit": (
        "/cadres/bulk",
        '[{"code": "B-C9", "full_name": "Lê Văn Chín", "personnel_type": "cong_chuc",'
        ' "position": "staff", "unit_code": "{code}"}]',
        "application/json",
        (Role.PERSONNEL, Role.HR_SYSTEM),
    ),
    "assessment": (
        "/assessments/bulk",
        "cadre_code,month,politics,capacity,innovation\n{code},2026-05,8,8,8\n",
        "text/csv",
        (Role.PERSONNEL, Role.HR_SYSTEM),
    ),
    "discipline": (
        "/discipline/bulk",
        '[{"cadre_code": "{code}", "form": "khien_trach", "track": "party",'
        ' "violation_id": "V1", "decided_on": "2026-03-01", "effective_on": "2026-03-02"}]',
        "application/json",
        (Role.PERSONNEL, Role.HR_SYSTEM),
    ),
    "confidence vote": (
        "/confidence-votes/bulk",
        '[{"cadre_code": "{code}", "vote_date": "2026-04-01", "eligible": 10, "present": 9,'
        ' "high": 5, "medium": 3, "low": 1}]',
        "application/json",
        (Role.PERSONNEL, Role.HR_SYSTEM),
    ),
    "unit indicator": (
        "/unit-indicators/bulk",
        '[{"unit_code": "{code}", "month": "2026-05", "satisfaction_pct": 90}]',
        "application/json",
        (Role.PERSONNEL, Role.HR_SYSTEM),
    ),
    "remediation cadre": (
        "/remediation/bulk",
        '[{"origin": "inspection", "description": "Khắc phục", "identified_on": "2026-01-05",'
        ' "due_on": "2026-06-30", "cadre_code": "{code}"}]',
        "application/json",
        (Role.PERSONNEL, Role.HR_SYSTEM),
    ),
    "remediation unit": (
        "/remediation/bulk",
        '[{"origin": "inspection", "description": "Khắc phục", "identified_on": "2026-01-05",'
        ' "due_on": "2026-06-30", "unit_code": "{code}"}]',
        "application/json",
        (Role.PERSONNEL, Role.HR_SYSTEM),
    ),
    "task record": (
        "/tasks/batches",
        TASK_HEADER + row("probe-1", "{code}"),
        "text/csv",
        (Role.PERSONNEL, Role.HR_SYSTEM),
    ),
}
TARGET = {"unit parent": "DEP-A", "cadre unit": "DEP-A", "unit indicator": "DEP-A"}
TARGET |= {"remediation unit": "DEP-A"}


def answer(response: Any, code: str) -> tuple[int, str]:
    """Status and body with the named code swapped out (and the request id dropped)."""
    return response.status_code, response.text.replace(code, "<code>")


@pytest.mark.parametrize("case", sorted(CASES))
async def test_another_subtrees_code_answers_as_an_unknown_one(
    client: Client, conn: asyncpg.Connection, case: str
) -> None:
    await make_city(conn)
    await conn.execute("update cadres set full_name = $1 where code = 'A1'", SECRET)
    path, template, ctype, roles = CASES[case]
    target = TARGET.get(case, "A1")
    for role in roles:
        headers = await make_key(conn, role, "DEP-B") | {"content-type": ctype}
        outside = await client.post(
            path, content=template.replace("{code}", target), headers=headers
        )
        unknown = await client.post(
            path, content=template.replace("{code}", MISSING), headers=headers
        )
        assert outside.status_code == 422, (role, outside.text)
        assert answer(outside, target) == answer(unknown, MISSING), role
        assert SECRET not in outside.text


async def test_a_key_in_use_elsewhere_is_refused_without_naming_it(
    client: Client, conn: asyncpg.Connection
) -> None:
    await make_city(conn)
    await conn.execute("update cadres set full_name = $1 where code = 'A1'", SECRET)
    personnel_b = await make_key(conn, Role.PERSONNEL, "DEP-B")
    admin = await make_key(conn, Role.ADMIN)
    unit = [{"code": "DEP-A", "name": "Chiếm", "kind": "team", "parent_code": "DEP-B"}]
    cadre = [
        {
            "code": "A1",
            "full_name": "Chiếm Chỗ",
            "personnel_type": "cong_chuc",
            "position": "staff",
            "unit_code": "DEP-B",
        }
    ]
    tasks = TASK_HEADER + row("shared-key", "B1")
    await client.post(
        "/tasks/batches",
        content=TASK_HEADER + row("shared-key", "A1"),
        headers=admin | {"content-type": "text/csv"},
    )
    for path, body, ctype in (
        ("/units/bulk", msgspec.json.encode(unit), "application/json"),
        ("/cadres/bulk", msgspec.json.encode(cadre), "application/json"),
        ("/tasks/batches", tasks.encode(), "text/csv"),
    ):
        response = await client.post(
            path, content=body, headers=personnel_b | {"content-type": ctype}
        )
        assert response.status_code == 422, (path, response.text)
        assert "already in use" in response.text or "in use" in response.text
        assert SECRET not in response.text
        assert "DEP-A'" not in response.json()["detail"]
    assert await conn.fetchval("select name from units where code = 'DEP-A'") == "DEP-A"
    assert await conn.fetchval("select full_name from cadres where code = 'A1'") == SECRET
