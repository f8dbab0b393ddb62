"""Constrained scalar types shared by the input structs."""

from __future__ import annotations

from typing import Annotated

import msgspec

Code = Annotated[
    str,
    msgspec.Meta(
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._:/-]*$",
        description="External code: letters, digits and . _ : / - (at most 64).",
    ),
]
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=300)]
ShortText = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
Year = Annotated[int, msgspec.Meta(ge=2000, le=2100)]
Limit = Annotated[int, msgspec.Meta(ge=1, le=1000)]
Offset = Annotated[int, msgspec.Meta(ge=0)]


class Page(msgspec.Struct, frozen=True):
    """One page of a list: the items and where they sit in the whole."""

    items: list[object]
    total: int
    limit: int
    offset: int
