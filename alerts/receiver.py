"""The web side every Alertmanager webhook adapter shares (Zalo, SMS).

POST /<prefix>/<role> takes a notification: the guard (alerts/webhook_auth.py) has checked
the secret and the declared size; the body must be JSON (400), an Alertmanager webhook
object (400 with a short reason); the adapter delivers it, and the answer tells
Alertmanager whether to retry: 200 when every recipient got the message or never can,
502 when a send may succeed later.  GET /health and /metrics need no secret.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Protocol

import structlog
from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, generate_latest

from alerts.notification import ShapeError, validate_group
from alerts.recipients import ROLES
from alerts.webhook_auth import SecretFile, WebhookGuard, read_body

log = structlog.get_logger("dossierwatch.webhook")

REJECT_REASONS = (
    "no_credentials",
    "wrong_scheme",
    "wrong_secret",
    "too_large",
    "not_json",
    "bad_shape",
    "not_found",
    "method_not_allowed",
)


class Delivery(Protocol):
    async def deliver(self, role: str, group: dict[str, Any]) -> bool:
        """Send the group to the role's people; False if a send may succeed on a retry."""
        ...


class Holder:
    """The adapter, set once the app's client session exists (in its cleanup context)."""

    delivery: Delivery | None = None


HOLDER = web.AppKey("delivery", Holder)
GUARD = web.AppKey("guard", WebhookGuard)
REGISTRY = web.AppKey("registry", CollectorRegistry)


def rejection_counter(name: str, registry: CollectorRegistry) -> Counter:
    """Requests turned away before delivery, by reason, every reason shown from the start."""
    counter = Counter(
        name,
        "Webhook requests turned away before delivery, by reason",
        ["reason"],
        registry=registry,
    )
    for reason in REJECT_REASONS:
        counter.labels(reason)
    return counter


async def _notify(request: web.Request) -> web.StreamResponse:
    guard = request.app[GUARD]
    body = await read_body(request, guard)
    if isinstance(body, web.Response):
        return body
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        return guard.reject(request, "not_json", 400, message="body is not JSON")
    try:
        group = validate_group(data)
    except ShapeError as err:
        return guard.reject(request, "bad_shape", 400, message=str(err))
    delivery = request.app[HOLDER].delivery
    assert delivery is not None, "the adapter is set before the app serves"
    ok = await delivery.deliver(request.match_info["role"], group)
    return web.json_response({"delivered": ok}, status=200 if ok else 502)


async def _health(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def _metrics(request: web.Request) -> web.Response:
    return web.Response(body=generate_latest(request.app[REGISTRY]), content_type="text/plain")


class WebhookSettings(Protocol):
    @property
    def webhook_secret_file(self) -> Path | None:
        """The token Alertmanager sends as `Authorization: Bearer …`."""

    @property
    def insecure_no_auth(self) -> bool:
        """Accept notifications without a token: local experiments only."""

    @property
    def max_body(self) -> int: ...


def warn_if_open(s: WebhookSettings) -> None:
    """Say loudly, at start, that anyone may post notifications."""
    if s.webhook_secret_file is None:
        log.warning(
            "webhook_auth_disabled",
            hint="--insecure-no-auth: anyone who reaches this port can message staff;"
            " for local experiments only",
        )


def receiver_app(
    prefix: str, s: WebhookSettings, registry: CollectorRegistry, rejected: Counter
) -> web.Application:
    """The app with its routes; the caller sets `app[HOLDER].delivery` when it starts.
    Without a webhook secret it is refused, unless told it is insecure on purpose."""
    if s.webhook_secret_file is None and not s.insecure_no_auth:
        raise ValueError("no webhook secret file (or insecure_no_auth for experiments)")
    secret = SecretFile(s.webhook_secret_file) if s.webhook_secret_file is not None else None
    guard = WebhookGuard(
        secret, max_body=s.max_body, on_reject=lambda reason: rejected.labels(reason).inc()
    )
    # client_max_size caps a chunked body too, which has no Content-Length to check first.
    app = web.Application(middlewares=[guard.middleware], client_max_size=s.max_body)
    app[GUARD] = guard
    app[REGISTRY] = registry
    app[HOLDER] = Holder()
    app.router.add_post(f"/{prefix}/{{role:" + "|".join(ROLES) + "}", _notify)
    app.router.add_get("/health", _health)
    app.router.add_get("/metrics", _metrics)
    return app
