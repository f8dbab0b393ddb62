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


# Operations whose success answer is not JSON; every other 2xx answer must name a schema.
NON_JSON_DOWNLOADS: dict[str, str] = {}


def _untyped(schema: dict[str, Any] | None, components: dict[str, Any]) -> bool:
    """True for a missing schema, ``{}``, or an object that names no field and no value type
    (what a generated client can only hand over as an untyped dict)."""
    if not schema:
        return True
    if "$ref" in schema:
        return _untyped(components[schema["$ref"].rsplit("/", 1)[-1]], components)
    for key in ("oneOf", "anyOf"):
        if key in schema:
            return any(_untyped(s, components) for s in schema[key] if s.get("type") != "null")
    if schema.get("type") == "array":
        return _untyped(schema.get("items"), components)
    if schema.get("type") == "object" or "properties" in schema:
        values = schema.get("additionalProperties")
        return not schema.get("properties") and values in (None, True, {})
    return False


async def test_every_success_answer_names_its_schema(client: Client) -> None:
    schema: dict[str, Any] = (await client.get("/schema/openapi.json")).json()
    components = schema["components"]["schemas"]
    untyped = []
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if method not in ("get", "post", "patch", "put", "delete"):
                continue
            where = f"{method.upper()} {path}"
            for status, response in operation["responses"].items():
                content = response.get("content")
                if not status.startswith("2") or not content or where in NON_JSON_DOWNLOADS:
                    continue  # 204 and the listed downloads carry no JSON
                json_schema = content.get("application/json", {}).get("schema")
                if _untyped(json_schema, components):
                    untyped.append(f"{where} {status}")
    assert untyped == []
    # The check itself sees an untyped answer.
    assert _untyped({}, components)
    assert _untyped({"type": "object", "additionalProperties": {}}, components)
    assert _untyped({"type": "array", "items": {}}, components)
    assert not _untyped({"type": "object", "additionalProperties": {"type": "integer"}}, {})
    ranking = schema["paths"]["/results/rankings"]["get"]["responses"]["200"]["content"]
    row = components["RankingRow"]["properties"]
    assert ranking["application/json"]["schema"]["$ref"].endswith("/RankingPage")
    assert {"rank", "code", "u", "level", "movement", "rank_low", "rank_high"} <= set(row)
