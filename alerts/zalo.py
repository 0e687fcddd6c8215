"""The Zalo adapter (`dossierwatch zalo-adapter`): Alertmanager webhook → Zalo OA messages.

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
"""

from __future__ import annotations

import hashlib
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import structlog
from aiohttp import web

from alerts.zalo_api import TEXT_LIMIT, TokenStore, ZaloClient, ZaloError

log = structlog.get_logger("dossierwatch.zalo")


class RecipientsError(Exception):
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


def _group_unit(group: dict[str, Any]) -> str | None:
    for key in ("groupLabels", "commonLabels"):
        unit = (group.get(key) or {}).get("unit")
        if unit:
            return str(unit)
    return None


def message_text(group: dict[str, Any], limit: int = TEXT_LIMIT) -> str:
    """The notification as one text: a header per language, then a line per alert; what
    does not fit is counted ("… và 3 hồ sơ khác").  Per-dossier alerts (the bridge's) and
    Prometheus's aggregate alerts share the annotations summary/summary_en."""
    alerts: list[dict[str, Any]] = group.get("alerts") or []
    firing = [a for a in alerts if a.get("status") == "firing"]
    resolved = [a for a in alerts if a.get("status") != "firing"]
    common = group.get("commonAnnotations") or {}
    unit = _group_unit(group) or "—"
    per_dossier = bool(alerts) and bool((alerts[0].get("labels") or {}).get("dossier"))
    noun, noun_en = ("hồ sơ", "dossiers") if per_dossier else ("cảnh báo", "alerts")
    name = str((group.get("groupLabels") or {}).get("alertname") or "")
    title = common.get("title") or ("Cảnh báo hồ sơ" if per_dossier else name or "Cảnh báo")
    title_en = common.get("title_en") or ("Dossier alerts" if per_dossier else name or "Alerts")
    critical = any((a.get("labels") or {}).get("severity") == "critical" for a in firing)
    mark = "🔴" if critical else "🟠" if firing else "✅"

    def line(a: dict[str, Any], english: bool) -> str:
        n = {k: str(v) for k, v in (a.get("annotations") or {}).items()}
        bullet = "•" if a.get("status") == "firing" else "✓"
        if english:
            return f"{bullet} {n.get('summary_en') or n.get('summary', '')}"
        link = f"\n  {n['dossier_url']}" if n.get("dossier_url") else ""
        return f"{bullet} {n.get('summary', '')}{link}"

    def compose(shown: int) -> str:
        if firing:
            vi = [f"{mark} {title} — {unit}: {len(firing)} {noun} cần xử lý"]
            en = [f"{title_en} — {unit}: {len(firing)} {noun_en} need action"]
        else:
            vi = [f"{mark} Đã hết cảnh báo: {title} — {unit}: {len(resolved)} {noun}"]
            en = [f"Resolved: {title_en} — {unit}: {len(resolved)} {noun_en}"]
        items = firing or resolved
        vi += [line(a, english=False) for a in items[:shown]]
        en += [line(a, english=True) for a in items[:shown]]
        if shown < len(items):
            vi.append(f"… và {len(items) - shown} {noun} khác")
            en.append(f"… and {len(items) - shown} more")
        if firing and resolved:
            vi.append(f"✓ Đã hết cảnh báo: {len(resolved)} {noun}")
            en.append(f"✓ Resolved: {len(resolved)} {noun_en}")
        return "\n".join(vi) + "\n\n" + "\n".join(en)

    shown = len(firing or resolved)
    text = compose(shown)
    while len(text) > limit and shown > 0:
        shown -= 1
        text = compose(shown)
    return text[:limit]


class Adapter:
    def __init__(
        self, client: ZaloClient | None, recipients: Recipients, dedupe_seconds: float = 600
    ) -> None:
        self.client = client
        self.recipients = recipients
        self.dedupe_seconds = dedupe_seconds
        self._sent: dict[tuple[str, str], float] = {}

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
            try:
                message_id = await self.client.send_text(user, text)
            except ZaloError as err:
                retry = retry or err.transient
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
            log.info("zalo_sent", role=role, unit=unit, user_id=user, message_id=message_id)
        return not retry

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


ADAPTER = web.AppKey("adapter", Adapter)


async def _notify(request: web.Request) -> web.Response:
    role = request.match_info["role"]
    try:
        group = await request.json()
    except ValueError:
        return web.json_response({"error": "body is not JSON"}, status=400)
    if not isinstance(group, dict):
        return web.json_response({"error": "expected an Alertmanager webhook object"}, status=400)
    ok = await request.app[ADAPTER].deliver(role, group)
    return web.json_response({"delivered": ok}, status=200 if ok else 502)


async def _health(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


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
    what it would have sent: a stack without Zalo credentials runs quietly."""
    app = web.Application()
    recipients = Recipients(s.recipients)
    recipients.users("", None)  # read it now: a broken file fails at start, not at 3 a.m.

    async def client_session(app: web.Application) -> Any:
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
            app[ADAPTER] = Adapter(client, recipients)
            yield

    app.cleanup_ctx.append(client_session)
    app.router.add_post("/zalo/{role}", _notify)
    app.router.add_get("/health", _health)
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
    log.info("zalo_adapter_started", host=host, port=port, api=s.api_base)
    web.run_app(app, host=host, port=port, print=None, handle_signals=True)
