"""The SMS adapter (`dossierwatch sms-adapter`): Alertmanager webhook → the centre's SMS
gateway, for the people whose channels in the recipients file include "sms".

It sits behind Alertmanager exactly like the Zalo adapter: the same routes (/sms/<role>),
webhook secret, body limit and shape checks (alerts/receiver.py), the same recipients
file (alerts/recipients.py), the same text cleaning (alerts/plaintext.py).  Each person
gets one SMS per notification (alerts/sms_text.py), through the request the gateway file
describes (alerts/sms_gateway.py), retried with back-off on 5xx and timeouts.

Nobody gets the same notification twice: each message is named by the notification and
the person, and a name already sent — on a retry of Alertmanager's, or after a restart
with --state-file — is skipped and counted (alerts/sent_log.py); the same name goes to
the gateway as {message_id}.  The answer: 200 when everyone got the SMS or never can
(a 4xx, a gateway refusal: counted, not retried, so a bad number cannot start a retry
storm), 502 when a send may pass later.  Without a gateway file the adapter logs what it
would send.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import structlog
from aiohttp import web
from prometheus_client import CollectorRegistry, Counter

from alerts.notification import group_unit, heading, notification_key
from alerts.receiver import HOLDER, receiver_app, rejection_counter, warn_if_open
from alerts.recipients import Person, Recipients
from alerts.sent_log import DEFAULT_TTL, Outcome, SentLog, send_each_once
from alerts.sms_gateway import Gateway, SmsError, SmsGateway, load_gateway
from alerts.sms_text import segments, sms_text
from alerts.webhook_auth import MAX_BODY

log = structlog.get_logger("dossierwatch.sms")


class SmsMetrics:
    """The adapter's counters, on the registry it is given (served at /metrics)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        self.rejected = rejection_counter("dossierwatch_sms_webhook_rejected", registry)
        self.sent = Counter(
            "dossierwatch_sms_messages_sent", "SMS accepted by the gateway", registry=registry
        )
        self.segments = Counter(
            "dossierwatch_sms_segments_sent",
            "Segments of the SMS accepted by the gateway (what is billed)",
            registry=registry,
        )
        self.failed = Counter(
            "dossierwatch_sms_send_failures",
            "SMS that could not be sent: transient (Alertmanager retries) or permanent",
            ["reason"],
            registry=registry,
        )
        for reason in ("transient", "permanent"):
            self.failed.labels(reason)
        self.deduplicated = Counter(
            "dossierwatch_sms_deduplicated",
            "SMS not sent again: the person already had this notification",
            registry=registry,
        )


class SmsAdapter:
    def __init__(
        self,
        gateway: SmsGateway | None,
        settings: Gateway,
        recipients: Recipients,
        sent: SentLog,
        metrics: SmsMetrics,
    ) -> None:
        self.gateway = gateway
        self.settings = settings
        self.recipients = recipients
        self.sent = sent
        self.metrics = metrics

    async def deliver(self, role: str, group: dict[str, Any]) -> bool:
        """Send the group to the role's SMS people; False if a send may pass on a retry."""
        unit = group_unit(group)
        people = [p for p in self.recipients.people(role, unit) if "sms" in p.channels]
        if not people:
            return True
        if not heading(group).still_firing and not self.settings.send_resolved:
            log.info("sms_skipped_resolved", role=role, unit=unit)
            return True
        text = sms_text(
            group, unaccented=self.settings.unaccented, max_segments=self.settings.max_segments
        )
        if self.gateway is None:
            log.info("sms_not_sent", role=role, unit=unit, people=len(people), text=text)
            return True
        gateway = self.gateway

        async def send(person: Person, name: str) -> Outcome:
            try:
                await gateway.send(person.phone, text, name)
            except SmsError as err:
                reason = "transient" if err.transient else "permanent"
                self.metrics.failed.labels(reason).inc()
                log.error(
                    "sms_send_failed",
                    recipient=person.key,
                    message_id=name,
                    error=str(err),
                    will_retry=err.transient,
                )
                return Outcome.RETRY if err.transient else Outcome.FAILED
            self.metrics.sent.inc()
            self.metrics.segments.inc(segments(text))
            log.info("sms_sent", role=role, unit=unit, recipient=person.key, message_id=name)
            return Outcome.DONE

        key = notification_key(role, group)
        people_by_key = ((p.key, p) for p in people)
        return await send_each_once(
            self.sent, key, people_by_key, send, self.metrics.deduplicated.inc
        )


@dataclass(frozen=True)
class SmsSettings:
    recipients: Path
    gateway_file: Path | None = None
    """None: log what would be sent."""
    webhook_secret_file: Path | None = None
    insecure_no_auth: bool = False
    state_file: Path | None = None
    sent_ttl: float = DEFAULT_TTL
    max_body: int = MAX_BODY


def create_app(s: SmsSettings, registry: CollectorRegistry | None = None) -> web.Application:
    """The adapter's web app; a broken gateway or recipients file fails here, at start."""
    metrics = SmsMetrics(registry or CollectorRegistry())
    app = receiver_app("sms", s, metrics.registry, metrics.rejected)
    recipients = Recipients(s.recipients)
    recipients.users("", None)
    settings = load_gateway(s.gateway_file) if s.gateway_file is not None else None
    sent = SentLog(s.state_file, ttl=s.sent_ttl)

    async def client_session(app: web.Application) -> AsyncIterator[None]:
        async with aiohttp.ClientSession() as session:
            gateway = SmsGateway(session, settings) if settings is not None else None
            app[HOLDER].delivery = SmsAdapter(
                gateway, settings or Gateway(url=""), recipients, sent, metrics
            )
            yield

    app.cleanup_ctx.append(client_session)
    return app


def serve(s: SmsSettings, host: str, port: int) -> None:
    """Serve until SIGTERM or SIGINT."""
    app = create_app(s)
    if s.gateway_file is None:
        log.warning("sms_not_configured", hint="--gateway FILE; until then SMS are only logged")
    warn_if_open(s)
    log.info(
        "sms_adapter_started",
        host=host,
        port=port,
        gateway=str(s.gateway_file) if s.gateway_file else None,
        webhook_auth=s.webhook_secret_file is not None,
        state_file=str(s.state_file) if s.state_file else None,
    )
    web.run_app(app, host=host, port=port, print=None, handle_signals=True)
