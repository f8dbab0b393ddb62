"""The upload formats of the registry: which struct and CSV columns each kind of row uses."""

from __future__ import annotations

from evalsvc.domain.bulk import UploadSpec
from evalsvc.domain.cadres import (
    CADRE_CSV_COLUMNS,
    CADRE_CSV_FIELDS,
    CADRE_CSV_REQUIRED,
    CadreCreate,
    PeerGroupCreate,
    cadre_csv_row,
)
from evalsvc.domain.catalog import (
    CATALOG_CSV_COLUMNS,
    CATALOG_CSV_REQUIRED,
    CatalogItemIn,
    catalog_csv_row,
)
from evalsvc.domain.units import UNIT_CSV_COLUMNS, UNIT_CSV_REQUIRED, UnitCreate, unit_csv_row

UNITS = UploadSpec(
    UnitCreate,
    UNIT_CSV_COLUMNS,
    UNIT_CSV_REQUIRED,
    unit_csv_row,
    {f"outstanding_years[{i}]": "outstanding_years" for i in range(100)},
)
CADRES = UploadSpec(
    CadreCreate,
    CADRE_CSV_COLUMNS,
    CADRE_CSV_REQUIRED,
    cadre_csv_row,
    CADRE_CSV_FIELDS,
    key=lambda r: r.code,
)
PEER_GROUPS = UploadSpec(PeerGroupCreate, ("code", "name"), ("code", "name"), key=lambda r: r.code)
CATALOG_ITEMS = UploadSpec(
    CatalogItemIn,
    CATALOG_CSV_COLUMNS,
    CATALOG_CSV_REQUIRED,
    catalog_csv_row,
    {"forms[0]": "forms", "forms[1]": "forms"},
)
