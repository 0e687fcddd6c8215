"""The query API: one dossier, per-unit lists, the ping-pong list, the board and the
period's report.

A worker holds only the dossiers of its own partitions.  A dossier request goes to the
worker that owns the dossier's partition (Faust's router).  A list request is answered
by the worker asked: it computes its own share, asks every other worker of the group
(`?scope=local`, their addresses from the partition assignor) for theirs, then merges,
sorts and pages.  When a worker does not answer, or the group's assignment does not
cover every partition (a rebalance), the answer says `"partial": true`.

Codes come with their names from the catalogue (`unit_name`, `procedure_name`; null for
a code it does not name) when the worker was given one (`settings.catalog`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
from aiokafka.partitioner import murmur2
from faust.exceptions import SameNode
from faust.web import Request, Response, View
from faust.web.exceptions import ServiceUnavailable
from yarl import URL

from streams.core.calendar import to_iso
from streams.core.dossier import Dossier
from streams.core.policy import PolicyBook
from streams.core.store import StoredStateError, unpack
from streams.reports.figures import build_report, merge_counts, period_counts, report_json
from streams.reports.periods import PeriodError, judged_until, parse_period
from streams.web import unit_model as um
from streams.web import views_model as vm
from streams.web.dossier_model import unit_path
from streams.web.guard import identity_of

PEER_TIMEOUT = 5.0
"""Seconds to wait for another worker's share before answering without it."""
STALE_AFTER = 120.0
"""Seconds without an event read or a running stream clock after which the board says
its figures are stale (`settings.wallboard_stale_after` overrides it)."""

Share = Callable[[Request], Awaitable[Any]]


class Api:
    def __init__(self, app: Any, table: Any, settings: Any, book: PolicyBook, core: Any) -> None:
        self.app = app
        self.table = table
        self.settings = settings
        self.book = book
        self.core = core

    def now(self) -> int:
        """Stream time: a board judges dossiers as the alerts do, not by the wall clock."""
        return int(self.core.stream_now(time.time()))

    async def share(self, compute: Callable[[list[Dossier]], Any]) -> Any:
        """`compute` over this worker's dossiers, off the event loop: reading and decoding
        a large table takes longer than the stream may wait (a thread, on a snapshot)."""
        owned = self._owned()
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(None, lambda: compute(self._states(owned)))

    def _states(self, owned: set[int]) -> list[Dossier]:
        """The dossiers of the partitions this worker owns now.  A worker may still hold
        the states of partitions a rebalance took away: they are another worker's to
        report, and counting them here would count them twice."""
        n = self.settings.partitions
        out = []
        for key, value in self._snapshot():
            if value and int(murmur2(key) & 0x7FFFFFFF) % n in owned:
                try:
                    out.append(unpack(key.decode(), value))
                except StoredStateError:
                    continue
        return out

    def _snapshot(self) -> list[tuple[bytes, bytes]]:
        """The table's (key, value) pairs as they are now.  An in-memory table is copied in
        one C call (atomic under the GIL, so the stream cannot change it half-way); a
        RocksDB table is read through its own consistent iterator."""
        inner = getattr(self.table.data, "data", None)
        if isinstance(inner, dict):
            return list(inner.items())
        return list(self.table.items())

    def _owned(self) -> set[int]:
        me = self._me()
        return {p for url, parts in self._layout().items() if _ident(URL(url)) == me for p in parts}

    def freshness(self) -> Any:
        """This worker's last event read and whether its stream clocks run (a caught-up
        partition's clocks move with the wall clock: the timer ticks it), and whether it
        is alive.  Another worker's quiet is its own board's to tell."""
        wall = time.time()
        clocks = list(self.core.clocks.values())
        reads = [t for c in clocks for s in c.sources() if (t := c.last_read(s)) is not None]
        running = any(not c.held for c in clocks)
        vitals = getattr(self.app, "dossierwatch_vitals", None)
        fatal = getattr(vitals, "fatal", None)
        return vm.freshness(
            wall,
            last_event=max(reads, default=None),
            last_tick=wall if running else None,
            stale_after=float(getattr(self.settings, "wallboard_stale_after", STALE_AFTER)),
            healthy=fatal is None,
            reason=fatal,
        )

    def dossier(self, key: str) -> Dossier | None:
        d: Dossier | None = self.core.store.get(key)
        return d

    # ---- combining the workers ----------------------------------------------------

    def _me(self) -> tuple[str, int]:
        return _ident(URL(str(self.app.conf.canonical_url)))

    def _layout(self) -> dict[str, set[int]]:
        """Each worker's URL → the table partitions it owns, as the assignor last said."""
        out: dict[str, set[int]] = {}
        for url, topics in self.app.router.table_metadata(self.table.name).items():
            out[str(url)] = {p for parts in topics.values() for p in parts}
        return out

    async def gather(
        self, request: Request, local: Share, path: str | None = None
    ) -> tuple[list[Any], bool]:
        """Every worker's share for this request (this worker's first) and whether some
        partitions are missing from it.  The others are asked as the caller: each applies
        the caller's role to its own share.  `path` (quoted): the API path that answers
        with a share, when the request is for a page (HTML) rather than the API."""
        layout = self._layout()
        me = self._me()
        peers = [url for url in layout if _ident(URL(url)) != me]
        session = self.app.http_client
        answers = await asyncio.gather(
            *(self._ask(session, URL(url), request, path) for url in peers),
            return_exceptions=True,
        )
        shares = [await local(request)]
        covered = self._owned()
        for url, answer in zip(peers, answers, strict=True):
            if isinstance(answer, BaseException):
                continue
            shares.append(answer)
            covered |= layout[url]
        partial = covered != set(range(self.settings.partitions))
        return shares, partial

    async def _ask(self, session: Any, peer: URL, request: Request, path: str | None) -> Any:
        url = request.url.with_host(peer.host or "127.0.0.1").with_port(peer.port)
        if path is not None:
            url = url.with_path(path, encoded=True).with_query(request.url.query)
        async with session.get(
            url.update_query(scope="local"),
            headers=dict(identity_of(request).forward),
            timeout=aiohttp.ClientTimeout(total=PEER_TIMEOUT),
        ) as r:
            r.raise_for_status()
            return await r.json()

    async def unit_page(self, request: Request, q: um.UnitQuery) -> Any:
        """A unit's page (or one of its officers') as JSON, gathered from every worker
        as the unit lists are: `?scope=local` (a peer asking) answers this worker's
        share only.  The API and the HTML page both come here."""
        catalog = getattr(self.settings, "catalog", None)
        now = self.now()

        async def share(request: Request) -> Any:
            return await self.share(lambda ds: um.unit_share(ds, q, self.book, now, catalog))

        if _is_local(request):
            return await share(request)
        path = "/api" + unit_path(q.unit, q.officer)
        shares, partial = await self.gather(request, share, path)
        return {**um.merge_shares(shares, q, now, catalog), "partial": partial}


def unit_query(request: Request, unit: str, officer: str | None) -> um.UnitQuery | None:
    """The unit page the caller asks for, None when their role does not give access to
    the unit (the centre reads every unit, a unit head their own); BadRequest for a bad
    page or size (PAGE_SIZE rows by default)."""
    units = _units(request)
    if units is not None and unit not in units:
        return None
    page, size = vm.page_params({"size": str(um.PAGE_SIZE), **request.query})
    return um.UnitQuery(unit, officer, page, size, units)


def _ident(url: URL) -> tuple[str, int]:
    return (url.host or "", int(url.port or 80))


def _is_local(request: Request) -> bool:
    return request.query.get("scope") == "local"


def _bad(web: View, err: vm.BadRequest) -> Response:
    return web.json({"error": str(err)}, status=400)


def _forbidden(web: View, what: str) -> Response:
    return web.json({"error": f"your role does not give access to {what}"}, status=403)


def _units(request: Request) -> vm.Units:
    """The units the caller may see (None: all of them, the centre)."""
    identity = identity_of(request)
    return None if identity.is_centre else identity.units


def register_api(app: Any, *, table: Any, settings: Any, book: PolicyBook, core: Any) -> Api:
    api = Api(app, table, settings, book, core)
    catalog = getattr(settings, "catalog", None)

    @app.page("/api/dossiers/{dossier_id}")  # type: ignore[untyped-decorator]
    async def dossier(web: View, request: Request, dossier_id: str) -> Response:
        # `app.table_route` would do, but it answers 500 while the group has no
        # assignment yet (the assignor has no metadata): say "try again" instead.  The
        # request goes on with its credentials: the owner applies the caller's role.
        try:
            forwarded: Response = await app.router.route_req(table.name, dossier_id, web, request)
            return forwarded
        except SameNode:
            pass
        except (KeyError, TypeError, ServiceUnavailable, aiohttp.ClientError, TimeoutError):
            return web.json(
                {"error": "the worker owning this dossier cannot be reached yet; retry"},
                status=503,
                headers={"Retry-After": "2"},
            )
        d = api.dossier(dossier_id)
        units = _units(request)
        if d is None:
            return web.json({"error": f"unknown dossier {dossier_id!r}"}, status=404)
        if not vm.readable(d, units):
            return _forbidden(web, "this dossier (another unit's)")
        view = vm.dossier_view(d, book, api.now(), catalog)
        return web.json(vm.for_reader(view, units))

    def unit_list(which: str) -> Callable[[View, Request, str], Awaitable[Response]]:
        async def share(request: Request) -> Any:
            unit = request.match_info["unit"]
            page, size = vm.page_params(request.query)
            now = api.now()

            def compute(ds: list[Dossier]) -> Any:
                items = vm.sort_by_due(vm.unit_items(ds, unit, which, book, now, catalog))
                return vm.window(items, page, size)

            return await api.share(compute)

        async def view(web: View, request: Request, unit: str) -> Response:
            units = _units(request)
            if units is not None and unit not in units:
                return _forbidden(web, f"unit {unit!r}")
            try:
                page, size = vm.page_params(request.query)
            except vm.BadRequest as err:
                return _bad(web, err)
            if _is_local(request):
                return web.json(await share(request))
            shares, partial = await api.gather(request, share)
            items = vm.sort_by_due([i for s in shares for i in s["items"]])
            total = sum(s["total"] for s in shares)
            body = vm.paginate(items, page, size, total)
            name = vm.unit_name(catalog, unit)
            return web.json({"unit": unit, "unit_name": name, **body, "partial": partial})

        return view

    overdue = unit_list("overdue")
    at_risk = unit_list("near_due")
    overdue.__name__, at_risk.__name__ = "unit_overdue", "unit_at_risk"
    app.page("/api/units/{unit}/overdue")(overdue)
    app.page("/api/units/{unit}/at-risk")(at_risk)

    async def unit_json(web: View, request: Request, unit: str, officer: str | None) -> Response:
        try:
            q = unit_query(request, unit, officer)
        except vm.BadRequest as err:
            return _bad(web, err)
        if q is None:
            return _forbidden(web, f"unit {unit!r}")
        return web.json(await api.unit_page(request, q))

    async def unit_view(web: View, request: Request, unit: str) -> Response:
        return await unit_json(web, request, unit, None)

    async def officer_view(web: View, request: Request, unit: str, officer: str) -> Response:
        return await unit_json(web, request, unit, officer)

    app.page("/api/units/{unit}")(unit_view)
    app.page("/api/units/{unit}/officers/{officer}")(officer_view)

    @app.page("/api/ping-pong")  # type: ignore[untyped-decorator]
    async def ping_pong(web: View, request: Request) -> Response:
        finished = request.query.get("finished") in ("1", "true", "yes")
        try:
            page, size = vm.page_params(request.query)
        except vm.BadRequest as err:
            return _bad(web, err)

        async def share(request: Request) -> Any:
            units, now = _units(request), api.now()

            def compute(ds: list[Dossier]) -> Any:
                mine = [d for d in ds if vm.readable(d, units)]
                found = vm.ping_pong_items(mine, book, now, finished=finished, catalog=catalog)
                items = vm.sort_ping_pong(found)
                return vm.window(items, page, size)

            return await api.share(compute)

        if _is_local(request):
            return web.json(await share(request))
        shares, partial = await api.gather(request, share)
        items = vm.sort_ping_pong([i for s in shares for i in s["items"]])
        total = sum(s["total"] for s in shares)
        return web.json({**vm.paginate(items, page, size, total), "partial": partial})

    @app.page("/api/board")  # type: ignore[untyped-decorator]
    async def board(web: View, request: Request) -> Response:
        now = api.now()
        try:
            start, end = vm.parse_period(request.query, now)
            page, size = vm.page_params({"size": str(vm.BOARD_SIZE), **request.query})
        except vm.BadRequest as err:
            return _bad(web, err)

        async def share(request: Request) -> Any:
            units = _units(request)

            def compute(ds: list[Dossier]) -> Any:
                # A unit head's board has their units' rows only: the dossiers they hold.
                mine = ds if units is None else [d for d in ds if d.unit in units]
                return vm.board_counts(mine, book, now, start, end)

            return await api.share(compute)

        if _is_local(request):
            return web.json(await share(request))
        shares, partial = await api.gather(request, share)
        loop = asyncio.get_running_loop()
        body = await loop.run_in_executor(
            None, vm.board_view, shares, start, end, page, size, catalog
        )
        body["period"]["retention_days"] = settings.retention_days
        body["as_of"] = to_iso(now)
        body["freshness"] = api.freshness()
        return web.json({**body, "partial": partial})

    @app.page("/api/report")  # type: ignore[untyped-decorator]
    async def report(web: View, request: Request) -> Response:
        # The period's figures per unit, as `dossierwatch report --api` writes them.
        try:
            period = parse_period(request.query.get("period", ""))
            as_of = judged_until(period, api.now())
        except PeriodError as err:
            return web.json({"error": str(err)}, status=400)

        async def share(request: Request) -> Any:
            units = _units(request)

            def compute(ds: list[Dossier]) -> Any:
                # A unit head's report has their units' rows only, as their board does.
                mine = ds if units is None else [d for d in ds if d.unit in units]
                return period_counts(mine, period.start, as_of, book)

            return await api.share(compute)

        if _is_local(request):
            return web.json(await share(request))
        shares, partial = await api.gather(request, share)
        found = build_report(
            merge_counts(shares),
            period,
            as_of,
            source="dossierwatch worker",
            catalog=catalog,
            partial=partial,
        )
        body = report_json(found)
        body["retention_days"] = settings.retention_days
        return web.json(body)

    return api
