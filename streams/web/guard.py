"""The guard in front of the worker's web server (aiohttp, through Faust): credentials,
roles by path, bounded requests, security headers.  The rules are in streams.web.auth.

Installed as an aiohttp middleware, so it stands in front of every route — ours, Faust's
own pages, and anything added later — rather than in each view, where one could be
forgotten.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from streams.web.auth import COOKIE, Guard, Identity, allowed
from streams.web.auth import SECURITY_HEADERS as HEADERS

MAX_QUERY_BYTES = 2048
MAX_BODY_BYTES = 64 * 1024
"""Nothing here takes a body larger than a few fields: anything bigger is refused unread."""

SECURITY_HEADERS = dict(HEADERS)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def identity_of(request: Any) -> Identity:
    """The caller the guard let in (every view behind the guard has one)."""
    found: Identity = request["identity"]
    return found


def middleware(guard: Guard) -> Any:
    @web.middleware
    async def guarded(request: web.Request, handler: Handler) -> web.StreamResponse:
        response = await _guard(guard, request, handler)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    return guarded


async def _guard(guard: Guard, request: web.Request, handler: Handler) -> web.StreamResponse:
    if len(request.query_string) > MAX_QUERY_BYTES:
        return _refuse(request, 414, "the query string is too long")
    if (request.content_length or 0) > MAX_BODY_BYTES:
        return _refuse(request, 413, "the request body is too large")
    token = request.query.get("token")
    if token is not None and request.method == "GET":
        return _sign_in(guard, request, token)
    identity = guard.identify(request.headers.get, request.cookies.get, request.remote)
    status = allowed(identity, request.path, public_metrics=guard.public_metrics)
    if status != 200:
        return _refuse(request, status, _why(status))
    if request.path == "/":
        return web.HTTPSeeOther("/wallboard")
    request["identity"] = identity
    return await handler(request)


def _sign_in(guard: Guard, request: web.Request, token: str) -> web.StreamResponse:
    """A token in the URL (the link printed at start-up): exchanged for a cookie, and the
    address bar, history and logs keep the page without it."""
    if guard.by_token(token) is None:
        return _refuse(request, 401, "this link's token is not valid")
    rest = {k: v for k, v in request.query.items() if k != "token"}
    path = "/wallboard" if request.path == "/" else request.path
    target = str(request.rel_url.with_path(path).with_query(rest))
    response = web.HTTPSeeOther(target)
    response.set_cookie(
        COOKIE, token, httponly=True, samesite="Strict", path="/", secure=request.secure
    )
    return response


def _why(status: int) -> str:
    return {
        401: "sign in: a bearer token, or the link with ?token= printed at start-up",
        403: "your role does not give access to this",
    }[status]


def _refuse(request: web.Request, status: int, reason: str) -> web.Response:
    headers = {"Cache-Control": "no-store"}
    if status == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="dossierwatch"'
    if "text/html" in request.headers.get("Accept", ""):
        body = f"<!doctype html><title>{status}</title><p>{status}: {reason}</p>"
        return web.Response(status=status, text=body, content_type="text/html", headers=headers)
    return web.Response(
        status=status,
        text=json.dumps({"error": reason}),
        content_type="application/json",
        headers=headers,
    )
