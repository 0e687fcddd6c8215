"""The secret between Alertmanager and a receiver of its webhook notifications.

Alertmanager sends `Authorization: Bearer <token>` with each notification of a webhook
config that has `http_config: authorization: credentials_file: FILE` (Bearer is the
default type).  It reads FILE at every notification and trims the whitespace around its
contents, so a token file written by `openssl rand -hex 32 > FILE` works unchanged.  The
receiver reads the same file: this module is its side.

`WebhookGuard` is aiohttp middleware that, before the body is read, answers
- 401 with `WWW-Authenticate` when the Bearer token is missing or wrong (compared in
  constant time: both sides are hashed first, so not even the token's length leaks);
- 413 when the declared body is larger than the limit (a chunked body is capped by the
  application's client_max_size, see `read_body`);
and counts each rejection by reason.  A rejected request's body is never parsed, kept
nor logged: the answer goes out first, then aiohttp discards what the sender is still
sending (its lingering close, at most 10 s, so the sender reads the 401 rather than a
reset connection) and closes the connection.  Paths listed as open (health, metrics)
need no token; a path that matches no route is a 404 before anything else.

The file is read again when it changes, so rotating the token needs no restart: overwrite
the file both sides read (Alertmanager picks it up at its next notification).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass
from pathlib import Path

import structlog
from aiohttp import web

from streams.contract.errors import AccessError

log = structlog.get_logger("dossierwatch.webhook")

SCHEME = "Bearer"
MIN_SECRET = 16
"""Characters a token must have at least: `openssl rand -hex 32` gives 64."""
MAX_BODY = 1024 * 1024
"""Bytes of a notification body: Alertmanager's largest, with max_alerts: 100 in its
webhook config, stays around 300 KiB."""
REALM = "dossierwatch"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class SecretError(AccessError):
    pass


def read_secret(path: Path) -> bytes:
    """The token in `path`, trimmed as Alertmanager trims it; refuses a weak or odd one."""
    token = path.read_bytes().strip()
    if not token:
        raise SecretError(f"webhook secret file {path} is empty")
    if len(token) < MIN_SECRET:
        raise SecretError(
            f"webhook secret in {path} is shorter than {MIN_SECRET} characters"
            " (make one with `openssl rand -hex 32`)"
        )
    # A header value cannot carry newlines, and spaces or non-ASCII bytes would be read
    # differently by the two sides.
    if not all(0x21 <= b <= 0x7E for b in token):
        raise SecretError(
            f"webhook secret in {path} must be printable ASCII without spaces"
            " (make one with `openssl rand -hex 32`)"
        )
    return token


def _digest(value: bytes) -> bytes:
    return hashlib.sha256(value).digest()


@dataclass
class SecretFile:
    """The token file, re-read when it changes; a broken rewrite keeps the last good token."""

    path: Path
    _stamp: tuple[int, int, int] | None = None
    _digest: bytes = b""

    def __post_init__(self) -> None:
        self.digest()  # a missing or weak secret fails at start, not at the first alert

    def digest(self) -> bytes:
        """SHA-256 of the current token (only the digest is kept, to compare with)."""
        try:
            st = self.path.stat()
            stamp = (st.st_mtime_ns, st.st_size, st.st_ino)
            if stamp == self._stamp:
                return self._digest
            digest = _digest(read_secret(self.path))
        except (OSError, SecretError) as err:
            if self._stamp is None:
                raise
            # Half-written during a rotation: the old token still guards the door.
            log.error("webhook_secret_unreadable", path=str(self.path), error=str(err))
            return self._digest
        if self._stamp is not None:
            log.info("webhook_secret_reloaded", path=str(self.path))
        self._stamp, self._digest = stamp, digest
        return digest


def check_authorization(header: str | None, expected: bytes) -> str | None:
    """None when `header` is `Bearer <the token>`, else why not: "no_credentials",
    "wrong_scheme" or "wrong_secret".  `expected` is the token's SHA-256 digest."""
    if not header:
        return "no_credentials"
    scheme, _, credentials = header.strip().partition(" ")
    if scheme.lower() != SCHEME.lower():
        return "wrong_scheme"
    # aiohttp decodes headers with surrogateescape: encoding back gives the sent bytes.
    presented = credentials.strip().encode("utf-8", "surrogateescape")
    if not hmac.compare_digest(_digest(presented), expected):
        return "wrong_secret"
    return None


def _challenge(reason: str) -> str:
    # RFC 6750: a request without credentials gets the bare challenge, a bad token the error.
    if reason == "wrong_secret":
        return f'{SCHEME} realm="{REALM}", error="invalid_token"'
    return f'{SCHEME} realm="{REALM}"'


_MESSAGES = {
    401: "unauthorized",
    404: "not found",
    405: "method not allowed",
    413: "request body too large",
}


@dataclass
class WebhookGuard:
    """Authentication and a body limit in front of every route but the open ones.

    `secret` None turns authentication off (`--insecure-no-auth`, local experiments only).
    `on_reject(reason)` is called once per rejected request, e.g. to count it.
    """

    secret: SecretFile | None
    open_paths: Collection[str] = ("/health", "/metrics")
    max_body: int = MAX_BODY
    on_reject: Callable[[str], None] = lambda reason: None

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        missing = request.match_info.http_exception
        if missing is not None:
            # No route: 404 (or 405) whoever asks; the body is not read.
            what = "method_not_allowed" if missing.status == 405 else "not_found"
            return self.reject(request, what, missing.status, dict(missing.headers))
        if request.path in self.open_paths:
            return await handler(request)
        if self.secret is not None:
            reason = check_authorization(request.headers.get("Authorization"), self.secret.digest())
            if reason is not None:
                return self.reject(request, reason, 401)
        if request.content_length is not None and request.content_length > self.max_body:
            return self.reject(request, "too_large", 413)
        return await handler(request)

    def reject(
        self,
        request: web.Request,
        reason: str,
        status: int,
        headers: dict[str, str] | None = None,
        *,
        message: str | None = None,
    ) -> web.Response:
        """The answer to a request turned away, counted and logged (never its body).
        `message`, a short reason for the sender, must not quote what it sent."""
        self.on_reject(reason)
        self._log(request, reason, status)
        headers = dict(headers or {})
        headers.pop("Content-Type", None)
        if status == 401:
            headers["WWW-Authenticate"] = _challenge(reason)
        text = message or _MESSAGES.get(status, reason)
        response = web.json_response({"error": text}, status=status, headers=headers)
        # "Connection: close": the unread rest is discarded, the connection not reused.
        response.force_close()
        return response

    def _log(self, request: web.Request, reason: str, status: int) -> None:
        # Never the body nor the Authorization header: only what identifies the attempt.
        # A flood is counted in full; streams.infra.logs lets one such warning out per interval.
        log.warning(
            "webhook_rejected",
            reason=reason,
            status=status,
            method=request.method,
            path=request.path[:200],
            peer=request.remote,
        )


async def read_body(request: web.Request, guard: WebhookGuard) -> bytes | web.Response:
    """The request body, or the 413 answer when it is larger than the guard allows (a
    chunked body has no Content-Length: aiohttp stops at the app's client_max_size)."""
    try:
        body = await request.read()
    except web.HTTPRequestEntityTooLarge:
        return guard.reject(request, "too_large", 413)
    if len(body) > guard.max_body:
        return guard.reject(request, "too_large", 413)
    return body
