"""What the OpenAPI schema says beyond the handlers' own signatures, set in one place.

Every operation documents the error shape for the errors it can give (400, 401, 403, 404,
409, 413, 422, 429), with an example; bulk-upload operations, which read their body
themselves to stream it, document it as a JSON array of rows or CSV with their columns.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import msgspec
from litestar import Litestar
from litestar._openapi.schema_generation.plugins.struct import StructSchemaPlugin
from litestar.handlers import HTTPRouteHandler
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import Example, OpenAPIMediaType, Operation, RequestBody, Schema
from litestar.openapi.spec.enums import OpenAPIFormat, OpenAPIType
from litestar.plugins import OpenAPISchemaPlugin
from litestar.typing import FieldDefinition

if TYPE_CHECKING:
    from litestar._openapi.schema_generation import SchemaCreator

from evalsvc.domain.bulk import UploadSpec


class Problem(msgspec.Struct, omit_defaults=True):
    """One thing wrong with the request: where and why."""

    field: str
    reason: str
    row: int | None = None
    source: str | None = None


class ErrorBody(msgspec.Struct):
    """Every error response: the status again, a sentence, and the problems one by one."""

    status_code: int
    detail: str
    extra: list[Problem]


def _error(status: int, description: str, detail: str, problems: list[Problem]) -> ResponseSpec:
    example = ErrorBody(status, detail, problems)
    return ResponseSpec(
        data_container=ErrorBody,
        description=description,
        generate_examples=False,
        examples=[Example(summary=description, value=msgspec.to_builtins(example))],
    )


ERRORS: dict[int, ResponseSpec] = {
    400: _error(
        400,
        "Malformed input (bad JSON/CSV, a value out of range, a control character)",
        "name: holds the control character U+0000",
        [Problem("name", "holds the control character U+0000")],
    ),
    401: _error(401, "No credential, or an unknown one", "unknown or revoked API key", []),
    403: _error(
        403, "The caller's role may not do this", "role auditor may not call this endpoint", []
    ),
    404: _error(
        404,
        "Not found (or outside the caller's unit subtree)",
        "no cadre with code 'C9'",
        [Problem("code", "not found")],
    ),
    409: _error(409, "Conflicts with the current state", "the round is closed", []),
    413: _error(413, "Body too large for the caller's role", "request body too large", []),
    422: _error(
        422,
        "Well-formed input that breaks a rule (per row for uploads)",
        "1 problem(s) in 1 row(s); nothing was stored",
        [Problem("cadre_code", "no cadre with code 'C9'", row=3)],
    ),
    429: _error(429, "Too many requests: wait Retry-After seconds", "Too Many Requests", []),
}
UNSUPPORTED_MEDIA: dict[int, ResponseSpec] = {
    415: _error(
        415,
        "The body's Content-Type is not one this operation reads",
        "send text/csv, application/x-ndjson or application/json",
        [Problem("content-type", "unsupported: text/plain")],
    )
}


def returns(shape: Any, description: str, status: int = 200) -> dict[int, ResponseSpec]:
    """Document the success answer of a handler that returns the store's dict as is (its
    fields stay whatever the store adds), for ``responses=``."""
    return {
        status: ResponseSpec(data_container=shape, description=description, generate_examples=False)
    }


def document_errors(app: Litestar) -> None:
    """Add the error responses to every operation (a handler's own entries win)."""
    for route in app.routes:
        for handler in getattr(route, "route_handlers", []):
            if isinstance(handler, HTTPRouteHandler) and handler.include_in_schema:
                handler.responses = {**ERRORS, **(handler.responses or {})}


def _schema(doc: dict[str, Any], defs: dict[str, Any]) -> Schema:
    """A msgspec JSON Schema fragment as Litestar's Schema (the subset our rows use)."""
    if "$ref" in doc:
        return _schema(defs[doc["$ref"].rsplit("/", 1)[-1]], defs)
    if "anyOf" in doc:
        return Schema(one_of=[_schema(d, defs) for d in doc["anyOf"]])
    kind = doc.get("type")
    return Schema(
        type=OpenAPIType(kind) if kind else None,
        title=doc.get("title"),
        description=doc.get("description"),
        properties={k: _schema(v, defs) for k, v in doc.get("properties", {}).items()} or None,
        required=doc.get("required"),
        items=_schema(doc["items"], defs) if "items" in doc else None,
        enum=doc.get("enum"),
        format=doc.get("format"),
        minimum=doc.get("minimum"),
        maximum=doc.get("maximum"),
        exclusive_minimum=doc.get("exclusiveMinimum"),
        exclusive_maximum=doc.get("exclusiveMaximum"),
        min_length=doc.get("minLength"),
        max_length=doc.get("maxLength"),
        pattern=doc.get("pattern"),
        default=doc.get("default"),
    )


def rows_schema(row_type: type[msgspec.Struct]) -> Schema:
    """The schema of a JSON array of ``row_type`` (a msgspec struct)."""
    raw = msgspec.json.schema(list[row_type])  # type: ignore[valid-type]
    return _schema(raw, raw.get("$defs", {}))


def file_schema(description: str) -> Schema:
    """Text sent as the body as is (CSV, NDJSON): bytes to a generated client."""
    return Schema(type=OpenAPIType.STRING, format=OpenAPIFormat.BINARY, description=description)


def upload_operation(spec: UploadSpec) -> type[Operation]:
    """An Operation class whose request body is ``spec``'s rows, as JSON or as CSV."""
    rows = rows_schema(spec.row_type)
    header = ",".join(spec.columns)
    body = RequestBody(
        required=True,
        description=(
            "The rows, all or nothing: a JSON array, or CSV (text/csv, UTF-8, a header row) "
            f"with the columns {header} (required: {', '.join(spec.required)})."
        ),
        content={
            "application/json": OpenAPIMediaType(schema=rows),
            "text/csv": OpenAPIMediaType(
                schema=file_schema(f"header: {header}"), example=header + "\n"
            ),
        },
    )

    return with_body(body)


def with_body(body: RequestBody) -> type[Operation]:
    """An Operation class documenting ``body`` for a handler that reads its body itself."""

    class BodyOperation(Operation):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            if self.request_body is None:
                self.request_body = body

    return BodyOperation


def text_body(
    description: str,
    example: str,
    *media_types: str,
    rows: type[msgspec.Struct] | None = None,
) -> type[Operation]:
    """A body of text (CSV, NDJSON) described in words, with an example for the first media
    type; ``application/json`` is an array of ``rows``."""
    content = {}
    for i, media in enumerate(media_types):
        if media == "application/json" and rows is not None:
            content[media] = OpenAPIMediaType(schema=rows_schema(rows))
        else:
            content[media] = OpenAPIMediaType(
                schema=file_schema(description), example=example if i == 0 else None
            )
    return with_body(RequestBody(required=True, description=description, content=content))


GENERATOR_LOCAL = "d"
"""The local that openapi-python-client's generated ``from_dict`` keeps the answer's fields in
(``d = dict(src_dict)``, then ``<name> = ... d.pop("<name>")`` for each property in schema
order, required ones first, then ``obj.additional_properties = d``)."""


class GeneratedClientStructs(OpenAPISchemaPlugin):
    """Schemas of the structs with a field named ``d`` (Decree 335's task ratio and a leader's
    factor): that field is listed last and the object is closed (``additionalProperties:
    false``), so a generated ``from_dict`` reads it after every other field and never uses its
    dict again. Elsewhere the property named ``d`` replaces that dict mid-way (a client of
    openapi-python-client 0.29.1 failed on ``d.pop("dd")``). The JSON is unchanged: msgspec
    writes no other fields, and these structs' fields keep their names, the decree's.
    """

    def __init__(self) -> None:
        self._structs = StructSchemaPlugin()

    def is_plugin_supported_field(self, field_definition: FieldDefinition) -> bool:
        if not self._structs.is_plugin_supported_field(field_definition):
            return False
        info = msgspec.inspect.type_info(field_definition.type_)
        assert isinstance(info, msgspec.inspect.StructType)
        return any(f.encode_name == GENERATOR_LOCAL for f in info.fields)

    def to_openapi_schema(
        self, field_definition: FieldDefinition, schema_creator: SchemaCreator
    ) -> Schema:
        schema = self._structs.to_openapi_schema(field_definition, schema_creator)
        properties = dict(schema.properties or {})
        required = set(schema.required or ())
        if GENERATOR_LOCAL in required and set(properties) - required:
            # the generator reads optional properties after the required ones: no order of
            # the schema's properties then keeps ``d`` last
            raise TypeError(
                f"{field_definition.type_}: a required field {GENERATOR_LOCAL!r} beside optional "
                "ones breaks a generated client's from_dict"
            )
        local = properties.pop(GENERATOR_LOCAL)
        schema.properties = {**properties, GENERATOR_LOCAL: local}
        schema.additional_properties = False
        return schema
