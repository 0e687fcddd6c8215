"""The worker's unit page, `/units/<code>`, and officer page,
`/units/<code>/officers/<officer>`, with their stylesheet.

Any worker answers: the page's figures are gathered from every worker as the API's are
(`Api.unit_page`, the same function behind /api/units/<code>), so the page shows the
unit's dossiers of all partitions.  The centre reads every unit's pages; a unit head
their own unit's only (403, in the dossier page's plain words, for another's).
"""

from __future__ import annotations

from typing import Any

from faust.web import Request, Response, View

from streams.web import unit_page
from streams.web.api import Api, unit_query
from streams.web.views_model import BadRequest


def _reply(web: View, status: int, text: str) -> Response:
    out: Response = web.text(text + "\n", status=status, headers={"Cache-Control": "no-store"})
    return out


def register_unit_pages(app: Any, api: Api) -> None:
    """Serve the unit and officer pages and /static/units.css."""

    async def page(web: View, request: Request, unit: str, officer: str | None) -> Response:
        try:
            q = unit_query(request, unit, officer)
        except BadRequest as err:
            return _reply(web, 400, str(err))
        if q is None:
            return _reply(web, 403, "your role does not give access to this unit")
        model = await api.unit_page(request, q)
        lang = "en" if request.query.get("lang") == "en" else "vi"
        html = unit_page.render(model, lang=lang)
        answer: Response = web.html(html, headers={"Cache-Control": "no-store"})
        return answer

    async def unit_html(web: View, request: Request, unit: str) -> Response:
        return await page(web, request, unit, None)

    async def officer_html(web: View, request: Request, unit: str, officer: str) -> Response:
        return await page(web, request, unit, officer)

    async def units_css(web: View, request: Request) -> Response:
        css: Response = web.text(unit_page.STYLE, content_type="text/css")
        return css

    app.page("/units/{unit}")(unit_html)
    app.page("/units/{unit}/officers/{officer}")(officer_html)
    app.page(unit_page.STYLESHEET)(units_css)
