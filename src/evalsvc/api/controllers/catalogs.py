"""Manifestation catalogs: load a version (JSON, or CSV items), publish, read, list."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, Response, delete, get, post
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter

from evalsvc.api.deps import Conn
from evalsvc.api.guards import ADMIN, READERS
from evalsvc.api.openapi_docs import returns, text_body
from evalsvc.api.schemas.lists import CatalogPage
from evalsvc.api.uploads import read_whole_body
from evalsvc.domain import uploads
from evalsvc.domain.bulk import format_of, parse_upload
from evalsvc.domain.catalog import Catalog, CatalogCreate, GroupPoints
from evalsvc.domain.codes import Code, Name
from evalsvc.store import catalog as store


class CatalogController(Controller):
    path = "/catalogs"
    tags = ["catalogs"]

    @get("/", opt=READERS, summary="All catalog versions (without items)")
    async def list_catalogs(self, conn: Conn) -> CatalogPage:
        items = await store.list_catalogs(conn)
        return CatalogPage(items, len(items), len(items), 0)

    @get("/{catalog_id:int}", opt=READERS, summary="One catalog version with its items")
    async def get_catalog(self, conn: Conn, catalog_id: FromPath[int]) -> Catalog:
        return await store.get_catalog(conn, catalog_id, with_items=True)

    @post(
        "/",
        opt=ADMIN,
        summary="Load a new catalog version from JSON",
        description="201 with the new version; 200 with the newest version when its content "
        "is identical (re-sending a catalog creates no new version).",
        responses=returns(Catalog, "The newest version, identical to the one sent"),
    )
    async def create_catalog(self, conn: Conn, data: JSONBody[CatalogCreate]) -> Response[Catalog]:
        return _created(*await store.create_catalog(conn, data))

    @post(
        "/csv",
        operation_class=text_body(
            "Catalog items as CSV (UTF-8, a header row).",
            "code,text,group,forms\n1.01,Đi muộn về sớm,1,leader;staff\n",
            "text/csv",
        ),
        opt=ADMIN,
        summary="Load a new catalog version from CSV items",
        description="Body: CSV with columns code,text,group,forms (forms as leader;staff).",
        responses=returns(Catalog, "The newest version, identical to the one sent"),
    )
    async def create_catalog_from_csv(
        self,
        conn: Conn,
        request: Request[Any, Any, Any],
        name: Annotated[Code, QueryParameter(description="Catalog name (versions share it)")],
        title: Annotated[Name, QueryParameter(description="Title shown on the ballot form")],
        is_sample: FromQuery[bool] = False,
        publish: FromQuery[bool] = False,
        group1_points: Annotated[float, QueryParameter(ge=0, le=30)] = 3.0,
        group2_points: Annotated[float, QueryParameter(ge=0, le=30)] = 2.0,
        group3_points: Annotated[float, QueryParameter(ge=0, le=30)] = 2.0,
    ) -> Response[Catalog]:
        items = parse_upload(
            await read_whole_body(request),
            format_of(request.headers.get("content-type")),
            uploads.CATALOG_ITEMS,
        ).valid_rows()
        new = CatalogCreate(
            name=name,
            title=title,
            items=items,
            is_sample=is_sample,
            publish=publish,
            points=GroupPoints(group1=group1_points, group2=group2_points, group3=group3_points),
        )
        return _created(*await store.create_catalog(conn, new))

    @post("/{catalog_id:int}/publish", opt=ADMIN, status_code=200, summary="Publish (freeze)")
    async def publish_catalog(self, conn: Conn, catalog_id: FromPath[int]) -> Catalog:
        return await store.publish_catalog(conn, catalog_id)

    @delete("/{catalog_id:int}", opt=ADMIN, summary="Delete a draft (published ones are kept)")
    async def delete_catalog(self, conn: Conn, catalog_id: FromPath[int]) -> None:
        await store.delete_draft(conn, catalog_id)


def _created(catalog: Catalog, created: bool) -> Response[Catalog]:
    return Response(catalog, status_code=201 if created else 200)
