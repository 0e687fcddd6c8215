"""Alerts: what the detectors say, with a deterministic id so every consumer can dedupe."""

from __future__ import annotations

from typing import Literal
from urllib.parse import quote

import msgspec

Severity = Literal["info", "warning", "critical"]
Status = Literal["firing", "resolved"]

# Rule names are metric label values: a fixed, small set.
DEADLINE = "deadline"
STALL = "stall"
PING_PONG_UNIT = "ping_pong_unit"
PING_PONG_OFFICER = "ping_pong_officer"
REFERRAL_CHAIN = "referral_chain"
CONSULTATION_COUNT = "consultation_count"
CONSULTATION_LATE = "consultation_late"
TRANSFER_LATE = "transfer_late"
ACCEPTANCE_LATE = "acceptance_late"
SUPPLEMENT_LATE = "supplement_late"
SUPPLEMENT_REPEATED = "supplement_repeated"
SUPPLEMENT_EXPIRED = "supplement_expired"
RESCHEDULE_LATE = "reschedule_late"
RESCHEDULE_REPEATED = "reschedule_repeated"
INTAKE_NOTICE = "intake_notice"
APPOINTMENT_BEYOND_LIMIT = "appointment_beyond_limit"
REFUSAL_LATE = "refusal_late"
STEP_LATE = "step_late"
PAPER_TRANSFER_LATE = "paper_transfer_late"

RULES: tuple[str, ...] = (
    DEADLINE,
    STALL,
    PING_PONG_UNIT,
    PING_PONG_OFFICER,
    REFERRAL_CHAIN,
    CONSULTATION_COUNT,
    CONSULTATION_LATE,
    TRANSFER_LATE,
    ACCEPTANCE_LATE,
    SUPPLEMENT_LATE,
    SUPPLEMENT_REPEATED,
    SUPPLEMENT_EXPIRED,
    RESCHEDULE_LATE,
    RESCHEDULE_REPEATED,
    INTAKE_NOTICE,
    APPOINTMENT_BEYOND_LIMIT,
    REFUSAL_LATE,
    STEP_LATE,
    PAPER_TRANSFER_LATE,
)

WARNING_RULES = frozenset(RULES) - {
    DEADLINE,
    PING_PONG_UNIT,
    PING_PONG_OFFICER,
    SUPPLEMENT_REPEATED,
    SUPPLEMENT_EXPIRED,
    RESCHEDULE_REPEATED,
}
"""Rules whose alerts are warnings at every level (the rest are critical past warning)."""


class Alert(msgspec.Struct, frozen=True, omit_defaults=True):
    """One alert about one dossier.  `id` = dossier/rule/level/anchor: the same situation
    always yields the same id, whether live or replayed, so it never fires twice."""

    id: str
    status: Status
    rule: str
    level: str
    severity: Severity
    dossier: str
    at: str
    """When it fired (or resolved): the event or timer instant, local ISO-8601."""
    unit: str | None = None
    officer: str | None = None
    procedure: str | None = None
    procedure_group: str | None = None
    due: str | None = None
    evidence: str = ""
    chain: tuple[tuple[str, str], ...] = ()
    """For referrals: (unit or officer, when it arrived there), oldest first."""
    url: str | None = None
    """The dossier's page, `dossier_url(link base, dossier)`: set by the worker that emits
    the alert; omitted when unset, so records without it read and encode as before (the
    id never depends on it)."""


def alert_id(dossier: str, rule: str, level: str, anchor: object) -> str:
    return f"{dossier}/{rule}/{level}/{anchor}"


def dossier_url(link_base: str, dossier: str) -> str:
    """The dossier's page under `link_base` (a public URL): the id quoted whole, "/"
    included, so an id like "HS/1 2" stays one path segment."""
    return f"{link_base.rstrip('/')}/dossiers/{quote(dossier, safe='')}"


def with_url(alert: Alert, link_base: str) -> Alert:
    """The alert with its dossier page's URL on it (the worker stamps what it emits)."""
    return msgspec.structs.replace(alert, url=dossier_url(link_base, alert.dossier))


_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(Alert)


def encode_alert(alert: Alert) -> bytes:
    return _encoder.encode(alert)


def decode_alert(raw: bytes) -> Alert:
    return _decoder.decode(raw)
