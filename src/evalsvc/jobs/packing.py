"""Named numpy arrays as one bytes payload and back (month carries, registry packs).

Layout: ``EVC1``, the header's length (uint32 little-endian), a JSON header listing each
array's name, dtype and shape, then the arrays' bytes in that order, each starting at a
multiple of 8. Unpacking is one ``np.frombuffer`` view per array, no copy (``.npz`` spent
0.03 s per 13 MB in zip bookkeeping and CRCs).
"""

from __future__ import annotations

from typing import Any

import msgspec
import numpy as np
import numpy.typing as npt

MAGIC = b"EVC1"
Header = list[tuple[str, str, list[int]]]


def pack(arrays: dict[str, Any]) -> bytes:
    """Named arrays as one payload (module docstring)."""
    header: Header = []
    parts: list[bytes] = []
    for name, value in arrays.items():
        arr = np.asarray(value)
        arr = arr if arr.flags.c_contiguous else arr.copy()  # keeps 0-d arrays 0-d
        header.append((name, arr.dtype.str, list(arr.shape)))
        raw = arr.tobytes()
        parts.append(raw + b"\0" * (-len(raw) % 8))
    head = msgspec.json.encode(header)
    head += b" " * (-(len(head) + 8) % 8)
    return b"".join([MAGIC, len(head).to_bytes(4, "little"), head, *parts])


def unpack(payload: bytes) -> dict[str, npt.NDArray[Any]]:
    """The arrays of :func:`pack`, as read-only views of ``payload``.

    Raises:
        ValueError: not a payload of :func:`pack`.
    """
    if payload[:4] != MAGIC:
        raise ValueError("not a packed array payload")
    size = int.from_bytes(payload[4:8], "little")
    header = msgspec.json.decode(payload[8 : 8 + size], type=Header)
    out: dict[str, npt.NDArray[Any]] = {}
    offset = 8 + size
    for name, dtype, shape in header:
        dt = np.dtype(dtype)
        count = int(np.prod(shape, dtype=np.int64))
        out[name] = np.frombuffer(payload, dtype=dt, count=count, offset=offset).reshape(shape)
        offset += count * dt.itemsize
        offset += -offset % 8
    return out
