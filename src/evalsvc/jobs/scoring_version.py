"""The scoring version: a digest of the code that turns stored inputs into scores.

That is the scoring package, the reader that assembles its inputs from the tables
(``jobs/inputs.py`` and ``store/copyio.py``) and the month carry's format
(``jobs/carries.py``), as shipped. Every run records it, and it is part of every input
fingerprint, so a year never takes a month scored, read or carried by other code for one
of this code: a release that corrects a rule scores every month again (docs/recompute.md,
"Reuse").
"""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path

import evalsvc

PREFIX = "sha256:"
PACKAGE = Path(evalsvc.__file__).parent
SOURCES = ("scoring", "jobs/inputs.py", "jobs/carries.py", "store/copyio.py")
"""What the version covers, relative to the ``evalsvc`` package (a folder: its ``.py``)."""


def source_digest(root: Path, sources: tuple[str, ...] = SOURCES) -> str:
    """SHA-256 over the ``.py`` files of ``sources`` under ``root``: relative path and
    content, in path order."""
    files: list[Path] = []
    for name in sources:
        path = root / name
        files.extend(sorted(path.rglob("*.py")) if path.is_dir() else [path])
    h = hashlib.sha256()
    for path in sorted(files):
        h.update(path.relative_to(root).as_posix().encode())
        h.update(b"\0")
        h.update(path.read_bytes())
        h.update(b"\0")
    return PREFIX + h.hexdigest()[:16]


@functools.cache
def _shipped() -> str:
    return source_digest(PACKAGE)


def current() -> str:
    """The version of the scoring code this process runs (read once per process)."""
    return _shipped()
