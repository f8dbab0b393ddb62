"""Catalog versions: create (draft or published), publish, read, list."""

from __future__ import annotations

import asyncpg
import msgspec

from evalsvc.domain.bulk import Upload
from evalsvc.domain.catalog import Catalog, CatalogCreate, CatalogItem
from evalsvc.domain.errors import Conflict, FieldProblem, NotFound
from evalsvc.store.errors import translated
from evalsvc.store.sqlfiles import queries

Q = queries("catalog")


async def create_catalog(conn: asyncpg.Connection, new: CatalogCreate) -> tuple[Catalog, bool]:
    """Store a new version of catalog ``new.name`` (next number), optionally published.

    Loading the same content as the newest version again stores nothing (it only publishes
    that version if asked to): returns it with ``False`` for "not created".
    """
    checked = Upload.of(new.items)
    checked.refuse_if(checked.duplicates([i.code for i in new.items], "code"))
    async with conn.transaction():
        # Two loads of the same name must not both take version N.
        await conn.execute("select pg_advisory_xact_lock(hashtext('catalog:' || $1))", new.name)
        latest_id = await conn.fetchval(Q["latest"], new.name)
        if latest_id is not None:
            latest = await get_catalog(conn, latest_id, with_items=True)
            if _same_content(latest, new):
                if new.publish and latest.status == "draft":
                    await conn.execute(Q["publish"], latest_id)
                    latest = await get_catalog(conn, latest_id, with_items=True)
                return latest, False
        version: int = await conn.fetchval(Q["next_version"], new.name)
        catalog_id: int = await conn.fetchval(
            Q["insert"],
            new.name,
            version,
            new.title,
            new.is_sample,
            new.points.group1,
            new.points.group2,
            new.points.group3,
        )
        items = new.items
        await conn.execute(
            Q["insert_items"],
            catalog_id,
            [i.code for i in items],
            [i.text for i in items],
            [i.group for i in items],
            ["leader" in i.forms for i in items],
            ["staff" in i.forms for i in items],
            list(range(1, len(items) + 1)),
        )
        if new.publish:
            await conn.execute(Q["publish"], catalog_id)
    return await get_catalog(conn, catalog_id, with_items=True), True


def _same_content(stored: Catalog, new: CatalogCreate) -> bool:
    items = [(i.code, i.text, i.group, sorted(i.forms)) for i in stored.items or []]
    wanted = [(i.code, i.text, i.group, sorted(i.forms)) for i in new.items]
    return (
        stored.title == new.title
        and stored.is_sample == new.is_sample
        and stored.points == new.points
        and items == wanted
    )


async def publish_catalog(conn: asyncpg.Connection, catalog_id: int) -> Catalog:
    """Freeze a draft; publishing twice is a conflict."""
    current = await get_catalog(conn, catalog_id)
    if current.status == "published":
        raise Conflict(
            f"catalog {current.name} v{current.version} is already published",
            [FieldProblem("status", "already published")],
        )
    await conn.execute(Q["publish"], catalog_id)
    return await get_catalog(conn, catalog_id)


async def delete_draft(conn: asyncpg.Connection, catalog_id: int) -> None:
    await get_catalog(conn, catalog_id)
    async with translated():
        await conn.execute("delete from catalogs where id = $1", catalog_id)


async def get_catalog(
    conn: asyncpg.Connection, catalog_id: int, *, with_items: bool = False
) -> Catalog:
    row = await conn.fetchrow(Q["select"] + " where c.id = $1", catalog_id)
    if row is None:
        raise NotFound(f"no catalog with id {catalog_id}", [FieldProblem("id", "not found")])
    catalog = msgspec.convert(dict(row), Catalog, strict=False)
    if with_items:
        catalog.items = [
            msgspec.convert(dict(r), CatalogItem) for r in await conn.fetch(Q["items"], catalog_id)
        ]
    return catalog


async def list_catalogs(conn: asyncpg.Connection) -> list[Catalog]:
    rows = await conn.fetch(Q["select"] + " order by c.name, c.version")
    return [msgspec.convert(dict(r), Catalog, strict=False) for r in rows]
