"""Rate limits: refused voter tokens per client address, requests per API key.

Voters of one ward often share one address, so the voter side limits *refused* tokens per
address (guessing), never the submissions of valid tokens. API keys are limited per key
with Litestar's rate-limit middleware. Both answer 429 with ``Retry-After``. The counts live
in the serving process (one ``serve`` process; a restart forgets them).
"""

from __future__ import annotations

import math
import time
from collections import deque
from typing import Any

from litestar import Request, Response
from litestar.exceptions import TooManyRequestsException
from litestar.middleware.rate_limit import CacheObject, RateLimitConfig, RateLimitMiddleware

from evalsvc.api.errors import domain_error_handler
from evalsvc.api.guards import bearer_token
from evalsvc.api.validation import refuse_hostile_input
from evalsvc.domain.errors import Forbidden


class FailureLimiter:
    """At most ``limit`` failures per ``window`` seconds per client; then wait."""

    def __init__(self, limit: int, window: float = 60.0) -> None:
        self.limit = limit
        self.window = window
        self._failures: dict[str, deque[float]] = {}

    def retry_after(self, client: str) -> int | None:
        """Seconds the client must wait, or None when it may try."""
        if self.limit <= 0:
            return None
        times = self._failures.get(client)
        if not times:
            return None
        now = time.monotonic()
        while times and times[0] <= now - self.window:
            times.popleft()
        if len(times) < self.limit:
            if not times:
                del self._failures[client]
            return None
        return max(1, math.ceil(times[0] + self.window - now))

    def fail(self, client: str) -> None:
        if self.limit > 0:
            self._failures.setdefault(client, deque()).append(time.monotonic())


def client_address(request: Request[Any, Any, Any]) -> str:
    return request.client.host if request.client else "?"


def voter_limiter(request: Request[Any, Any, Any]) -> FailureLimiter:
    limiter: FailureLimiter = request.app.state.voter_limiter
    return limiter


async def refuse_token_guessing(request: Request[Any, Any, Any]) -> None:
    """``before_request`` of the voter routes: 429 once an address had too many refusals."""
    wait = voter_limiter(request).retry_after(client_address(request))
    if wait is not None:
        raise TooManyRequestsException(
            "too many refused voter tokens from this address; try again later",
            headers={"retry-after": str(wait)},
        )
    await refuse_hostile_input(request)  # a route's own before_request replaces the app's


def count_refused_token(request: Request[Any, Any, Any], exc: Forbidden) -> Response[Any]:
    """Exception handler of the voter routes: a refused token counts against the address."""
    voter_limiter(request).fail(client_address(request))
    return domain_error_handler(request, exc)


class _WithRetryAfter(RateLimitMiddleware):
    def create_response_headers(self, cache_object: CacheObject) -> dict[str, str]:
        headers = super().create_response_headers(cache_object)
        headers["retry-after"] = str(max(1, cache_object.reset - int(time.time())))
        return headers


def _key_of(request: Request[Any, Any, Any]) -> str:
    token = bearer_token(request) or ""
    return "key:" + token.split("_", 2)[1] if token.count("_") >= 2 else "key:?"


async def _is_api_key(request: Request[Any, Any, Any]) -> bool:
    """Async on purpose: Litestar runs a plain function here in a worker thread, a thread
    hop for every request (a tenth of a voter's sheet submission's CPU)."""
    token = bearer_token(request) or ""
    return token.startswith("evs_")


def key_rate_limit(per_minute: int) -> RateLimitConfig:
    """``per_minute`` requests per API key (its prefix), counted whether or not it is valid."""
    return RateLimitConfig(
        rate_limit=("minute", per_minute),
        identifier_for_request=_key_of,
        check_throttle_handler=_is_api_key,
        middleware_class=_WithRetryAfter,
        exclude=["/schema", "/health"],
    )
