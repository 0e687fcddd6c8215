"""The query API: one dossier, per-unit lists, the ping-pong list and the board.

A worker holds only the dossiers of its own partitions.  A dossier request goes to the
worker that owns the dossier's partition (Faust's router).  A list request is answered
by the worker asked: it computes its own share, asks every other worker of the group
(`?scope=local`, their addresses from the partition assignor) for theirs, then merges,
sorts and pages.  When a worker does not answer, or the group's assignment does not
cover every partition (a rebalance), the answer says `"partial": true`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import aiohttp
from aiokafka.partitioner import murmur2
from faust.exceptions import SameNode
from faust.web import Request, Response, View
from faust.web.exceptions import ServiceUnavailable
from yarl import URL

from streams.core.dossier import Dossier
from streams.core.policy import PolicyBook
from streams.core.store import StoredStateError, unpack
from streams.web import views_model as vm

PEER_TIMEOUT = 5.0
"""Seconds to wait for another worker's share before answering without it."""

Share = Callable[[Request], Any]


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

    def states(self) -> Iterator[Dossier]:
        """The dossiers of the partitions this worker owns now.  A worker may still hold
        the states of partitions a rebalance took away: they are another worker's to
        report, and counting them here would count them twice."""
        owned = self._owned()
        n = self.settings.partitions
        for key, value in self.table.items():
            if value and int(murmur2(key) & 0x7FFFFFFF) % n in owned:
                try:
                    yield unpack(key.decode(), value)
                except StoredStateError:
                    continue

    def _owned(self) -> set[int]:
        me = self._me()
        return {p for url, parts in self._layout().items() if _ident(URL(url)) == me for p in parts}

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

    async def gather(self, request: Request, local: Share) -> tuple[list[Any], bool]:
        """Every worker's share for this request (this worker's first) and whether some
        partitions are missing from it."""
        layout = self._layout()
        me = self._me()
        peers = [url for url in layout if _ident(URL(url)) != me]
        session = self.app.http_client
        answers = await asyncio.gather(
            *(self._ask(session, URL(url), request) for url in peers), return_exceptions=True
        )
        shares = [local(request)]
        covered = self._owned()
        for url, answer in zip(peers, answers, strict=True):
            if isinstance(answer, BaseException):
                continue
            shares.append(answer)
            covered |= layout[url]
        partial = covered != set(range(self.settings.partitions))
        return shares, partial

    async def _ask(self, session: Any, peer: URL, request: Request) -> Any:
        url = request.url.with_host(peer.host or "127.0.0.1").with_port(peer.port)
        async with session.get(
            url.update_query(scope="local"), timeout=aiohttp.ClientTimeout(total=PEER_TIMEOUT)
        ) as r:
            r.raise_for_status()
            return await r.json()


def _ident(url: URL) -> tuple[str, int]:
    return (url.host or "", int(url.port or 80))


def _is_local(request: Request) -> bool:
    return request.query.get("scope") == "local"


def _bad(web: View, err: vm.BadRequest) -> Response:
    return web.json({"error": str(err)}, status=400)


def register_api(app: Any, *, table: Any, settings: Any, book: PolicyBook, core: Any) -> Api:
    api = Api(app, table, settings, book, core)

    @app.page("/api/dossiers/{dossier_id}")  # type: ignore[untyped-decorator]
    async def dossier(web: View, request: Request, dossier_id: str) -> Response:
        # `app.table_route` would do, but it answers 500 while the group has no
        # assignment yet (the assignor has no metadata): say "try again" instead.
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
        if d is None:
            return web.json({"error": f"unknown dossier {dossier_id!r}"}, status=404)
        return web.json(vm.dossier_view(d, book, api.now()))

    def unit_list(which: str) -> Callable[[View, Request, str], Awaitable[Response]]:
        def share(request: Request) -> list[Any]:
            unit = request.match_info["unit"]
            return vm.unit_items(api.states(), unit, which, book, api.now())

        async def view(web: View, request: Request, unit: str) -> Response:
            if _is_local(request):
                return web.json(share(request))
            try:
                page, size = vm.page_params(request.query)
            except vm.BadRequest as err:
                return _bad(web, err)
            shares, partial = await api.gather(request, share)
            items = vm.sort_by_due([i for s in shares for i in s])
            return web.json({"unit": unit, **vm.paginate(items, page, size), "partial": partial})

        return view

    overdue = unit_list("overdue")
    at_risk = unit_list("near_due")
    overdue.__name__, at_risk.__name__ = "unit_overdue", "unit_at_risk"
    app.page("/api/units/{unit}/overdue")(overdue)
    app.page("/api/units/{unit}/at-risk")(at_risk)

    @app.page("/api/ping-pong")  # type: ignore[untyped-decorator]
    async def ping_pong(web: View, request: Request) -> Response:
        finished = request.query.get("finished") in ("1", "true", "yes")

        def share(request: Request) -> list[Any]:
            return vm.ping_pong_items(api.states(), book, api.now(), finished=finished)

        if _is_local(request):
            return web.json(share(request))
        try:
            page, size = vm.page_params(request.query)
        except vm.BadRequest as err:
            return _bad(web, err)
        shares, partial = await api.gather(request, share)
        items = vm.sort_ping_pong([i for s in shares for i in s])
        return web.json({**vm.paginate(items, page, size), "partial": partial})

    @app.page("/api/board")  # type: ignore[untyped-decorator]
    async def board(web: View, request: Request) -> Response:
        now = api.now()
        try:
            start, end = vm.parse_period(request.query, now)
        except vm.BadRequest as err:
            return _bad(web, err)

        def share(request: Request) -> Any:
            return vm.board_counts(api.states(), book, now, start, end)

        if _is_local(request):
            return web.json(share(request))
        shares, partial = await api.gather(request, share)
        body = vm.board_view(shares, start, end)
        body["period"]["retention_days"] = settings.retention_days
        return web.json({**body, "partial": partial})

    return api
