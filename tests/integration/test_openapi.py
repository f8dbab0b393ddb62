"""The OpenAPI schema documents every request body and every error response."""

from __future__ import annotations

from typing import Any

from litestar.testing import AsyncTestClient

Client = AsyncTestClient  # type: ignore[type-arg]
ERRORS = {"400", "401", "403", "404", "409", "413", "422", "429"}


async def test_every_write_documents_its_body_and_every_operation_its_errors(
    client: Client,
) -> None:
    schema: dict[str, Any] = (await client.get("/schema/openapi.json")).json()
    error_ref = None
    missing_bodies = []
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if method not in ("get", "post", "patch", "put", "delete"):
                continue
            where = f"{method.upper()} {path}"
            assert set(operation["responses"]) >= ERRORS, where
            content = operation["responses"]["422"]["content"]["application/json"]
            error_ref = error_ref or content["schema"]["$ref"]
            assert content["schema"]["$ref"] == error_ref, where
            assert content["examples"], where
            takes_body = method in ("post", "patch", "put") and not path.endswith(
                ("/open", "/close", "/publish", "/cancel", "/share", "/confirm")
            )
            if takes_body and "requestBody" not in operation:
                missing_bodies.append(where)
    assert missing_bodies == []
    error = schema["components"]["schemas"][error_ref.rsplit("/", 1)[-1]]
    assert set(error["required"]) == {"status_code", "detail", "extra"}
    assert error["properties"]["extra"]["type"] == "array"

    bulk = schema["paths"]["/assessments/bulk"]["post"]["requestBody"]["content"]
    rows = bulk["application/json"]["schema"]
    assert rows["type"] == "array"
    assert {"cadre_code", "month", "politics"} <= set(rows["items"]["properties"])
    assert bulk["text/csv"]["example"].startswith("cadre_code,month")
