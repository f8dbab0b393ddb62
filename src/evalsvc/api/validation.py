"""One request-validation layer for hostile input, ahead of every handler.

Path and query values, and JSON bodies that a handler receives as ``data``, go through the
limits of :mod:`evalsvc.domain.input_limits` before the handler (and so the database) sees
them; bulk uploads, which read their body themselves, check the same limits row by row in
:func:`evalsvc.domain.bulk.convert_rows`. A value beyond a limit is a 400 naming the field.
"""

from __future__ import annotations

import functools
import re
import types
import typing
from typing import Any

import msgspec
from litestar import Request
from litestar.handlers import HTTPRouteHandler
from litestar.params import ParameterKwarg

from evalsvc.domain.errors import FieldProblem, InvalidInput
from evalsvc.domain.input_limits import MAX_DEPTH, int_problem, text_problem, value_problems

_ASCII_INT = re.compile(r"[+-]?[0-9]+")  # str.isdigit() also takes "¹", which int() refuses
BODY_CHECK_LIMIT = 32 * 1024 * 1024
"""JSON bodies up to this size are checked whole here (larger ones are bulk uploads)."""


def _holds_int(annotation: Any) -> bool:
    if annotation is int:
        return True
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _holds_int(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        return any(_holds_int(a) for a in typing.get_args(annotation))
    return False


@functools.cache
def _int_params(handler: HTTPRouteHandler) -> frozenset[str]:
    """Path and query names whose declared type is an integer."""
    names = set()
    for name, field in handler.parsed_fn_signature.parameters.items():
        if _holds_int(field.annotation):
            kwarg = field.kwarg_definition
            alias = kwarg.query if isinstance(kwarg, ParameterKwarg) and kwarg.query else None
            names.add(alias or name)
    return frozenset(names)


async def refuse_hostile_input(request: Request[Any, Any, Any]) -> None:
    """Litestar ``before_request`` hook: raise InvalidInput naming each refused value."""
    problems: list[FieldProblem] = []
    handler = request.route_handler
    ints = _int_params(handler) if isinstance(handler, HTTPRouteHandler) else frozenset()
    for name, value in request.path_params.items():
        problems += _param_problems(name, value, ints)
    for name, raw in request.query_params.multi_items():
        problems += _param_problems(name, raw, ints)
    if (
        not problems
        and isinstance(handler, HTTPRouteHandler)
        and "data" in handler.parsed_fn_signature.parameters
        and "json" in request.headers.get("content-type", "application/json")
        and int(request.headers.get("content-length") or 0) <= BODY_CHECK_LIMIT
    ):
        problems += await _body_problems(request)
    if problems:
        first = problems[0]
        raise InvalidInput(f"{first.field}: {first.reason}", problems)


def _param_problems(name: str, value: Any, ints: frozenset[str]) -> list[FieldProblem]:
    if isinstance(value, int) and not isinstance(value, bool):
        reason = int_problem(value)
    elif isinstance(value, str):
        reason = text_problem(value, param=True)
        if reason is None and name in ints and _ASCII_INT.fullmatch(value.strip()):
            reason = int_problem(int(value))  # other text is the parameter's own 400
    else:
        reason = None
    return [FieldProblem(name, reason)] if reason else []


async def _body_problems(request: Request[Any, Any, Any]) -> list[FieldProblem]:
    body = await request.body()  # cached: the handler's decoding reads the same bytes
    if not body.strip():
        return []
    try:
        doc = msgspec.json.decode(body)
    except msgspec.DecodeError:
        return []  # the handler's own decoding reports malformed JSON with its position
    except RecursionError:
        return [FieldProblem("body", f"nested more than {MAX_DEPTH} levels deep")]
    return value_problems(doc)
