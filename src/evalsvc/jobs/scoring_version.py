"""The scoring version: a digest of the scoring package's source, as shipped.

Every run records it, and it is part of every input fingerprint, so a year never takes a
month scored by other scoring code for one scored by this code: a release that corrects a
rule scores every month again (docs/recompute.md, "Reuse").
"""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path

import evalsvc.scoring

PREFIX = "sha256:"


def source_digest(package_dir: Path) -> str:
    """SHA-256 over the package's ``.py`` files: relative path and content, path order."""
    h = hashlib.sha256()
    for path in sorted(package_dir.rglob("*.py")):
        h.update(path.relative_to(package_dir).as_posix().encode())
        h.update(b"\0")
        h.update(path.read_bytes())
        h.update(b"\0")
    return PREFIX + h.hexdigest()[:16]


@functools.cache
def _shipped() -> str:
    return source_digest(Path(evalsvc.scoring.__file__).parent)


def current() -> str:
    """The version of the scoring code this process runs (read once per process)."""
    return _shipped()
