"""HTTP views served by the worker (query API, wallboard): registered on the Faust app."""

from __future__ import annotations

from typing import Any


def register_views(app: Any, *, table: Any, core: Any, settings: Any, book: Any) -> None:
    """Add the query API and the wallboard to the worker's web server."""
