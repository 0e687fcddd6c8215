"""The demo's web UI over WSGI: the wallboard, its API, the dossier and unit pages, read from
the engine the demo feeds in-process (one process, so no worker to merge with).

The same pure model as the worker's API (`streams.web.views_model`) and the same files
as its wallboard (`streams.web.wallboard.FILES`), behind the same guard
(`streams.web.auth.wsgi_guard`: a token in the URL is exchanged for the cookie).  Every
read of the engine takes the demo's lock: the simulation changes the states between
events, never while a page reads them.
"""

from __future__ import annotations

import importlib
import json
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import msgspec

from streams.contract.alerts import Alert
from streams.core.calendar import DAY, to_iso
from streams.core.engine import Engine
from streams.core.policy import PolicyBook
from streams.reports.figures import build_report, period_counts, report_json
from streams.reports.periods import PeriodError, judged_until, parse_period
from streams.web import unit_model as um
from streams.web import unit_page
from streams.web import views_model as vm
from streams.web.auth import Guard, WsgiApp, identify_environ, wsgi_guard
from streams.web.wallboard import FILES

if TYPE_CHECKING:
    from wsgiref.simple_server import WSGIServer

    from streams.catalog import Catalog

MAX_QUERY_BYTES = 2048

Heartbeat = Callable[[], tuple[float | None, float | None, float]]
"""(last event read, last clock tick, start), epoch seconds: how live the figures are."""

Reply = tuple[str, list[tuple[str, str]], bytes]


@dataclass
class DemoSite:
    """What the pages read: the engine under its lock, and how live the run is."""

    engine: Engine
    book: PolicyBook
    lock: threading.Lock
    guard: Guard
    heartbeat: Heartbeat
    alerts: Callable[[str], list[Alert]]
    """The alerts the run recorded for one dossier (their evidence for its page)."""
    stale_after: float
    """Seconds without an event or a tick before the board says its figures are stale."""
    catalog: Catalog | None = None
    wall: Callable[[], float] | None = None

    def app(self) -> WsgiApp:
        """The WSGI application, guarded (home: the wallboard)."""
        return wsgi_guard(self._route, self.guard, home="/wallboard")

    # -- routing --------------------------------------------------------------------

    def _route(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        status, headers, body = self.answer(environ)
        start_response(status, headers)
        return [body]

    def answer(self, environ: Mapping[str, Any]) -> Reply:
        path = environ.get("PATH_INFO") or "/"
        raw_query = environ.get("QUERY_STRING", "")
        if len(raw_query) > MAX_QUERY_BYTES:
            return _json("414 URI Too Long", {"error": "the query string is too long"})
        if environ.get("REQUEST_METHOD", "GET") not in ("GET", "HEAD"):
            return _json("405 Method Not Allowed", {"error": "read-only"})
        query = {k: v[0] for k, v in urllib.parse.parse_qs(raw_query).items()}
        units = self._units(environ)
        try:
            return self._dispatch(path, query, units)
        except (vm.BadRequest, PeriodError) as err:
            return _json("400 Bad Request", {"error": str(err)})

    def _dispatch(self, path: str, query: dict[str, str], units: vm.Units) -> Reply:
        if path == "/health":
            return _json("200 OK", {"status": "ok"})
        if path == "/":
            return "303 See Other", [("Location", "/wallboard")], b""
        if path in FILES:
            kind, text = FILES[path]
            return "200 OK", [("Content-Type", kind), ("Cache-Control", "no-store")], text.encode()
        if path == "/api/board":
            return self.board(query, units)
        if path == "/api/report":
            return self.report(query, units)
        if path == "/api/ping-pong":
            return self.ping_pong(query, units)
        if path == unit_page.STYLESHEET:
            headers = [("Content-Type", "text/css; charset=utf-8"), ("Cache-Control", "no-store")]
            return "200 OK", headers, unit_page.STYLE.encode()
        if path.startswith("/api/units/"):
            unit, _, which = path[len("/api/units/") :].rpartition("/")
            if which in ("overdue", "at-risk") and unit:
                standing = "overdue" if which == "overdue" else "near_due"
                return self.unit_list(unit, standing, query, units)
            found = _unit_and_officer(path[len("/api/units/") :])
            if found is not None:
                return self.unit_page(*found, query, units, html=False)
        if path.startswith("/units/"):
            found = _unit_and_officer(path[len("/units/") :])
            if found is not None:
                return self.unit_page(*found, query, units, html=True)
        if path.startswith("/api/dossiers/"):
            return self.dossier_json(path[len("/api/dossiers/") :], units)
        if path.startswith("/dossiers/"):
            return self.dossier_page(path[len("/dossiers/") :], query, units)
        page = _page_modules()
        if page is not None and page.css_path and path == page.css_path:
            headers = [("Content-Type", "text/css; charset=utf-8"), ("Cache-Control", "no-store")]
            return "200 OK", headers, page.css.encode()
        return _json("404 Not Found", {"error": f"no page {path!r}"})

    def _units(self, environ: Mapping[str, Any]) -> vm.Units:
        """The units the caller may see (None: all, the centre), as the guard that let
        the request in identified it."""
        identity = identify_environ(self.guard, environ)
        if identity is None or identity.is_centre:
            return None  # nobody only reaches the open paths (/health)
        return identity.units

    # -- the API --------------------------------------------------------------------

    def board(self, query: dict[str, str], units: vm.Units) -> Reply:
        with self.lock:
            now = self.engine.now
            if now is None:
                return _not_yet()
            start, end = vm.parse_period(query, now)
            page, size = vm.page_params({"size": str(vm.BOARD_SIZE), **query})
            states = self.engine.states()
            mine = states if units is None else (d for d in states if d.unit in units)
            share = vm.board_counts(mine, self.book, now, start, end)
        body = vm.board_view([share], start, end, page, size, self.catalog)
        body["period"]["retention_days"] = self.engine.retention // DAY
        body["as_of"] = to_iso(now)
        body["freshness"] = self.freshness()
        return _json("200 OK", {**body, "partial": False})

    def report(self, query: dict[str, str], units: vm.Units) -> Reply:
        """The period's figures per unit (`dossierwatch report --api`)."""
        period = parse_period(query.get("period", ""))
        with self.lock:
            now = self.engine.now
            if now is None:
                return _not_yet()
            as_of = judged_until(period, now)
            states = self.engine.states()
            mine = states if units is None else (d for d in states if d.unit in units)
            counts = period_counts(mine, period.start, as_of, self.book)
        found = build_report(
            counts, period, as_of, source="dossierwatch demo", catalog=self.catalog
        )
        body = report_json(found)
        body["retention_days"] = self.engine.retention // DAY
        return _json("200 OK", body)

    def freshness(self) -> vm.Json:
        last_event, last_tick, started = self.heartbeat()
        wall = (self.wall or time.time)()
        return vm.freshness(
            wall,
            last_event=last_event,
            last_tick=last_tick,
            started=started,
            stale_after=self.stale_after,
        )

    def unit_list(self, unit: str, which: str, query: dict[str, str], units: vm.Units) -> Reply:
        if units is not None and unit not in units:
            return _json("403 Forbidden", {"error": f"your role does not give access to {unit!r}"})
        page, size = vm.page_params(query)
        with self.lock:
            now = self.engine.now
            if now is None:
                return _not_yet()
            found = vm.unit_items(self.engine.states(), unit, which, self.book, now, self.catalog)
        body = vm.paginate(vm.sort_by_due(found), page, size)
        name = vm.unit_name(self.catalog, unit)
        return _json("200 OK", {"unit": unit, "unit_name": name, **body, "partial": False})

    def unit_page(
        self,
        unit: str,
        officer: str | None,
        query: dict[str, str],
        units: vm.Units,
        *,
        html: bool,
    ) -> Reply:
        """A unit's page (or one of its officers'), as HTML or its JSON."""
        if units is not None and unit not in units:
            if html:
                return _html("403 Forbidden", "<!doctype html><p>403: another unit's page</p>")
            return _json("403 Forbidden", {"error": f"your role does not give access to {unit!r}"})
        page, size = vm.page_params({"size": str(um.PAGE_SIZE), **query})
        q = um.UnitQuery(unit, officer, page, size, units)
        with self.lock:
            now = self.engine.now
            if now is None:
                return _not_yet()
            share = um.unit_share(self.engine.states(), q, self.book, now, self.catalog)
        merged = um.merge_shares([share], q, now, self.catalog)
        body = {**merged, "partial": False}
        if not html:
            return _json("200 OK", body)
        lang = "en" if query.get("lang") == "en" else "vi"
        return _html("200 OK", unit_page.render(body, lang=lang))

    def ping_pong(self, query: dict[str, str], units: vm.Units) -> Reply:
        finished = query.get("finished") in ("1", "true", "yes")
        page, size = vm.page_params(query)
        with self.lock:
            now = self.engine.now
            if now is None:
                return _not_yet()
            mine = [d for d in self.engine.states() if vm.readable(d, units)]
            found = vm.ping_pong_items(
                mine, self.book, now, finished=finished, catalog=self.catalog
            )
        body = vm.paginate(vm.sort_ping_pong(found), page, size)
        return _json("200 OK", {**body, "partial": False})

    def dossier_json(self, key: str, units: vm.Units) -> Reply:
        with self.lock:
            d, now = self.engine.dossiers.get(key), self.engine.now
            if d is None or now is None:
                return _json("404 Not Found", {"error": f"unknown dossier {key!r}"})
            if not vm.readable(d, units):
                return _json("403 Forbidden", {"error": "another unit's dossier"})
            view = vm.dossier_view(d, self.book, now, self.catalog)
        return _json("200 OK", vm.for_reader(view, units))

    def dossier_page(self, key: str, query: dict[str, str], units: vm.Units) -> Reply:
        """The dossier page (streams.web.dossier_page), or its JSON where that module is
        not there."""
        page = _page_modules()
        if page is None:
            return self.dossier_json(key, units)
        records = [msgspec.to_builtins(a) for a in self.alerts(key)]
        with self.lock:
            d, now = self.engine.dossiers.get(key), self.engine.now
            if d is None or now is None:
                return _html("404 Not Found", f"<!doctype html><p>404: unknown dossier {key}</p>")
            if not vm.readable(d, units):
                return _html("403 Forbidden", "<!doctype html><p>403: another unit's dossier</p>")
            model = page.model(d, self.book, now, catalog=self.catalog, alerts=records)
        lang = "en" if query.get("lang") == "en" else "vi"
        return _html("200 OK", page.render(page.reader(model, units), lang=lang))


def serve(site: DemoSite, port: int) -> WSGIServer:
    """The site on 127.0.0.1:`port`, answered on threads (a slow page never holds up
    another), until `shutdown()`."""
    from wsgiref.simple_server import make_server

    from prometheus_client.exposition import ThreadingWSGIServer, _SilentHandler

    server = make_server(
        "127.0.0.1",
        port,
        site.app(),
        server_class=ThreadingWSGIServer,
        handler_class=_SilentHandler,
    )
    threading.Thread(target=server.serve_forever, daemon=True, name="web").start()
    return server


@dataclass(frozen=True)
class _Page:
    """The dossier page's functions and stylesheet (streams.web.dossier_model/_page)."""

    model: Any
    reader: Any
    render: Any
    css_path: str
    css: str


def _page_modules() -> _Page | None:
    """The dossier page, if it is installed (else its JSON is served)."""
    try:
        model = importlib.import_module("streams.web.dossier_model")
        page = importlib.import_module("streams.web.dossier_page")
    except ModuleNotFoundError as err:
        if err.name in ("streams.web.dossier_model", "streams.web.dossier_page"):
            return None
        raise
    return _Page(
        model.page_model,
        model.for_reader,
        page.render,
        str(getattr(page, "STYLESHEET", "")),
        str(getattr(page, "STYLE", "")),
    )


def _unit_and_officer(rest: str) -> tuple[str, str | None] | None:
    """`<unit>` or `<unit>/officers/<officer>` (decoded path segments), else None."""
    parts = rest.split("/")
    if len(parts) == 1 and parts[0]:
        return parts[0], None
    if len(parts) == 3 and parts[1] == "officers" and parts[0] and parts[2]:
        return parts[0], parts[2]
    return None


def _json(status: str, body: Any) -> Reply:
    data = json.dumps(body, ensure_ascii=False).encode()
    headers = [("Content-Type", "application/json; charset=utf-8"), ("Cache-Control", "no-store")]
    return status, headers, data


def _html(status: str, text: str) -> Reply:
    headers = [("Content-Type", "text/html; charset=utf-8"), ("Cache-Control", "no-store")]
    return status, headers, text.encode()


def _not_yet() -> Reply:
    status, headers, body = _json("503 Service Unavailable", {"error": "no event read yet"})
    return status, [*headers, ("Retry-After", "1")], body
