"""The gateway's routes: `POST /v1/events`, `POST /v1/adapters/<name>`, `GET /v1/schema`,
`GET /health`, `GET /metrics`.

One path for every way events come in (`ingest`): all of a request's events through
the worker's boundary, then, only if every one is admitted and is the token's source,
all of them to Kafka, and 202 once the broker acknowledged each.  Otherwise nothing is
produced: 400 listing each bad event, 403 for events of another source, 503 (with
Retry-After) when Kafka did not acknowledge in time.

The adapter route (`POST /v1/adapters/<name>`) is the same path after the mapping:

    sender = authenticate(request)                  # 401/403 raised as an answer
    body = await read_body(request)                 # 413 raised as an answer
    return await ingest(request, sender, adapt(body))   # DossierEvents or JSON bytes
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Final

import structlog
from aiohttp import web

from producers.gateway.auth import Sender, SourceTokens
from producers.gateway.metrics import GatewayMetrics
from producers.gateway.settings import GatewaySettings
from producers.gateway.sink import Record, Sink, Unavailable
from producers.gateway.validate import BodyError, check_events, split_batch
from streams.contract.events import DossierEvent
from streams.contract.schema import json_schema
from streams.eventlogs.adapters import ADAPTERS, InvalidPayload, adapt_bytes

log = structlog.get_logger("dossierwatch.ingest")

SINGLE: Final = "application/cloudevents+json"
BATCH: Final = "application/cloudevents-batch+json"
CHARSETS: Final = frozenset({"utf-8", "utf8"})


class Gateway:
    """What the routes share: settings, tokens, the sink, the metrics."""

    def __init__(
        self, settings: GatewaySettings, tokens: SourceTokens, sink: Sink, metrics: GatewayMetrics
    ) -> None:
        self.settings = settings
        self.tokens = tokens
        self.sink = sink
        self.metrics = metrics


GATEWAY: Final = web.AppKey("gateway", Gateway)


class Refused(Exception):
    """A request refused as a whole; the middleware answers it (JSON), counts and logs it."""

    def __init__(
        self,
        status: int,
        reason: str,
        message: str,
        *,
        events: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
        close: bool = False,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.reason = reason
        self.message = message
        self.events = events
        self.headers = headers or {}
        self.close = close
        """Answer before the body is read: close the connection rather than read on."""


# -- the pieces a route is made of ----------------------------------------------------


def authenticate(request: web.Request) -> Sender:
    """The token's holder, who may send events of one source; Refused 401/403 otherwise."""
    sender = request.app[GATEWAY].tokens.sender(request.headers.get("Authorization"))
    if sender is None:
        header = request.headers.get("Authorization")
        raise Refused(
            401,
            "unauthorized",
            "a valid bearer token is required" if header else "no bearer token",
            headers={"WWW-Authenticate": 'Bearer realm="dossierwatch-ingest"'},
            close=True,
        )
    if sender.source is None:
        raise Refused(403, "forbidden", "this token may not send events", close=True)
    return sender


async def read_body(request: web.Request) -> bytes:
    """The body, or Refused 413 when it is over the limit — unread when the request says
    its length, and no further than the limit when it is chunked."""
    limit = request.app[GATEWAY].settings.max_body
    too_large = Refused(
        413, "too_large", f"the body is over {limit:,} bytes: send smaller batches", close=True
    )
    if request.content_length is not None and request.content_length > limit:
        raise too_large
    try:
        body = await request.read()  # the application's client_max_size stops it at limit
    except web.HTTPRequestEntityTooLarge:
        raise too_large from None
    if len(body) > limit:
        raise too_large
    return body


async def ingest(
    request: web.Request, sender: Sender, items: Sequence[DossierEvent | bytes]
) -> web.Response:
    """Validate all, then produce all: 202 once Kafka acknowledged every event; Refused
    400 (bad events, each listed), 403 (another source) or 503 (Kafka) with nothing
    of the request answered as accepted.  `items`: events built in-process (an
    adapter's) or one JSON CloudEvent's bytes each."""
    gw = request.app[GATEWAY]
    checked, problems = check_events(items, gw.settings.bounds)
    foreign = [
        {"index": c.index, "id": c.event.id, "source": c.event.source}
        for c in checked
        if c.event.source != sender.source
    ]
    if foreign:  # authority first: whatever else is wrong, these may not come from here
        raise Refused(
            403,
            "forbidden_source",
            f"this token may send events of source {sender.source!r} only;"
            f" {len(foreign):,} event(s) name another: nothing of this request was sent",
            events=foreign,
        )
    if problems:
        for p in problems:
            gw.metrics.events_rejected.labels(p.reason).inc()
        raise Refused(
            400,
            "invalid_events",
            f"{len(problems):,} of {len(items):,} event(s) invalid: nothing of this request"
            " was sent; fix them and send the request again",
            events=[p.as_json() for p in problems],
        )
    records = [Record.of(c.event, c.raw) for c in checked]
    began = time.perf_counter()
    try:
        await gw.sink.deliver(records)
    except Unavailable as err:
        retry = gw.settings.retry_after
        raise Refused(
            503,
            "unavailable",
            f"Kafka did not acknowledge the events ({err}); retry in {retry} s:"
            " a retry is safe, event ids are deduplicated downstream",
            headers={"Retry-After": str(retry)},
        ) from None
    gw.metrics.produce_seconds.observe(time.perf_counter() - began)
    gw.metrics.events_accepted.inc(len(records))
    return web.json_response({"accepted": len(records)}, status=202)


# -- routes --------------------------------------------------------------------------


async def post_events(request: web.Request) -> web.Response:
    gw = request.app[GATEWAY]
    sender = authenticate(request)
    kind = request.content_type.lower()
    charset = request.charset
    if kind not in (SINGLE, BATCH) or (charset is not None and charset.lower() not in CHARSETS):
        raise Refused(
            415,
            "unsupported_media_type",
            f"send {SINGLE} (one event) or {BATCH} (a JSON array), UTF-8",
            close=True,
        )
    body = await read_body(request)
    if kind == SINGLE:
        items = [body]
    else:
        try:
            items = split_batch(body, gw.settings.max_batch)
        except BodyError as err:
            raise Refused(err.status, err.kind, err.message) from None
    return await ingest(request, sender, items)


async def post_adapted(request: web.Request) -> web.Response:
    """`POST /v1/adapters/<name>`: one body as the source system sends it (a portal sync
    request, an OpenCPS dossier, a BHXH poll), mapped to contract events stamped with the
    token's source, then the same path as `/v1/events`.  A payload that cannot be mapped
    is refused whole (400, with the field, the value and the reason); nothing is guessed."""
    sender = authenticate(request)  # first: even the list of adapters is for senders
    name = request.match_info["name"]
    if name not in ADAPTERS:
        raise Refused(
            404, "unknown_adapter", f"no adapter {name!r}; known: {', '.join(sorted(ADAPTERS))}"
        )
    body = await read_body(request)
    try:
        events = adapt_bytes(name, body, source=sender.source)
    except InvalidPayload as err:
        request.app[GATEWAY].metrics.events_rejected.labels(f"payload_{err.reason}").inc()
        raise Refused(
            400,
            "invalid_payload",
            f"the {name} payload cannot be mapped: nothing of this request was sent",
            events=[
                {
                    "field": err.field,
                    "value": _shown(err.value),
                    "reason": err.reason,
                    "message": str(err),
                }
            ],
        ) from None
    return await ingest(request, sender, events)


def _shown(value: object) -> object:
    """A payload value as the answer repeats it: JSON scalars as they were, else text."""
    return value if value is None or isinstance(value, (str, int, float, bool)) else repr(value)


async def schema(request: web.Request) -> web.Response:
    """`GET /v1/schema`: the contract's JSON Schema (2020-12), for any valid token."""
    gw = request.app[GATEWAY]
    if gw.tokens.sender(request.headers.get("Authorization")) is None:
        raise Refused(
            401,
            "unauthorized",
            "a valid bearer token is required",
            headers={"WWW-Authenticate": 'Bearer realm="dossierwatch-ingest"'},
        )
    return web.json_response(json_schema(), content_type="application/schema+json")


async def health(request: web.Request) -> web.Response:
    connected = request.app[GATEWAY].sink.connected
    return web.json_response({"status": "ok", "kafka": "connected" if connected else "waiting"})


async def metrics(request: web.Request) -> web.Response:
    gw = request.app[GATEWAY]
    if not gw.settings.public_metrics:
        sender = gw.tokens.sender(request.headers.get("Authorization"))
        if sender is None:
            raise Refused(
                401,
                "unauthorized",
                "a metrics token is required",
                headers={"WWW-Authenticate": 'Bearer realm="dossierwatch-ingest"'},
            )
        if not sender.metrics:
            raise Refused(403, "forbidden", "this token may not read /metrics")
    return web.Response(
        body=gw.metrics.render(), headers={"Content-Type": "text/plain; version=0.0.4"}
    )


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def answers(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every answer counted by status; a refusal answered in JSON and logged in one line
    (rate-limited per kind by streams.infra.logs when logging is configured)."""
    gw = request.app[GATEWAY]
    try:
        response = await handler(request)
    except Refused as refused:
        response = _refusal(request, gw, refused)
    except web.HTTPException as exc:  # aiohttp's own (404, 405)
        gw.metrics.requests.labels(str(exc.status)).inc()
        raise
    gw.metrics.requests.labels(str(response.status)).inc()
    return response


def _refusal(request: web.Request, gw: Gateway, refused: Refused) -> web.Response:
    gw.metrics.requests_rejected.labels(refused.reason).inc()
    body: dict[str, Any] = {"error": refused.reason, "message": refused.message}
    if refused.events is not None:
        body["events"] = refused.events
    reasons = Counter(e["reason"] for e in refused.events or () if "reason" in e)
    log.warning(
        f"ingest_rejected_{refused.reason}",
        status=refused.status,
        message=refused.message[:300],
        events=len(refused.events or ()),
        reasons=dict(reasons) or None,
        sender=_sender_name(request, gw),
        peer=request.remote,
    )
    response = web.json_response(body, status=refused.status, headers=refused.headers)
    if refused.close:
        response.force_close()  # the unread body is discarded with the connection
    return response


def _sender_name(request: web.Request, gw: Gateway) -> str | None:
    sender = gw.tokens.sender(request.headers.get("Authorization"))
    return sender.name if sender is not None else None


def create_app(settings: GatewaySettings, tokens: SourceTokens, sink: Sink) -> web.Application:
    """The aiohttp application; the sink is closed (flushed) when the app is cleaned up,
    after in-flight requests have finished."""
    app = web.Application(middlewares=[answers], client_max_size=settings.max_body)
    app[GATEWAY] = Gateway(settings, tokens, sink, GatewayMetrics())
    app.router.add_post("/v1/events", post_events)
    app.router.add_post("/v1/adapters/{name}", post_adapted)
    app.router.add_get("/v1/schema", schema)
    app.router.add_get("/health", health)
    app.router.add_get("/metrics", metrics)

    async def close_sink(_app: web.Application) -> None:
        await sink.close()

    app.on_cleanup.append(close_sink)
    return app
