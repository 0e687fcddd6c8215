"""HTTP views served by the worker (query API, wallboard, dossier pages): registered on the
Faust app."""

from __future__ import annotations

from typing import Any


def register_views(app: Any, *, table: Any, core: Any, settings: Any, book: Any) -> None:
    """Add the query API, the wallboard, the dossier pages and the unit pages to the
    worker's web server."""
    # Imported here: the worker module imports this package before the app exists.
    from streams.web.api import register_api
    from streams.web.pages import register_dossier_pages
    from streams.web.unit_pages import register_unit_pages
    from streams.web.wallboard import register_wallboard

    api = register_api(app, table=table, settings=settings, book=book, core=core)
    register_wallboard(app)
    register_dossier_pages(app, api)
    register_unit_pages(app, api)
