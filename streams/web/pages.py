"""The worker's dossier page, `/dossiers/<id>`, and acknowledging an alert from it.

Both routes go to the worker that owns the dossier's partition, as `/api/dossiers/<id>`
does, with the caller's credentials: the owner applies the caller's role.  The request is
forwarded here with its body (Faust's router forwards none) and without following a
redirect, so a POST reaches the owner whole and its answer comes back as it was given.

Acknowledging (`POST /dossiers/<id>/alerts/<alert id>/ack`, the first endpoint that
changes anything) creates an Alertmanager silence (API v2) on the labels that identify
exactly that alert — `alert_id` (unique, see alerts/labels.py) and `dossier` — with
`createdBy` the signed-in identity's name (never a form field, which could say anything)
and `comment` the form's comment.  Only the centre, or the unit head of the alert's own
unit, may; each acknowledgement is logged with who, what and the silence's id.

Cross-site requests are refused twice over (the session cookie is SameSite=Strict too):
* the form carries a CSRF token derived from the caller's credentials (an HMAC keyed by
  them, so every worker computes the same one without a shared secret, and a page on
  another site, which cannot read the HttpOnly cookie, cannot compute it);
* an `Origin` header, which browsers send with every POST, must be this site's (the
  request's own host, or the link base's); a caller signed in by a reverse proxy, whose
  headers are not secret, must send one.

Without `settings.alertmanager_url` the page shows the alerts with no form and the POST
answers 404.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote, urlsplit

import aiohttp
import structlog
from faust.exceptions import SameNode
from faust.web import Request, Response, View
from faust.web.exceptions import ServiceUnavailable
from yarl import URL

from streams.core.dossier import Dossier
from streams.web import dossier_model as dm
from streams.web.api import Api
from streams.web.auth import Identity
from streams.web.dossier_page import ACK_HOURS, STYLE, render
from streams.web.guard import identity_of
from streams.web.views_model import Units

log = structlog.get_logger("dossierwatch.web")

AM_TIMEOUT = 5.0
"""Seconds to wait for Alertmanager; the page is shown without its silences after that."""
MAX_COMMENT = 1000
FORWARDED_HEADERS = ("Content-Length", "Transfer-Encoding", "Connection")
"""Hop-by-hop headers not copied when a request goes on to the owning worker."""


def csrf_token(identity: Identity) -> str:
    """The form's token for this caller: keyed by the credentials they sent (a bearer or
    cookie token is a secret), so it is the same on every worker and for every page."""
    key = "\n".join(f"{k}:{v}" for k, v in sorted(identity.forward.items())).encode()
    return hmac.new(key, b"dossierwatch-acknowledge-v1", hashlib.sha256).hexdigest()


def same_origin(origin: str | None, host: str | None, link_base: str | None) -> bool:
    """Whether a POST's `Origin` is this site: the host it was sent to, or the public
    link base (a reverse proxy may change the host on the way)."""
    if not origin:
        return False
    ours = {f"{scheme}://{host}" for scheme in ("http", "https") if host}
    if link_base:
        base = urlsplit(link_base)
        ours.add(f"{base.scheme}://{base.netloc}")
    return origin in ours


def _proxied(identity: Identity) -> bool:
    """Signed in by a reverse proxy's headers (nothing secret in them), not a token."""
    return not any(k.lower() == "authorization" for k in identity.forward)


class Alertmanager:
    """The two calls the page makes: the dossier's alerts and silences, a new silence."""

    def __init__(self, base_url: str, session: Any) -> None:
        self.base = base_url.rstrip("/")
        self.session = session

    async def _get(self, path: str, dossier: str) -> list[dict[str, Any]]:
        quoted = dossier.replace("\\", "\\\\").replace('"', '\\"')
        async with self.session.get(
            f"{self.base}{path}",
            params={"filter": f'dossier="{quoted}"'},
            timeout=aiohttp.ClientTimeout(total=AM_TIMEOUT),
        ) as r:
            r.raise_for_status()
            found: list[dict[str, Any]] = await r.json()
            return found

    async def records(self, dossier: str) -> list[dict[str, Any]]:
        """The dossier's alerts Alertmanager holds, as alert records with their evidence
        (the state keeps which alerts are open, not what they said)."""
        out = []
        for a in await self._get("/api/v2/alerts", dossier):
            labels, notes = a.get("labels") or {}, a.get("annotations") or {}
            if "alert_id" not in labels:
                continue
            out.append(
                {
                    "id": labels["alert_id"],
                    "severity": labels.get("severity"),
                    "title": notes.get("title"),
                    "title_en": notes.get("title_en"),
                    "evidence": notes.get("evidence"),
                    "chain": notes.get("chain"),
                    "at": notes.get("at"),
                }
            )
        return out

    async def silences(self, dossier: str) -> list[dict[str, Any]]:
        return await self._get("/api/v2/silences", dossier)

    async def silence(
        self, dossier: str, alert_id: str, *, by: str, comment: str, hours: int
    ) -> str:
        """A silence of exactly this alert for `hours`; its id."""
        now = datetime.now(UTC)
        body = {
            "matchers": [
                {"name": "alert_id", "value": alert_id, "isRegex": False, "isEqual": True},
                {"name": "dossier", "value": dossier, "isRegex": False, "isEqual": True},
            ],
            "startsAt": now.isoformat(timespec="milliseconds"),
            "endsAt": (now + timedelta(hours=hours)).isoformat(timespec="milliseconds"),
            "createdBy": by,
            "comment": comment,
        }
        async with self.session.post(
            f"{self.base}/api/v2/silences",
            data=json.dumps(body, ensure_ascii=False),
            headers={"Content-Type": "application/json"},
            timeout=aiohttp.ClientTimeout(total=AM_TIMEOUT),
        ) as r:
            r.raise_for_status()
            created: dict[str, Any] = await r.json()
            return str(created.get("silenceID", ""))


def _reply(web: View, status: int, text: str) -> Response:
    """A short plain answer (the guard's refusals look the same)."""
    out: Response = web.text(text + "\n", status=status, headers={"Cache-Control": "no-store"})
    return out


async def _forward(app: Any, table: Any, web: View, request: Request, key: str) -> Response | None:
    """The owning worker's answer, or None when this worker owns the dossier."""
    try:
        owner: URL = app.router.key_store(table.name, key)
        host, port = owner.host or "127.0.0.1", int(owner.port or 80)
        mine = URL(str(app.conf.canonical_url))
        if (host, port) == (mine.host or "", int(mine.port or 80)):
            raise SameNode()
        body = await request.read()
        headers = {k: v for k, v in request.headers.items() if k not in FORWARDED_HEADERS}
        async with app.http_client.request(
            request.method,
            request.url.with_host(host).with_port(port),
            headers=headers,
            data=body or None,
            allow_redirects=False,
            timeout=aiohttp.ClientTimeout(total=AM_TIMEOUT * 2),
        ) as r:
            passed = {k: r.headers[k] for k in ("Location", "Cache-Control") if k in r.headers}
            answer: Response = web.text(
                await r.text(), content_type=r.content_type, status=r.status, headers=passed
            )
            return answer
    except SameNode:
        return None
    except (KeyError, TypeError, ServiceUnavailable, aiohttp.ClientError, TimeoutError):
        return _reply(web, 503, "the worker owning this dossier cannot be reached yet; retry")


def register_dossier_pages(app: Any, api: Api) -> None:
    """Serve /dossiers/<id>, its acknowledge form's target, and its stylesheet."""
    settings, book, table = api.settings, api.book, api.table
    catalog = getattr(settings, "catalog", None)
    am_url: str | None = getattr(settings, "alertmanager_url", None)
    link_base: str | None = getattr(settings, "link_base", None)

    def manager() -> Alertmanager | None:
        return Alertmanager(am_url, app.http_client) if am_url else None

    def units_of(identity: Identity) -> Units:
        return None if identity.is_centre else identity.units

    async def from_alertmanager(dossier: str) -> tuple[list[Any], list[Any]]:
        am = manager()
        if am is None:
            return [], []
        try:
            return await am.records(dossier), await am.silences(dossier)
        except (aiohttp.ClientError, TimeoutError, ValueError) as err:
            # The page still shows the state's alerts; only evidence and silences wait.
            log.warning("alertmanager_unavailable", dossier=dossier, error=str(err))
            return [], []

    @app.page("/dossiers/{dossier_id}")  # type: ignore[untyped-decorator]
    async def dossier_page(web: View, request: Request, dossier_id: str) -> Response:
        routed = await _forward(app, table, web, request, dossier_id)
        if routed is not None:
            return routed
        identity = identity_of(request)
        units = units_of(identity)
        d: Dossier | None = api.dossier(dossier_id)
        if d is None:
            return _reply(web, 404, f"unknown dossier {dossier_id!r}")
        if not dm.may_read(d, units):
            return _reply(web, 403, "your role does not give access to this dossier")
        records, silences = await from_alertmanager(d.id)
        model = dm.page_model(d, book, api.now(), catalog=catalog, alerts=records)
        form = {"csrf": csrf_token(identity), "author": identity.name} if am_url else None
        model = dm.with_acknowledgements(
            dm.for_reader(model, units), silences, units=units, form=form
        )
        lang = "en" if request.query.get("lang") == "en" else "vi"
        page: Response = web.html(render(model, lang=lang), headers={"Cache-Control": "no-store"})
        return page

    class Acknowledge(View):
        async def post(self, request: Request, dossier_id: str, alert_id: str) -> Response:
            routed = await _forward(app, table, self, request, dossier_id)
            if routed is not None:
                return routed
            identity = identity_of(request)
            form = await request.post()
            origin = request.headers.get("Origin")
            checked = origin is not None or _proxied(identity)
            if checked and not same_origin(origin, request.headers.get("Host"), link_base):
                log.warning("acknowledge_refused", who=identity.name, why="origin")
                return _reply(self, 403, "refused: this form was sent from another site")
            if not hmac.compare_digest(str(form.get("csrf", "")), csrf_token(identity)):
                log.warning("acknowledge_refused", who=identity.name, why="csrf")
                return _reply(self, 403, "refused: the form's token is missing or wrong")
            am = manager()
            if am is None:
                return _reply(self, 404, "acknowledging is not set up (no Alertmanager)")
            units = units_of(identity)
            d: Dossier | None = api.dossier(dossier_id)
            if d is None:
                return _reply(self, 404, f"unknown dossier {dossier_id!r}")
            if not dm.may_read(d, units):
                return _reply(self, 403, "your role does not give access to this dossier")
            unit = dict(d.x.open if d.x else ()).get(alert_id, "")
            if unit == "":
                return _reply(self, 404, "this alert is not open on this dossier")
            if not dm.may_acknowledge(units, unit):
                log.warning("acknowledge_refused", who=identity.name, why="unit", unit=unit)
                return _reply(self, 403, "only the centre or the alert's own unit may acknowledge")
            comment = str(form.get("comment", "")).strip()
            if not comment or len(comment) > MAX_COMMENT:
                return _reply(self, 400, f"a comment is needed, at most {MAX_COMMENT} characters")
            try:
                hours = int(str(form.get("hours", "24")))
            except ValueError:
                hours = 0
            if not 1 <= hours <= max(ACK_HOURS):
                return _reply(self, 400, f"hours must be between 1 and {max(ACK_HOURS)}")
            try:
                silence = await am.silence(
                    d.id, alert_id, by=identity.name, comment=comment, hours=hours
                )
            except (aiohttp.ClientError, TimeoutError) as err:
                log.warning("alertmanager_unavailable", dossier=d.id, error=str(err))
                return _reply(self, 502, "Alertmanager did not take the acknowledgement; retry")
            log.info(
                "alert_acknowledged",
                who=identity.name,
                dossier=d.id,
                alert_id=alert_id,
                unit=unit,
                silence_id=silence,
                hours=hours,
            )
            page = f"/dossiers/{quote(d.id, safe='')}"
            out: Response = self.text(
                "", status=303, headers={"Location": page, "Cache-Control": "no-store"}
            )
            return out

    async def dossier_css(web: View, request: Request) -> Response:
        css: Response = web.text(STYLE, content_type="text/css")
        return css

    # Registered by call rather than as decorators: the names are then used, as far as
    # the dead-code check can tell.
    app.page("/dossiers/{dossier_id}/alerts/{alert_id}/ack")(Acknowledge)
    app.page("/static/dossier.css")(dossier_css)
