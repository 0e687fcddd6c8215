"""The Zalo adapter (`dossierwatch zalo-adapter`): Alertmanager webhook → Zalo messages.

(Over 400 lines: one small service — its delivery rules, its message text and the
per-recipient rate limit that only it uses.)

Alertmanager posts each notification (one group: one unit, one kind of alert) to
/zalo/<role>, role being unit_channel, unit_head, director, inspectors or platform (the
receiver's webhook URL in deploy/alertmanager/alertmanager.yml).  The adapter looks up
who holds that role for the group's unit in the recipients file (alerts/recipients.py)
and reaches each of them on Zalo:
- an OA consultation message — the group as text, Vietnamese first, English below — to a
  follower of the OA who can receive one;
- otherwise a ZNS template message to their phone (alerts/zns.py): for people without a
  Zalo user id or with channel "zns", and for followers the OA send refused because they
  have not written to the OA recently (-213/-230); such a refusal is remembered for
  OA_RECHECK seconds, in which the adapter goes straight to ZNS.

The answer tells Alertmanager whether to retry: 200 when every recipient got the message
or cannot ever get it (e.g. a wrong phone number), 502 when a send may succeed later
(rate limit, network).  Recipients already served for the same notification are skipped
on a retry, also after a restart with --state-file (alerts/sent_log.py), so nobody reads
the same message twice; a ZNS message's tracking_id is the same on every retry.

What reaches a phone in the centre's name is guarded three times:
- the request: `Authorization: Bearer <the webhook secret>` or 401 (alerts/webhook_auth.py),
  a body of at most 1 MiB (413), an Alertmanager webhook object (400 with a short reason),
  one of the five roles in the path (404) — alerts/receiver.py;
- the text: every value from the notification is made one line of plain text and bounded
  (alerts/plaintext.py), the whole message too (TEXT_LIMIT);
- the pace: at most `rate` OA messages per recipient in any `window` seconds (default 10
  a minute).  What comes on top is held and goes out as one digest, a line per
  notification, as soon as the recipient's window has room; nothing is dropped, and the
  held notifications are counted (dossierwatch_zalo_rate_limited_total on /metrics).
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import structlog
from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, disable_created_metrics

from alerts.notification import SUMMARY_CHARS as SUMMARY_CHARS
from alerts.notification import TITLE_CHARS as TITLE_CHARS
from alerts.notification import UNIT_CHARS as UNIT_CHARS
from alerts.notification import Heading, Item, group_unit, heading, items, notification_key
from alerts.notification import ShapeError as ShapeError
from alerts.notification import validate_group as validate_group
from alerts.plaintext import URL_CHARS as URL_CHARS
from alerts.plaintext import clean as clean
from alerts.plaintext import link as link
from alerts.receiver import HOLDER, receiver_app, rejection_counter, warn_if_open
from alerts.recipients import ROLES as ROLES
from alerts.recipients import Person, Recipients
from alerts.recipients import RecipientsError as RecipientsError
from alerts.recipients import parse_recipients as parse_recipients
from alerts.sent_log import DEFAULT_TTL, Outcome, SentLog, send_each_once
from alerts.webhook_auth import MAX_BODY
from alerts.zalo_api import (
    OA_UNREACHABLE,
    TEXT_LIMIT,
    TokenStore,
    ZaloClient,
    ZaloError,
    clip,
    zalo_length,
)
from alerts.zns import ZnsTemplate, load_template, template_data, tracking_id

log = structlog.get_logger("dossierwatch.zalo")

RECIPIENT_RATE = 10
RECIPIENT_WINDOW = 60.0
"""Default pace: at most RECIPIENT_RATE messages to one person in RECIPIENT_WINDOW s."""

OA_RECHECK = 3600.0
"""Seconds after an OA refusal (-213/-230) during which the person gets ZNS directly;
then the free OA message is tried again (they may have written to the OA meanwhile)."""


# -- the text ----------------------------------------------------------------------------


def _headlines(h: Heading) -> tuple[str, str]:
    mark = "🔴" if h.critical else "🟠" if h.still_firing else "✅"
    # With alerts left out, the count is a floor: "at least" keeps it true.
    vi_floor, en_floor = ("ít nhất ", "at least ") if h.truncated else ("", "")
    if h.still_firing:
        n = max(h.firing, 1)
        return (
            f"{mark} {h.title} — {h.unit}: {vi_floor}{n} {h.noun} cần xử lý",
            f"{h.title_en} — {h.unit}: {en_floor}{n} {h.noun_en} need action",
        )
    return (
        f"{mark} Đã hết cảnh báo: {h.title} — {h.unit}: {vi_floor}{h.resolved} {h.noun}",
        f"Resolved: {h.title_en} — {h.unit}: {en_floor}{h.resolved} {h.noun_en}",
    )


def headlines(group: dict[str, Any]) -> tuple[str, str]:
    """The message's first Vietnamese and first English line (a digest's lines)."""
    return _headlines(heading(group))


def message_text(group: dict[str, Any], limit: int = TEXT_LIMIT) -> str:
    """The notification as one text: a header per language, then each alert — its summary,
    its evidence (Vietnamese above, English below, as in the e-mail) and, in Vietnamese,
    the dossier's link; what does not fit is counted ("… và 3 hồ sơ khác").  Per-dossier
    alerts (the bridge's) and Prometheus's aggregate alerts share the annotations
    summary/summary_en.  Every value is cleaned (alerts.plaintext), and the whole fits
    `limit` UTF-16 code units."""
    h = heading(group)
    head_vi, head_en = _headlines(h)
    every = items(group)
    firing = [i for i in every if i.firing]
    shown_items = firing or every

    def line(i: Item, english: bool) -> str:
        bullet = "•" if i.firing else "✓"
        if english:
            evidence = f"\n  Evidence: {i.evidence_en}" if i.evidence_en else ""
            return f"{bullet} {i.summary_en}{evidence}"
        evidence = f"\n  Căn cứ: {i.evidence_vi}" if i.evidence_vi else ""
        return f"{bullet} {i.summary}{evidence}" + (f"\n  {i.url}" if i.url else "")

    def compose(shown: int) -> str:
        vi, en = [head_vi], [head_en]
        vi += [line(i, english=False) for i in shown_items[:shown]]
        en += [line(i, english=True) for i in shown_items[:shown]]
        if shown < len(shown_items):
            vi.append(f"… và {len(shown_items) - shown} {h.noun} khác")
            en.append(f"… and {len(shown_items) - shown} more")
        if firing and h.resolved:
            vi.append(f"✓ Đã hết cảnh báo: {h.resolved} {h.noun}")
            en.append(f"✓ Resolved: {h.resolved} {h.noun_en}")
        if h.truncated:
            vi.append(f"(+{h.truncated} cảnh báo khác không gửi kèm)")
            en.append(f"(+{h.truncated} more alerts not included)")
        return "\n".join(vi) + "\n\n" + "\n".join(en)

    # Each shown alert costs at least two short lines: no need to try more than that.
    shown = min(len(shown_items), limit // 6)
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

KINDS = ("notification", "digest", "zns")


class AdapterMetrics:
    """The adapter's counters, on its own registry, served at /metrics."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        self.rejected = rejection_counter("dossierwatch_zalo_webhook_rejected", self.registry)
        self.sent = Counter(
            "dossierwatch_zalo_messages_sent",
            "Zalo messages sent: notification (OA), digest of rate-limited notifications,"
            " or zns (template by phone)",
            ["kind"],
            registry=self.registry,
        )
        self.failed = Counter(
            "dossierwatch_zalo_send_failures",
            "Zalo messages that could not be sent, by kind",
            ["kind"],
            registry=self.registry,
        )
        for kind in KINDS:
            self.sent.labels(kind)
            self.failed.labels(kind)
        self.rate_limited = Counter(
            "dossierwatch_zalo_rate_limited",
            "Notifications over a recipient's rate limit, held for a digest",
            registry=self.registry,
        )
        self.deduplicated = Counter(
            "dossierwatch_zalo_deduplicated",
            "Messages not sent again: the recipient already had this notification",
            registry=self.registry,
        )


SHUTDOWN_GRACE = 10.0
"""Seconds a stopping adapter gives the digests it still holds."""


class Adapter:
    def __init__(
        self,
        client: ZaloClient | None,
        recipients: Recipients,
        sent: SentLog | None = None,
        *,
        rate: RecipientRate | None = None,
        metrics: AdapterMetrics | None = None,
        zns: ZnsTemplate | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        self.recipients = recipients
        self.sent = sent if sent is not None else SentLog()
        self.rate = rate or RecipientRate(RECIPIENT_RATE, RECIPIENT_WINDOW)
        self.metrics = metrics or AdapterMetrics()
        self.zns = zns
        self.clock = clock
        self._oa_refused: dict[str, float] = {}
        self._held: dict[str, list[tuple[str, str]]] = {}
        self._waiting: dict[str, asyncio.Task[None]] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    async def deliver(self, role: str, group: dict[str, Any]) -> bool:
        """Send the group to the role's people; False if a send may succeed on a retry."""
        unit = group_unit(group)
        people = [p for p in self.recipients.people(role, unit) if p.on_zalo]
        if not people:
            log.warning("no_recipients", role=role, unit=unit)
            return True
        text = message_text(group)
        if self.client is None:
            log.info("zalo_not_sent", role=role, unit=unit, users=len(people), text=text)
            return True
        client = self.client
        key = notification_key(role, group)

        async def reach(person: Person, name: str) -> Outcome:
            return await self._reach(client, person, group, text, key)

        return await send_each_once(
            self.sent, key, ((p.key, p) for p in people), reach, self.metrics.deduplicated.inc
        )

    async def _reach(
        self, client: ZaloClient, person: Person, group: dict[str, Any], text: str, key: str
    ) -> Outcome:
        """One person: the OA message when they can get one, else the ZNS template."""
        user = person.zalo_user_id
        if "zalo" in person.channels and user and not self._refused_lately(person):
            # Once someone has a digest waiting, later news joins it: it keeps the order.
            if user in self._held or not self.rate.take(user):
                self._hold(user, headlines(group))
                return Outcome.DONE
            try:
                message_id = await client.send_text(user, text)
            except ZaloError as err:
                if err.code in OA_UNREACHABLE and person.phone:
                    self._oa_refused[person.key] = self.clock() + OA_RECHECK
                    log.info("zalo_oa_unreachable", recipient=person.key, error=str(err))
                    return await self._send_template(client, person, group, key)
                return self._failed("notification", person, err)
            self.metrics.sent.labels("notification").inc()
            log.info("zalo_sent", recipient=person.key, user_id=user, message_id=message_id)
            return Outcome.DONE
        if not person.phone:
            # A follower refused lately, with no phone to fall back on.
            log.warning("zalo_unreachable", recipient=person.key)
            return Outcome.FAILED
        return await self._send_template(client, person, group, key)

    def _refused_lately(self, person: Person) -> bool:
        until = self._oa_refused.get(person.key)
        if until is None:
            return False
        if until > self.clock():
            return True
        del self._oa_refused[person.key]
        return False

    async def _send_template(
        self, client: ZaloClient, person: Person, group: dict[str, Any], key: str
    ) -> Outcome:
        if not heading(group).still_firing:
            # A template says "needs action" and costs money: a resolution is not one.
            log.info("zns_skipped_resolved", recipient=person.key)
            return Outcome.DONE
        if self.zns is None:
            log.warning("zns_not_configured", recipient=person.key, hint="--zns-template FILE")
            self.metrics.failed.labels("zns").inc()
            return Outcome.FAILED
        params = template_data(group, self.zns)
        tracking = tracking_id(key, person.key)
        try:
            msg_id = await client.send_template(
                person.phone, self.zns.template_id, params, tracking
            )
        except ZaloError as err:
            return self._failed("zns", person, err)
        self.metrics.sent.labels("zns").inc()
        log.info("zns_sent", recipient=person.key, tracking_id=tracking, msg_id=msg_id)
        return Outcome.DONE

    def _failed(self, kind: str, person: Person, err: ZaloError) -> Outcome:
        self.metrics.failed.labels(kind).inc()
        log.error(
            "zalo_send_failed",
            kind=kind,
            recipient=person.key,
            error=str(err),
            will_retry=err.transient,
        )
        return Outcome.RETRY if err.transient else Outcome.FAILED

    def _hold(self, user: str, heads: tuple[str, str]) -> None:
        held = self._held.setdefault(user, [])
        held.append(heads)
        self.metrics.rate_limited.inc()
        log.info("zalo_rate_limited", user_id=user, held=len(held))
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


# -- the web application ----------------------------------------------------------------


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
    zns_template: Path | None = None
    """The ZNS template file; without it, people out of the OA's reach are logged."""
    zns_base: str = "https://business.openapi.zalo.me"
    state_file: Path | None = None
    """Where the names of sent messages survive a restart; None keeps them in memory."""
    sent_ttl: float = DEFAULT_TTL


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
    webhook secret it does not start, unless told it is insecure on purpose.  A broken
    recipients or template file fails here, at start, not at 3 a.m."""
    metrics = AdapterMetrics()
    app = receiver_app("zalo", s, metrics.registry, metrics.rejected)
    rate = RecipientRate(s.recipient_rate, s.recipient_window)
    recipients = Recipients(s.recipients)
    recipients.users("", None)
    zns = load_template(s.zns_template) if s.zns_template is not None else None
    sent = SentLog(s.state_file, ttl=s.sent_ttl)

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
                    zns_base=s.zns_base,
                    backoff_initial=s.backoff,
                    max_attempts=s.max_attempts,
                )
            adapter = Adapter(client, recipients, sent, rate=rate, metrics=metrics, zns=zns)
            app[HOLDER].delivery = adapter
            yield
            await adapter.close()

    app.cleanup_ctx.append(client_session)
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
    warn_if_open(s)
    log.info(
        "zalo_adapter_started",
        host=host,
        port=port,
        api=s.api_base,
        webhook_auth=s.webhook_secret_file is not None,
        recipient_rate=f"{s.recipient_rate}/{s.recipient_window:g}s",
        zns=s.zns_template is not None,
        state_file=str(s.state_file) if s.state_file else None,
    )
    web.run_app(app, host=host, port=port, print=None, handle_signals=True)
