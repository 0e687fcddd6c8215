"""Catalogues: the names of units and procedures, and the procedures' legal time limits.

Events carry codes (`SO_XD`, `1.001234`); people read names ("Sở Xây dựng", "Cấp giấy
phép xây dựng").  A catalogue is read from CSV or TOML files at start and checked
(`streams.catalog.files`: one `CatalogError` naming file, line or key, and what is
wrong); the boards, the query API, the terminal and the alert bridge show its names next
to the codes, and a code it does not know stays a code and is counted
(`streams.catalog.metrics`).  A procedure's legal time limit joins the policy book's
procedures (`apply_catalog`), so that a receipt's appointment date is checked against it.
"""

from __future__ import annotations

from streams.catalog.files import load_catalog, load_catalog_text
from streams.catalog.model import (
    LEVELS,
    Catalog,
    CatalogError,
    CatalogProcedure,
    CatalogUnit,
)
from streams.catalog.policy import apply_catalog

__all__ = [
    "LEVELS",
    "Catalog",
    "CatalogError",
    "CatalogProcedure",
    "CatalogUnit",
    "apply_catalog",
    "load_catalog",
    "load_catalog_text",
]
