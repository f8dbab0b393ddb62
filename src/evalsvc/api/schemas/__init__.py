"""Typed shapes of the API's JSON answers (the OpenAPI response schemas)."""
