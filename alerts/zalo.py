"""The Zalo adapter (`dossierwatch zalo-adapter`): Alertmanager webhook → Zalo OA messages.

(Over 400 lines: one small service — its web handler, the recipients, the text cleaning
and the per-recipient rate limit that only it uses.)

Alertmanager posts each notification (one group: one unit, one kind of alert) to
/zalo/<role>, role being unit_channel, unit_head, director, inspectors or platform (the
receiver's webhook URL in deploy/alertmanager/alertmanager.yml).  The adapter looks up
who holds that role for the group's unit in the recipients file and sends each of them
the group as a text message: Vietnamese first, English below, made of the alerts'
annotations.

The answer tells Alertmanager whether to retry: 200 when every recipient got the message
or cannot ever get it (e.g. not a follower of the OA), 502 when a send may succeed later
(rate limit, network).  Recipients already served for the same notification are skipped
on a retry, so nobody reads the same message twice.

What reaches a phone in the centre's name is guarded three times:
- the request: `Authorization: Bearer <the webhook secret>` or 401 (alerts/webhook_auth.py),
  a body of at most 1 MiB (413), an Alertmanager webhook object (400 with a short reason),
  one of the five roles in the path (404);
- the text: every value from the notification is made one line of plain text — control,
  format and bidirectional characters removed, NFC so Vietnamese stays whole, links
  outside the dossier's own (http/https) written so Zalo does not make them tappable —
  and bounded per field and in total (TEXT_LIMIT);
- the pace: at most `rate` messages per recipient in any `window` seconds (default 10 a
  minute).  What comes on top is held and goes out as one digest, a line per notification,
  as soon as the recipient's window has room; nothing is dropped, and the held
  notifications are counted (dossierwatch_zalo_rate_limited_total on /metrics).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import time
import tomllib
import unicodedata
from collections import deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import structlog
from aiohttp import web
from prometheus_client import (
    CollectorRegistry,
    Counter,
    disable_created_metrics,
    generate_latest,
)

from alerts.webhook_auth import MAX_BODY, SecretFile, WebhookGuard, read_body
from alerts.zalo_api import TEXT_LIMIT, TokenStore, ZaloClient, ZaloError, clip, zalo_length
from streams.contract.errors import AlertDeliveryError

log = structlog.get_logger("dossierwatch.zalo")

ROLES = ("unit_channel", "unit_head", "director", "inspectors", "platform")
"""The last part of the adapter's URLs in alertmanager.yml; any other path is a 404."""

RECIPIENT_RATE = 10
RECIPIENT_WINDOW = 60.0
"""Default pace: at most RECIPIENT_RATE messages to one person in RECIPIENT_WINDOW s."""

# Bounds of one value in a message (characters): a title, a unit id, a summary, a link.
TITLE_CHARS = 80
UNIT_CHARS = 64
SUMMARY_CHARS = 300
URL_CHARS = 512


class RecipientsError(AlertDeliveryError):
    pass


def parse_recipients(text: str) -> dict[str, dict[str, tuple[str, ...]]]:
    """[role] tables mapping a unit id, or "*" for any other unit, to Zalo user ids."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise RecipientsError(str(err)) from None
    out: dict[str, dict[str, tuple[str, ...]]] = {}
    for role, table in data.items():
        if not isinstance(table, dict):
            raise RecipientsError(f"[{role}] must be a table of unit = [user ids]")
        units: dict[str, tuple[str, ...]] = {}
        for unit, users in table.items():
            if not isinstance(users, list) or not all(isinstance(u, str) for u in users):
                raise RecipientsError(f"[{role}] {unit} must be a list of Zalo user ids")
            units[unit] = tuple(users)
        out[role] = units
    return out


@dataclass
class Recipients:
    """The recipients file, read again whenever it changes: editing it needs no restart."""

    path: Path
    _mtime: float = -1.0
    _roles: dict[str, dict[str, tuple[str, ...]]] = field(default_factory=dict)

    def users(self, role: str, unit: str | None) -> tuple[str, ...]:
        self._reload()
        table = self._roles.get(role, {})
        if unit is not None and unit in table:
            return table[unit]
        return table.get("*", ())

    def _reload(self) -> None:
        try:
            mtime = self.path.stat().st_mtime
            if mtime == self._mtime:
                return
            self._roles = parse_recipients(self.path.read_text(encoding="utf-8"))
        except (OSError, RecipientsError) as err:
            if self._mtime < 0:
                raise
            # A half-saved edit must not silence Zalo: keep the last good list.
            log.error("recipients_unreadable", path=str(self.path), error=str(err))
            return
        self._mtime = mtime
        log.info("recipients_loaded", path=str(self.path), roles=sorted(self._roles))


# -- the notification's shape ---------------------------------------------------------


class ShapeError(AlertDeliveryError, ValueError):
    """The body is JSON but not an Alertmanager webhook object; the message is short and
    names only fields, never the sender's values."""


def _string_map(value: Any, where: str) -> None:
    if not isinstance(value, dict):
        raise ShapeError(f"{where}: expected an object")
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise ShapeError(f"{where}: expected string values")


def validate_group(data: Any) -> dict[str, Any]:
    """`data` if it has the shape of Alertmanager's webhook body (version 4) in what the
    adapter reads; fields it does not read may be anything, for later versions' sake."""
    if not isinstance(data, dict):
        raise ShapeError("expected an Alertmanager webhook object")
    for key in ("version", "groupKey", "receiver", "externalURL"):
        if key in data and not isinstance(data[key], str):
            raise ShapeError(f"{key}: expected a string")
    if data.get("status", "firing") not in ("firing", "resolved"):
        raise ShapeError("status: expected firing or resolved")
    for key in ("groupLabels", "commonLabels", "commonAnnotations"):
        if key in data:
            _string_map(data[key], key)
    truncated = data.get("truncatedAlerts", 0)
    if isinstance(truncated, bool) or not isinstance(truncated, int) or truncated < 0:
        raise ShapeError("truncatedAlerts: expected a count")
    alerts = data.get("alerts")
    if not isinstance(alerts, list) or not alerts:
        raise ShapeError("alerts: expected a non-empty list")
    for n, a in enumerate(alerts):
        if not isinstance(a, dict):
            raise ShapeError(f"alerts[{n}]: expected an object")
        if a.get("status") not in ("firing", "resolved"):
            raise ShapeError(f"alerts[{n}].status: expected firing or resolved")
        for key in ("labels", "annotations"):
            if key in a:
                _string_map(a[key], f"alerts[{n}].{key}")
        if "fingerprint" in a and not isinstance(a["fingerprint"], str):
            raise ShapeError(f"alerts[{n}].fingerprint: expected a string")
    return data


# -- the text ----------------------------------------------------------------------------

# Line and paragraph breaks of every kind: a value must not start a line of its own,
# where it could pass for a line the adapter wrote ("✅ Đã hết cảnh báo …").
_BREAKS = frozenset("\t\n\v\f\r\x1c\x1d\x1e\x85\u2028\u2029")
# Control, format (bidirectional overrides, zero-width characters), surrogate and
# private-use characters: invisible or misleading on a phone, never needed in Vietnamese.
_DROPPED = frozenset({"Cc", "Cf", "Cs", "Co"})
MAX_MARKS = 2
"""Combining marks kept after one character: NFC Vietnamese needs none (NFD at most two,
ệ = e + ̂ + ̣); a pile of them ("Zalgo" text) would smear over the lines around it."""
_SCHEME = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*)://")
_WWW = re.compile(r"(?i)\b(www)\.")
_LINK = re.compile(
    r"https?://[A-Za-z0-9.-]+(?::[0-9]{1,5})?(?:/[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]*)?"
)


def clean(value: object, limit: int) -> str:
    """One line of plain text for a Zalo message: NFC, breaks and runs of spaces made one
    space, invisible and control characters removed, links defused ("https[:]//…",
    "www[.]…": the only tappable link is the dossier's own, see `link`), at most `limit`
    characters."""
    # Looking at a bounded prefix keeps a 100 KB value as cheap as a short one.
    text = unicodedata.normalize("NFC", str(value)[: limit * 4])
    out: list[str] = []
    marks = 0
    for ch in text:
        category = unicodedata.category(ch)
        if ch in _BREAKS or category in ("Zs", "Zl", "Zp"):
            ch, category = " ", "Zs"
        if category in _DROPPED:
            continue
        if category.startswith("M"):
            marks += 1
            if marks > MAX_MARKS:
                continue
        else:
            marks = 0
        out.append(ch)
    text = " ".join("".join(out).split())
    text = _WWW.sub(r"\1[.]", _SCHEME.sub(r"\1[:]//", text))
    return clip(text, limit)


def link(value: object) -> str:
    """`value` if it is a plain http(s) URL of reasonable length, else "" (a link cut
    short or rewritten would lead somewhere else, so it is left out, not repaired)."""
    url = str(value)
    if len(url) <= URL_CHARS and _LINK.fullmatch(url):
        return url
    return ""


def _group_unit(group: dict[str, Any]) -> str | None:
    for key in ("groupLabels", "commonLabels"):
        unit = (group.get(key) or {}).get("unit")
        if unit:
            return str(unit)
    return None


@dataclass(frozen=True)
class _View:
    """What a notification says, cleaned: the parts both the message and a digest use."""

    mark: str
    title: str
    title_en: str
    unit: str
    noun: str
    noun_en: str
    firing: list[dict[str, Any]]
    resolved: list[dict[str, Any]]
    truncated: int
    """Alerts Alertmanager left out of the body (max_alerts in the webhook config)."""
    still_firing: bool


def _view(group: dict[str, Any]) -> _View:
    alerts: list[dict[str, Any]] = group.get("alerts") or []
    firing = [a for a in alerts if a.get("status") == "firing"]
    resolved = [a for a in alerts if a.get("status") != "firing"]
    truncated = int(group.get("truncatedAlerts") or 0)
    # Only the left-out alerts may be firing: the group's status says so.
    still_firing = bool(firing) or (truncated > 0 and group.get("status") == "firing")
    common = group.get("commonAnnotations") or {}
    unit = clean(_group_unit(group) or "", UNIT_CHARS) or "—"
    per_dossier = bool(alerts) and bool((alerts[0].get("labels") or {}).get("dossier"))
    noun, noun_en = ("hồ sơ", "dossiers") if per_dossier else ("cảnh báo", "alerts")
    name = clean((group.get("groupLabels") or {}).get("alertname") or "", TITLE_CHARS)
    title = clean(common.get("title") or "", TITLE_CHARS) or (
        "Cảnh báo hồ sơ" if per_dossier else name or "Cảnh báo"
    )
    title_en = clean(common.get("title_en") or "", TITLE_CHARS) or (
        "Dossier alerts" if per_dossier else name or "Alerts"
    )
    critical = any((a.get("labels") or {}).get("severity") == "critical" for a in firing)
    mark = "🔴" if critical else "🟠" if still_firing else "✅"
    return _View(
        mark, title, title_en, unit, noun, noun_en, firing, resolved, truncated, still_firing
    )


def _headlines(v: _View) -> tuple[str, str]:
    # With alerts left out, the count is a floor: "at least" keeps it true.
    vi_floor, en_floor = ("ít nhất ", "at least ") if v.truncated else ("", "")
    if v.still_firing:
        n = max(len(v.firing), 1)
        return (
            f"{v.mark} {v.title} — {v.unit}: {vi_floor}{n} {v.noun} cần xử lý",
            f"{v.title_en} — {v.unit}: {en_floor}{n} {v.noun_en} need action",
        )
    n = len(v.resolved)
    return (
        f"{v.mark} Đã hết cảnh báo: {v.title} — {v.unit}: {vi_floor}{n} {v.noun}",
        f"Resolved: {v.title_en} — {v.unit}: {en_floor}{n} {v.noun_en}",
    )


def headlines(group: dict[str, Any]) -> tuple[str, str]:
    """The message's first Vietnamese and first English line (a digest's lines)."""
    return _headlines(_view(group))


def message_text(group: dict[str, Any], limit: int = TEXT_LIMIT) -> str:
    """The notification as one text: a header per language, then a line per alert; what
    does not fit is counted ("… và 3 hồ sơ khác").  Per-dossier alerts (the bridge's) and
    Prometheus's aggregate alerts share the annotations summary/summary_en.  Every value
    goes through `clean` (or `link`), and the whole fits `limit` UTF-16 code units."""
    v = _view(group)
    head_vi, head_en = _headlines(v)

    def line(a: dict[str, Any], english: bool) -> str:
        n = a.get("annotations") or {}
        fallback = (a.get("labels") or {}).get("dossier") or ""
        summary = clean(n.get("summary") or fallback, SUMMARY_CHARS)
        bullet = "•" if a.get("status") == "firing" else "✓"
        if english:
            return f"{bullet} {clean(n.get('summary_en') or '', SUMMARY_CHARS) or summary}"
        url = link(n.get("dossier_url") or "")
        return f"{bullet} {summary}" + (f"\n  {url}" if url else "")

    items = v.firing or v.resolved

    def compose(shown: int) -> str:
        vi, en = [head_vi], [head_en]
        vi += [line(a, english=False) for a in items[:shown]]
        en += [line(a, english=True) for a in items[:shown]]
        if shown < len(items):
            vi.append(f"… và {len(items) - shown} {v.noun} khác")
            en.append(f"… and {len(items) - shown} more")
        if v.firing and v.resolved:
            vi.append(f"✓ Đã hết cảnh báo: {len(v.resolved)} {v.noun}")
            en.append(f"✓ Resolved: {len(v.resolved)} {v.noun_en}")
        if v.truncated:
            vi.append(f"(+{v.truncated} cảnh báo khác không gửi kèm)")
            en.append(f"(+{v.truncated} more alerts not included)")
        return "\n".join(vi) + "\n\n" + "\n".join(en)

    # Each shown alert costs at least two short lines: no need to try more than that.
    shown = min(len(items), limit // 6)
    text = compose(shown)
    while zalo_length(text) > limit and shown > 0:
        shown -= 1
        text = compose(shown)
    return clip(text, limit)


def digest_text(heads: list[tuple[str, str]], limit: int = TEXT_LIMIT) -> str:
    """Notifications held back by the rate limit, a headline each, as one message."""
    n = len(heads)

    def compose(shown: int) -> str:
        vi = [f"📋 {n} thông báo gộp lại (để không gửi dồn dập):"]
        en = [f"{n} notifications grouped (so as not to flood you):"]
        vi += [h for h, _ in heads[:shown]]
        en += [h for _, h in heads[:shown]]
        if shown < n:
            vi.append(f"… và {n - shown} thông báo khác")
            en.append(f"… and {n - shown} more")
        return "\n".join(vi) + "\n\n" + "\n".join(en)

    shown = min(n, limit // 6)
    text = compose(shown)
    while zalo_length(text) > limit and shown > 0:
        shown -= 1
        text = compose(shown)
    return clip(text, limit)


# -- delivery ---------------------------------------------------------------------------


class RecipientRate:
    """At most `rate` messages to one recipient in any `window` seconds (a sliding window)."""

    def __init__(
        self, rate: int, window: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if rate < 1 or window <= 0:
            raise ValueError("the rate limit needs at least one message per positive window")
        self.rate = rate
        self.window = window
        self.clock = clock
        self._sent: dict[str, deque[float]] = {}

    def _recent(self, user: str, now: float) -> deque[float]:
        times = self._sent.setdefault(user, deque())
        while times and times[0] <= now - self.window:
            times.popleft()
        return times

    def take(self, user: str) -> bool:
        """Count a message to `user` if the window has room; False if it has none."""
        now = self.clock()
        times = self._recent(user, now)
        if len(times) >= self.rate:
            return False
        times.append(now)
        return True

    def wait(self, user: str) -> float:
        """Seconds until the window has room for `user` (0 if it has now)."""
        now = self.clock()
        times = self._recent(user, now)
        return 0.0 if len(times) < self.rate else times[0] + self.window - now


# `_created` series double the count for no use (as in streams.metrics).
disable_created_metrics()  # type: ignore[no-untyped-call]

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


class AdapterMetrics:
    """The adapter's counters, on its own registry, served at /metrics."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.rejected = Counter(
            "dossierwatch_zalo_webhook_rejected",
            "Webhook requests turned away before delivery, by reason",
            ["reason"],
            registry=self.registry,
        )
        for reason in REJECT_REASONS:
            self.rejected.labels(reason)
        self.sent = Counter(
            "dossierwatch_zalo_messages_sent",
            "Zalo messages sent: notification, or digest of rate-limited notifications",
            ["kind"],
            registry=self.registry,
        )
        self.failed = Counter(
            "dossierwatch_zalo_send_failures",
            "Zalo messages that could not be sent, by kind",
            ["kind"],
            registry=self.registry,
        )
        for kind in ("notification", "digest"):
            self.sent.labels(kind)
            self.failed.labels(kind)
        self.rate_limited = Counter(
            "dossierwatch_zalo_rate_limited",
            "Notifications over a recipient's rate limit, held for a digest",
            registry=self.registry,
        )

    def reject(self, reason: str) -> None:
        self.rejected.labels(reason).inc()


SHUTDOWN_GRACE = 10.0
"""Seconds a stopping adapter gives the digests it still holds."""


class Adapter:
    def __init__(
        self,
        client: ZaloClient | None,
        recipients: Recipients,
        dedupe_seconds: float = 600,
        *,
        rate: RecipientRate | None = None,
        metrics: AdapterMetrics | None = None,
    ) -> None:
        self.client = client
        self.recipients = recipients
        self.dedupe_seconds = dedupe_seconds
        self.rate = rate or RecipientRate(RECIPIENT_RATE, RECIPIENT_WINDOW)
        self.metrics = metrics or AdapterMetrics()
        self._sent: dict[tuple[str, str], float] = {}
        self._held: dict[str, list[tuple[str, str]]] = {}
        self._waiting: dict[str, asyncio.Task[None]] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    async def deliver(self, role: str, group: dict[str, Any]) -> bool:
        """Send the group to the role's people; False if a send may succeed on a retry."""
        unit = _group_unit(group)
        users = self.recipients.users(role, unit)
        if not users:
            log.warning("no_recipients", role=role, unit=unit)
            return True
        text = message_text(group)
        if self.client is None:
            log.info("zalo_not_sent", role=role, unit=unit, users=len(users), text=text)
            return True
        key = _notification_key(role, group)
        retry = False
        for user in users:
            if self._recent((key, user)):
                continue
            # Once someone has a digest waiting, later news joins it: it keeps the order.
            if user in self._held or not self.rate.take(user):
                self._hold(user, headlines(group), role=role, unit=unit)
                self._sent[(key, user)] = time.monotonic() + self.dedupe_seconds
                continue
            try:
                message_id = await self.client.send_text(user, text)
            except ZaloError as err:
                retry = retry or err.transient
                self.metrics.failed.labels("notification").inc()
                log.error(
                    "zalo_send_failed",
                    role=role,
                    unit=unit,
                    user_id=user,
                    error=str(err),
                    will_retry=err.transient,
                )
                continue
            self._sent[(key, user)] = time.monotonic() + self.dedupe_seconds
            self.metrics.sent.labels("notification").inc()
            log.info("zalo_sent", role=role, unit=unit, user_id=user, message_id=message_id)
        return not retry

    def _hold(self, user: str, heads: tuple[str, str], *, role: str, unit: str | None) -> None:
        held = self._held.setdefault(user, [])
        held.append(heads)
        self.metrics.rate_limited.inc()
        log.info("zalo_rate_limited", role=role, unit=unit, user_id=user, held=len(held))
        if user not in self._waiting:
            task = asyncio.create_task(self._digest_when_free(user))
            self._waiting[user] = task
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _digest_when_free(self, user: str) -> None:
        while not self.rate.take(user):
            await asyncio.sleep(max(self.rate.wait(user), 0.01))
        # From here on the task is sending, not waiting: close() lets it finish.
        del self._waiting[user]
        await self._send_digest(user, self._held.pop(user, []))

    async def _send_digest(self, user: str, heads: list[tuple[str, str]]) -> None:
        if not heads or self.client is None:
            return
        try:
            message_id = await self.client.send_text(user, digest_text(heads))
        except ZaloError as err:
            # Alertmanager has its 200 already: the e-mail and webhook copies remain.
            self.metrics.failed.labels("digest").inc()
            log.error("zalo_digest_failed", user_id=user, notifications=len(heads), error=str(err))
            return
        self.metrics.sent.labels("digest").inc()
        log.info("zalo_digest_sent", user_id=user, notifications=len(heads), message_id=message_id)

    async def close(self) -> None:
        """On shutdown, send what is held at once (over the limit, rather than never)."""
        for task in self._waiting.values():
            task.cancel()
        self._waiting.clear()
        held, self._held = self._held, {}
        sending = [
            *self._tasks,
            *(asyncio.create_task(self._send_digest(u, h)) for u, h in held.items()),
        ]
        if not sending:
            return
        _, pending = await asyncio.wait(sending, timeout=SHUTDOWN_GRACE)
        for task in pending:
            task.cancel()
        if pending:
            log.error("zalo_digests_lost", digests=len(pending))

    def _recent(self, key: tuple[str, str]) -> bool:
        now = time.monotonic()
        for old in [k for k, until in self._sent.items() if until < now]:
            del self._sent[old]
        return key in self._sent


def _notification_key(role: str, group: dict[str, Any]) -> str:
    """Equal for Alertmanager's retries of one notification, different for the next one."""
    alerts = sorted(
        (str(a.get("fingerprint", "")), str(a.get("status", ""))) for a in group.get("alerts") or []
    )
    raw = repr((role, group.get("groupKey"), group.get("status"), alerts))
    return hashlib.sha256(raw.encode()).hexdigest()


# -- the web application ----------------------------------------------------------------

ADAPTER = web.AppKey("adapter", Adapter)
GUARD = web.AppKey("guard", WebhookGuard)
METRICS = web.AppKey("metrics", AdapterMetrics)


async def _notify(request: web.Request) -> web.StreamResponse:
    # The guard has checked the secret and the declared size before this runs.
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
    ok = await request.app[ADAPTER].deliver(request.match_info["role"], group)
    return web.json_response({"delivered": ok}, status=200 if ok else 502)


async def _health(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def _metrics(request: web.Request) -> web.Response:
    registry = request.app[METRICS].registry
    return web.Response(body=generate_latest(registry), content_type="text/plain")


@dataclass(frozen=True)
class AdapterSettings:
    recipients: Path
    token_file: Path
    app_id: str
    secret_key: str
    api_base: str = "https://openapi.zalo.me"
    oauth_base: str = "https://oauth.zaloapp.com"
    backoff: float = 2.0
    max_attempts: int = 6
    webhook_secret_file: Path | None = None
    """The token Alertmanager sends as `Authorization: Bearer …`."""
    insecure_no_auth: bool = False
    """Accept notifications without a token: local experiments only."""
    recipient_rate: int = RECIPIENT_RATE
    recipient_window: float = RECIPIENT_WINDOW
    max_body: int = MAX_BODY


def load_tokens(path: Path, access: str, refresh: str) -> TokenStore | None:
    """The token file; on first start, seeded from the given tokens (the file wins after
    that: the refresh token rotates and only the file has the current one)."""
    if path.exists():
        return TokenStore.load(path)
    if not refresh:
        return None
    store = TokenStore(path)
    store.save(access, refresh)
    return store


def create_app(s: AdapterSettings, tokens: TokenStore | None) -> web.Application:
    """Without app id, secret or tokens the adapter still answers Alertmanager, logging
    what it would have sent: a stack without Zalo credentials runs quietly.  Without a
    webhook secret it does not start, unless told it is insecure on purpose."""
    if s.webhook_secret_file is None and not s.insecure_no_auth:
        raise ValueError("no webhook secret file (or insecure_no_auth for experiments)")
    secret = SecretFile(s.webhook_secret_file) if s.webhook_secret_file is not None else None
    metrics = AdapterMetrics()
    guard = WebhookGuard(secret, max_body=s.max_body, on_reject=metrics.reject)
    rate = RecipientRate(s.recipient_rate, s.recipient_window)
    # client_max_size caps a chunked body too, which has no Content-Length to check first.
    app = web.Application(middlewares=[guard.middleware], client_max_size=s.max_body)
    app[GUARD] = guard
    app[METRICS] = metrics
    recipients = Recipients(s.recipients)
    recipients.users("", None)  # read it now: a broken file fails at start, not at 3 a.m.

    async def client_session(app: web.Application) -> AsyncIterator[None]:
        timeout = aiohttp.ClientTimeout(total=20)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            client = None
            if tokens is not None and s.app_id and s.secret_key:
                client = ZaloClient(
                    session,
                    tokens,
                    app_id=s.app_id,
                    secret_key=s.secret_key,
                    api_base=s.api_base,
                    oauth_base=s.oauth_base,
                    backoff_initial=s.backoff,
                    max_attempts=s.max_attempts,
                )
            adapter = Adapter(client, recipients, rate=rate, metrics=metrics)
            app[ADAPTER] = adapter
            yield
            await adapter.close()

    app.cleanup_ctx.append(client_session)
    app.router.add_post("/zalo/{role:" + "|".join(ROLES) + "}", _notify)
    app.router.add_get("/health", _health)
    app.router.add_get("/metrics", _metrics)
    return app


def serve(s: AdapterSettings, host: str, port: int, access: str = "", refresh: str = "") -> None:
    """Serve until SIGTERM or SIGINT; `access`/`refresh` seed a missing token file."""
    tokens = load_tokens(s.token_file, access, refresh)
    app = create_app(s, tokens)
    if tokens is None or not s.app_id or not s.secret_key:
        log.warning(
            "zalo_not_configured",
            hint="set ZALO_APP_ID, ZALO_APP_SECRET and ZALO_OA_REFRESH_TOKEN (or a token file);"
            " until then notifications are only logged",
        )
    if s.webhook_secret_file is None:
        log.warning(
            "webhook_auth_disabled",
            hint="--insecure-no-auth: anyone who reaches this port can message staff;"
            " for local experiments only",
        )
    log.info(
        "zalo_adapter_started",
        host=host,
        port=port,
        api=s.api_base,
        webhook_auth=s.webhook_secret_file is not None,
        recipient_rate=f"{s.recipient_rate}/{s.recipient_window:g}s",
    )
    web.run_app(app, host=host, port=port, print=None, handle_signals=True)
