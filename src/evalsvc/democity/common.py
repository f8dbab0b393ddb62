"""What every generated city shares: the peer groups and the sample catalog."""

from __future__ import annotations

from importlib import resources

import asyncpg
import msgspec

from evalsvc.domain.catalog import CatalogCreate
from evalsvc.store import catalog as catalog_store

PEER_GROUPS = [
    ("lanh-dao", "Lãnh đạo, quản lý"),
    ("chuyen-vien", "Chuyên viên nghiệp vụ"),
    ("mot-cua", "Bộ phận một cửa"),
]


def sample_catalog() -> CatalogCreate:
    """The illustrative catalog shipped with evalsvc (sample, not the official text)."""
    raw = (resources.files("evalsvc") / "data" / "sample_catalog.json").read_bytes()
    return msgspec.json.decode(raw, type=CatalogCreate)


async def load_sample_catalog(conn: asyncpg.Connection) -> None:
    """Load the sample catalog (a no-op when its newest version has the same content)."""
    await catalog_store.create_catalog(conn, sample_catalog())
