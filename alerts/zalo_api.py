"""The Zalo Official Account API, the two calls the adapter needs.

Send (a consultation message, "tin tư vấn"):
    POST {api}/v3.0/oa/message/cs   header access_token: <OA access token>
    {"recipient": {"user_id": "<the follower's id for this OA>"}, "message": {"text": "…"}}
    → {"error": 0, "message": "Success", "data": {"message_id": "…", "user_id": "…"}}
Refresh the access token (it lives about 25 hours):
    POST {oauth}/v4/oa/access_token   header secret_key: <the app's secret key>
    form app_id, grant_type=refresh_token, refresh_token
    → {"access_token": "…", "refresh_token": "…", "expires_in": "90000"}
A refresh token works once: the new one must be stored before anything else happens.
Errors come back as HTTP 200 with a non-zero `error`: -216 (access token invalid) and
-220 (expired or removed) mean refresh and retry; -32 means the app hit its rate limit.
-213 (not a follower) and -230 (no interaction with the OA in the last 7 days; Zalo
answers it though its documentation only lists -213, as khoicodedao/Poto_platform
docs/FIX_ERROR_230.md found) mean the person cannot get a consultation message now.

Send a ZNS template message (Zalo Notification Service, by phone number, billed per
message; the same OA access token):
    POST {zns}/message/template   header access_token: <OA access token>
    {"phone": "84…", "template_id": "…", "template_data": {"param": "value", …},
     "tracking_id": "<ours, for reconciliation>"}
    → {"error": 0, "message": "Success", "data": {"msg_id": "…", "sent_time": "…",
       "quota": {"dailyQuota": "500", "remainingQuota": "499"}}}
(the shape third-party clients of https://business.openapi.zalo.me/message/template
use, e.g. the ZNS adapters found by a code search for "message/template tracking_id").
Error codes (zalo.cloud/zns/guidelines/handle-error-code): -100 unknown error, try again
later; -124 access token invalid (refresh); the others (-108 phone number invalid, -109
template id invalid, -111/-112 template data empty/invalid, -118 no Zalo account for the
number, the quota errors …) do not get better by sending the same request again.
"""

from __future__ import annotations

import asyncio
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import structlog

from alerts import plaintext
from alerts.backoff import backoff
from streams.contract.errors import AlertDeliveryError

log = structlog.get_logger("dossierwatch.zalo")

TOKEN_ERRORS = frozenset({-216, -220, -124})
"""-216/-220 from the OA API, -124 from ZNS: refresh the token and send again."""
RATE_LIMITED = frozenset({-32, -100})
"""-32 the OA API's rate limit, -100 ZNS's "unknown error, try again later"."""
OA_UNREACHABLE = frozenset({-213, -230})
"""The person cannot get a consultation message now: a ZNS template may reach them."""
TEXT_LIMIT = 2000
"""Characters a consultation text message may hold (the figure third-party SDKs of the OA
API document; Zalo's own page was not at hand).  Counted in UTF-16 code units, as a
JavaScript or Java server would count them: an emoji weighs two, a Vietnamese letter in
NFC one, so a text that fits here fits whichever way Zalo counts."""


def zalo_length(text: str) -> int:
    """The length of `text` in UTF-16 code units."""
    return plaintext.utf16_length(text)


def clip(text: str, limit: int = TEXT_LIMIT) -> str:
    """`text` cut to at most `limit` UTF-16 code units, ending in "…" when cut."""
    return plaintext.clip(text, limit)


class ZaloError(AlertDeliveryError):
    def __init__(self, code: int, message: str, *, transient: bool = False) -> None:
        super().__init__(f"Zalo error {code}: {message}")
        self.code = code
        self.transient = transient
        """Sending again later may succeed (rate limit, network, server error)."""


@dataclass
class TokenStore:
    """The OA's tokens in a JSON file {"access_token", "refresh_token"}, rewritten whole
    (write, then rename) so a crash never leaves half a refresh token."""

    path: Path
    access_token: str = ""
    refresh_token: str = ""

    @classmethod
    def load(cls, path: Path) -> TokenStore:
        data = json.loads(path.read_text(encoding="utf-8"))
        return cls(path, str(data["access_token"]), str(data["refresh_token"]))

    def save(self, access_token: str, refresh_token: str) -> None:
        tmp = self.path.with_name(self.path.name + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump({"access_token": access_token, "refresh_token": refresh_token}, out)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, self.path)
        self.access_token, self.refresh_token = access_token, refresh_token


class ZaloClient:
    def __init__(
        self,
        session: aiohttp.ClientSession,
        tokens: TokenStore,
        *,
        app_id: str,
        secret_key: str,
        api_base: str = "https://openapi.zalo.me",
        oauth_base: str = "https://oauth.zaloapp.com",
        zns_base: str = "https://business.openapi.zalo.me",
        backoff_initial: float = 2.0,
        backoff_max: float = 60.0,
        max_attempts: int = 6,
    ) -> None:
        self.session = session
        self.tokens = tokens
        self.app_id = app_id
        self.secret_key = secret_key
        self.api_base = api_base.rstrip("/")
        self.oauth_base = oauth_base.rstrip("/")
        self.zns_base = zns_base.rstrip("/")
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        self.max_attempts = max_attempts
        # Two requests meeting an expired token must not both spend the refresh token.
        self._refreshing = asyncio.Lock()

    async def send_text(self, user_id: str, text: str) -> str:
        """Send one consultation text message; returns Zalo's message id."""
        payload = {"recipient": {"user_id": user_id}, "message": {"text": clip(text)}}
        data = await self._call(f"{self.api_base}/v3.0/oa/message/cs", payload, user_id)
        return str(data.get("message_id", ""))

    async def send_template(
        self, phone: str, template_id: str, params: dict[str, str], tracking_id: str
    ) -> str:
        """Send one ZNS template message to `phone` (84…); returns ZNS's msg_id."""
        payload = {
            "phone": phone,
            "template_id": template_id,
            "template_data": params,
            "tracking_id": tracking_id,
        }
        data = await self._call(f"{self.zns_base}/message/template", payload, tracking_id)
        return str(data.get("msg_id", ""))

    async def _call(self, url: str, payload: dict[str, Any], who: str) -> dict[str, Any]:
        """POST `payload`, refreshing an expired token once and backing off on the rate
        limit; the answer's `data`, or ZaloError."""
        delays = backoff(self.backoff_initial, self.backoff_max)
        refreshed = False
        attempt = 0
        while True:
            attempt += 1
            token = self.tokens.access_token
            try:
                body = await self._post_json(url, payload, {"access_token": token})
            except ZaloError as err:
                if not err.transient or attempt >= self.max_attempts:
                    raise
                await self._pause(next(delays), who, err)
                continue
            code = int(body.get("error", 0))
            if code == 0:
                data = body.get("data")
                return data if isinstance(data, dict) else {}
            message = str(body.get("message", ""))
            if code in TOKEN_ERRORS and not refreshed:
                refreshed = True
                await self.refresh(stale=token)
                continue
            if code in RATE_LIMITED and attempt < self.max_attempts:
                await self._pause(next(delays), who, ZaloError(code, message, transient=True))
                continue
            raise ZaloError(code, message, transient=code in RATE_LIMITED)

    async def _pause(self, seconds: float, who: str, err: ZaloError) -> None:
        log.warning("zalo_retry", recipient=who, retry_in=round(seconds, 2), error=str(err))
        await asyncio.sleep(seconds)

    async def refresh(self, stale: str) -> None:
        """Trade the refresh token for new tokens, unless another request already did."""
        async with self._refreshing:
            if self.tokens.access_token != stale:
                return
            form = {
                "app_id": self.app_id,
                "grant_type": "refresh_token",
                "refresh_token": self.tokens.refresh_token,
            }
            url = f"{self.oauth_base}/v4/oa/access_token"
            try:
                async with self.session.post(
                    url, data=form, headers={"secret_key": self.secret_key}
                ) as r:
                    body = await r.json(content_type=None)
            except (aiohttp.ClientError, TimeoutError, ValueError) as err:
                raise ZaloError(-1, f"token refresh failed: {err}", transient=True) from None
            if not isinstance(body, dict):
                raise ZaloError(-1, f"token refresh: unexpected answer {body!r}", transient=True)
            if not body.get("access_token"):
                # An expired or already used refresh token: someone must authorise again.
                detail = body.get("error_description") or body.get("message") or body
                raise ZaloError(int(body.get("error", -1)), f"token refresh refused: {detail}")
            self.tokens.save(
                str(body["access_token"]), str(body.get("refresh_token") or form["refresh_token"])
            )
            log.info("zalo_token_refreshed", expires_in=body.get("expires_in"))

    async def _post_json(
        self, url: str, payload: dict[str, Any], headers: dict[str, str]
    ) -> dict[str, Any]:
        try:
            async with self.session.post(url, json=payload, headers=headers) as r:
                if r.status == 429 or r.status >= 500:
                    raise ZaloError(-r.status, f"HTTP {r.status}", transient=True)
                body = await r.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError) as err:
            raise ZaloError(-1, f"network: {err}", transient=True) from None
        except ValueError as err:
            raise ZaloError(-1, f"not JSON: {err}", transient=True) from None
        if not isinstance(body, dict):
            raise ZaloError(-1, f"unexpected answer: {body!r}", transient=True)
        return body
