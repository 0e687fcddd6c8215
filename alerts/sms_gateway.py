"""The centre's SMS gateway: one configurable HTTP request per message.

Every provider (the carriers' brandname gateways, the centre's own) takes a phone number
and a text, in its own request.  The gateway file describes that request:

    [request]
    method = "POST"                       # POST, PUT or GET
    url = "https://sms.tinh.example/api/send"
    format = "json"                       # json, form, or query (parameters in the URL)
    timeout = 10                          # seconds per try
    headers = { Authorization = "Bearer ${SMS_GATEWAY_TOKEN}" }
    [request.body]                        # the fields; nested tables for json
    to = "{phone}"
    message = "{text}"
    client_ref = "{message_id}"
    brandname = "TTHC-TINH"
    [response]                            # optional: a 2xx answer that still failed
    field = "code"                        # where in the JSON answer (dotted path)
    ok = ["0", "100"]
    [text]
    unaccented = true                     # GSM-7, 160/153 a segment (else UCS-2, 70/67)
    max_segments = 2
    send_resolved = false                 # resolutions cost an SMS each: off by default
    [retry]
    attempts = 4                          # tries per message on 5xx, 408, 429, timeouts
    backoff = 1.0                         # first wait, doubling (alerts/backoff.py)

Placeholders: {phone} 84xxxxxxxxx, {phone_local} 0xxxxxxxxx, {phone_e164} +84xxxxxxxxx,
{text}, {message_id} (the same for every retry of one notification to one person: a
gateway that refuses a client reference it has seen makes even a send whose answer was
lost harmless).  ${NAME} is read from the environment at start, so secrets stay out of
the file; a missing variable, an unknown placeholder or a request without {text} and a
phone stops the adapter at start with one line.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import tomllib
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import structlog

from alerts.backoff import backoff
from alerts.phone import e164_form, local_form
from streams.contract.errors import AlertDeliveryError

log = structlog.get_logger("dossierwatch.sms")

PLACEHOLDERS = ("phone", "phone_local", "phone_e164", "text", "message_id")
FORMATS = ("json", "form", "query")
METHODS = ("POST", "PUT", "GET")
_PLACEHOLDER = re.compile(r"(?<!\$)\{([A-Za-z_]*)\}")
_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
MAX_SEGMENTS = 10
"""The most a concatenated SMS is allowed here (phones join up to 255 in theory; a
gateway's own limit is usually lower)."""


class GatewayError(AlertDeliveryError):
    """The gateway file cannot be used."""


class SmsError(AlertDeliveryError):
    def __init__(self, message: str, *, transient: bool) -> None:
        super().__init__(message)
        self.transient = transient
        """Sending again later may succeed (5xx, 408, 429, timeout, network)."""


@dataclass(frozen=True)
class Gateway:
    url: str
    method: str = "POST"
    format: str = "json"
    timeout: float = 10.0
    headers: dict[str, str] = field(default_factory=dict)
    body: dict[str, Any] = field(default_factory=dict)
    ok_field: str = ""
    ok_values: tuple[str, ...] = ()
    unaccented: bool = True
    max_segments: int = 2
    send_resolved: bool = False
    attempts: int = 4
    backoff: float = 1.0


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def _expand_env(value: Any, where: str, env: dict[str, str]) -> Any:
    if isinstance(value, str):

        def read(m: re.Match[str]) -> str:
            if m[1] not in env:
                raise GatewayError(f"{where}: environment variable {m[1]} is not set")
            return env[m[1]]

        return _ENV.sub(read, value)
    if isinstance(value, dict):
        return {k: _expand_env(v, where, env) for k, v in value.items()}
    if isinstance(value, list):
        return [_expand_env(v, where, env) for v in value]
    return value


def _table(data: dict[str, Any], key: str, where: str) -> dict[str, Any]:
    table = data.get(key, {})
    if not isinstance(table, dict):
        raise GatewayError(f"{where}: [{key}] must be a table")
    return table


def parse_gateway(text: str, where: str, env: dict[str, str] | None = None) -> Gateway:
    env = dict(os.environ) if env is None else env
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise GatewayError(f"{where}: {err}") from None
    unknown = sorted(set(data) - {"request", "response", "text", "retry"})
    if unknown:
        raise GatewayError(f"{where}: unknown table [{unknown[0]}]")
    request = _table(data, "request", where)
    response = _table(data, "response", where)
    text_table = _table(data, "text", where)
    retry = _table(data, "retry", where)
    url = request.get("url")
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise GatewayError(f"{where}: request.url must be an http(s) URL")
    method = str(request.get("method", "POST")).upper()
    if method not in METHODS:
        raise GatewayError(f"{where}: request.method must be one of {', '.join(METHODS)}")
    fmt = request.get("format", "query" if method == "GET" else "json")
    if fmt not in FORMATS or (method == "GET" and fmt != "query"):
        raise GatewayError(f"{where}: request.format must be json, form or query (GET: query)")
    headers, body = request.get("headers", {}), request.get("body", {})
    if not isinstance(headers, dict) or not all(isinstance(v, str) for v in headers.values()):
        raise GatewayError(f"{where}: request.headers must map names to strings")
    if not isinstance(body, dict):
        raise GatewayError(f"{where}: [request.body] must be a table")
    if fmt != "json" and not all(isinstance(v, str | int | float) for v in body.values()):
        raise GatewayError(f"{where}: a {fmt} body must be flat (name = value)")
    said = _strings([url, headers, body])
    used = {name for s in said for name in _PLACEHOLDER.findall(s)}
    strange = sorted(used - set(PLACEHOLDERS))
    if strange:
        raise GatewayError(
            f"{where}: unknown placeholder {{{strange[0]}}} (known: {', '.join(PLACEHOLDERS)})"
        )
    if "text" not in used or not used & {"phone", "phone_local", "phone_e164"}:
        raise GatewayError(f"{where}: the request must carry {{text}} and a {{phone…}}")
    ok_field = response.get("field", "")
    ok_values = response.get("ok", [])
    if (
        not isinstance(ok_field, str)
        or not isinstance(ok_values, list)
        or (ok_field and not ok_values)
    ):
        raise GatewayError(f'{where}: [response] needs field = "…" and ok = [values]')
    timeout = request.get("timeout", 10)
    max_segments = text_table.get("max_segments", 2)
    attempts = retry.get("attempts", 4)
    delay = retry.get("backoff", 1.0)
    if not isinstance(timeout, int | float) or isinstance(timeout, bool) or timeout <= 0:
        raise GatewayError(f"{where}: request.timeout must be a positive number of seconds")
    if not isinstance(max_segments, int) or not 1 <= max_segments <= MAX_SEGMENTS:
        raise GatewayError(f"{where}: text.max_segments must be 1 to {MAX_SEGMENTS}")
    if not isinstance(attempts, int) or attempts < 1:
        raise GatewayError(f"{where}: retry.attempts must be at least 1")
    if not isinstance(delay, int | float) or isinstance(delay, bool) or delay < 0:
        raise GatewayError(f"{where}: retry.backoff must be seconds (0 or more)")
    flags = {k: text_table.get(k, d) for k, d in (("unaccented", True), ("send_resolved", False))}
    if not all(isinstance(v, bool) for v in flags.values()):
        raise GatewayError(f"{where}: text.unaccented and text.send_resolved are true or false")
    return Gateway(
        url=_expand_env(url, where, env),
        method=method,
        format=fmt,
        timeout=float(timeout),
        headers=_expand_env(headers, where, env),
        body=_expand_env(body, where, env),
        ok_field=ok_field,
        ok_values=tuple(str(v) for v in ok_values),
        unaccented=flags["unaccented"],
        max_segments=max_segments,
        send_resolved=flags["send_resolved"],
        attempts=attempts,
        backoff=float(delay),
    )


def load_gateway(path: Path) -> Gateway:
    where = f"SMS gateway {path}"
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise GatewayError(f"{where}: {err.strerror or err}") from None
    return parse_gateway(text, where)


def _fill(value: Any, values: dict[str, str], quote: bool = False) -> Any:
    if isinstance(value, str):
        return _PLACEHOLDER.sub(
            lambda m: urllib.parse.quote(values[m[1]], safe="") if quote else values[m[1]],
            value,
        )
    if isinstance(value, dict):
        return {k: _fill(v, values) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, values) for v in value]
    return value


def _field(answer: Any, path: str) -> str | None:
    for part in path.split("."):
        if not isinstance(answer, dict) or part not in answer:
            return None
        answer = answer[part]
    return str(answer)


class SmsGateway:
    def __init__(self, session: aiohttp.ClientSession, gateway: Gateway) -> None:
        self.session = session
        self.gateway = gateway

    async def send(self, phone: str, text: str, message_id: str) -> None:
        """Send one SMS to `phone` (84…), retrying what may pass later; SmsError if not."""
        g = self.gateway
        values = {
            "phone": phone,
            "phone_local": local_form(phone),
            "phone_e164": e164_form(phone),
            "text": text,
            "message_id": message_id,
        }
        delays = backoff(g.backoff, max(g.backoff, 30.0))
        attempt = 0
        while True:
            attempt += 1
            try:
                await self._try(values)
                return
            except SmsError as err:
                if not err.transient or attempt >= g.attempts:
                    raise
                pause = next(delays)
                log.warning(
                    "sms_retry", message_id=message_id, retry_in=round(pause, 2), error=str(err)
                )
                await asyncio.sleep(pause)

    async def _try(self, values: dict[str, str]) -> None:
        g = self.gateway
        url = _fill(g.url, values, quote=True)
        body = _fill(g.body, values)
        kwargs: dict[str, Any] = {"headers": _fill(g.headers, values)}
        if g.format == "json":
            kwargs["json"] = body
        elif g.format == "form":
            kwargs["data"] = {k: str(v) for k, v in body.items()}
        else:
            kwargs["params"] = {k: str(v) for k, v in body.items()}
        timeout = aiohttp.ClientTimeout(total=g.timeout)
        try:
            async with self.session.request(g.method, url, timeout=timeout, **kwargs) as r:
                status = r.status
                raw = await r.read()
        except (aiohttp.ClientError, TimeoutError) as err:
            raise SmsError(f"network: {err.__class__.__name__} {err}", transient=True) from None
        if status in (408, 429) or status >= 500:
            raise SmsError(f"HTTP {status}", transient=True)
        if not 200 <= status < 300:
            raise SmsError(f"HTTP {status}: {raw[:200]!r}", transient=False)
        if g.ok_field:
            try:
                answer = json.loads(raw)
            except ValueError:
                answer = None
            code = _field(answer, g.ok_field)
            if code not in g.ok_values:
                raise SmsError(f"gateway refused: {g.ok_field}={code}", transient=False)
