"""Every response carries the security headers: routes, unknown routes (404), wrong methods
(405), errors, static files, pages and the API docs."""

from __future__ import annotations

import pytest
from litestar.testing import AsyncTestClient

Client = AsyncTestClient  # type: ignore[type-arg]


def assert_secured(response: object, csp_part: str = "frame-ancestors 'none'") -> None:
    headers = response.headers  # type: ignore[attr-defined]
    assert headers["x-content-type-options"] == "nosniff", headers
    assert headers["x-frame-options"] == "DENY"
    assert headers["referrer-policy"] == "no-referrer"
    assert csp_part in headers["content-security-policy"]
    assert headers["x-request-id"]


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/no/such/route", 404),
        ("GET", "/static/no-such-file.js", 404),
        ("POST", "/nothing-here", 404),
        ("DELETE", "/health", 405),
        ("PUT", "/units", 405),
        ("GET", "/units", 401),
        ("GET", "/units/x%00y", 401),
        ("GET", "/health", 200),
        ("GET", "/static/favicon.svg", 200),
    ],
)
async def test_every_answer_has_the_headers(
    client: Client, method: str, path: str, status: int
) -> None:
    response = await client.request(method, path)
    assert response.status_code == status, response.text
    assert_secured(response)
    if not path.startswith("/static"):
        assert "default-src 'none'" in response.headers["content-security-policy"]


async def test_errors_of_authenticated_calls_have_them(
    client: Client, admin_headers: dict[str, str]
) -> None:
    for response in (
        await client.get("/units/NOPE", headers=admin_headers),
        await client.get("/ballot-rounds/9223372036854775808", headers=admin_headers),
        await client.post("/units/bulk", content=b"[{", headers=admin_headers),
    ):
        assert response.status_code in (400, 404, 422), response.text
        assert_secured(response)


async def test_pages_get_the_page_policy(client: Client) -> None:
    for path in ("/", "/login", "/no-such-page"):
        response = await client.get(path)
        assert_secured(response)
        if response.headers["content-type"].startswith("text/html"):
            assert "script-src 'self'" in response.headers["content-security-policy"]
    docs = await client.get("/schema/swagger")
    assert_secured(docs)
