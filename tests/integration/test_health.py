from __future__ import annotations

from litestar.testing import AsyncTestClient


async def test_health_answers_with_database_versions(client: AsyncTestClient) -> None:  # type: ignore[type-arg]
    response = await client.get("/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["database"]["schema_version"] >= 1


async def test_schema_is_public_and_lists_health(client: AsyncTestClient) -> None:  # type: ignore[type-arg]
    response = await client.get("/schema/openapi.json")
    assert response.status_code == 200
    assert "/health" in response.json()["paths"]
