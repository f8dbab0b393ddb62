"""The scoring version: a digest of the code that turns stored inputs into scores.

That is the scoring package, the reader that assembles its inputs from the tables
(``jobs/inputs.py``, ``store/copyio.py`` and the periods of ``domain/recompute.py``), the
job's scoring step that builds a month's carry (``jobs/compute.py``), the carry's format
(``jobs/carries.py``), as shipped, and the versions of numpy and scipy that compute.
Every run records it, and it is part of every input fingerprint, so a year never takes a
month scored, read or carried by other code for one of this code: a release that corrects
a rule scores every month again (docs/recompute.md, "Reuse").
"""

from __future__ import annotations

import functools
import hashlib
from importlib import metadata
from pathlib import Path

import evalsvc

PREFIX = "sha256:"
PACKAGE = Path(evalsvc.__file__).parent
SOURCES = (
    "scoring",
    "jobs/inputs.py",
    "jobs/compute.py",
    "jobs/carries.py",
    "store/copyio.py",
    "domain/recompute.py",
)
"""What the version covers, relative to the ``evalsvc`` package (a folder: its ``.py``)."""
LIBRARIES = ("numpy", "scipy")


def source_digest(
    root: Path, sources: tuple[str, ...] = SOURCES, libraries: tuple[str, ...] = LIBRARIES
) -> str:
    """SHA-256 over the ``.py`` files of ``sources`` under ``root`` (relative path and
    content, in path order) and the installed versions of ``libraries``."""
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
    for name in libraries:
        h.update(f"{name}=={metadata.version(name)}\0".encode())
    return PREFIX + h.hexdigest()[:16]


@functools.cache
def _shipped() -> str:
    return source_digest(PACKAGE)


def current() -> str:
    """The version of the scoring code this process runs (read once per process)."""
    return _shipped()
