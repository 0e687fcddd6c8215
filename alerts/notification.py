"""An Alertmanager webhook notification, as every adapter reads it.

Alertmanager posts one notification per group (one unit, one kind of alert) to each
webhook receiver.  This module checks the body's shape (`validate_group`), names the
notification so a retry of it is recognised (`notification_key`), and reads what a
message says about each alert (`items`): the dossier, its summary, the evidence in
Vietnamese and the dossier page's URL — cleaned, whatever channel shows them.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from alerts.plaintext import clean, link
from streams.contract.errors import AlertDeliveryError

# Bounds of one value in a message (characters): a title, a unit id, a summary.
TITLE_CHARS = 80
UNIT_CHARS = 64
SUMMARY_CHARS = 300


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
    adapters read; fields they do not read may be anything, for later versions' sake."""
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


def group_unit(group: dict[str, Any]) -> str | None:
    """The unit the notification is about (its group label, else the common label)."""
    for key in ("groupLabels", "commonLabels"):
        unit = (group.get(key) or {}).get("unit")
        if unit:
            return str(unit)
    return None


def notification_key(role: str, group: dict[str, Any]) -> str:
    """Equal for Alertmanager's retries of one notification, different for the next one:
    the group, its status and each alert's fingerprint and status."""
    alerts = sorted(
        (str(a.get("fingerprint", "")), str(a.get("status", ""))) for a in group.get("alerts") or []
    )
    raw = repr((role, group.get("groupKey"), group.get("status"), alerts))
    return hashlib.sha256(raw.encode()).hexdigest()


@dataclass(frozen=True)
class Item:
    """One alert of a notification, cleaned: what any channel's message says about it."""

    firing: bool
    dossier: str
    """The dossier id ("" for Prometheus's aggregate alerts, which have none)."""
    summary: str
    summary_en: str
    evidence_vi: str
    """The evidence in Vietnamese ("" when the alert has none, e.g. an aggregate alert)."""
    evidence_en: str
    url: str
    """The dossier page's absolute URL, or "" when missing or not a plain http(s) URL."""


def items(group: dict[str, Any]) -> list[Item]:
    """The notification's alerts, firing ones first (the ones that need action)."""
    out: list[Item] = []
    for a in group.get("alerts") or []:
        n = a.get("annotations") or {}
        labels = a.get("labels") or {}
        dossier = clean(labels.get("dossier") or "", TITLE_CHARS)
        summary = clean(n.get("summary") or dossier, SUMMARY_CHARS)
        out.append(
            Item(
                firing=a.get("status") == "firing",
                dossier=dossier,
                summary=summary,
                summary_en=clean(n.get("summary_en") or "", SUMMARY_CHARS) or summary,
                evidence_vi=clean(n.get("evidence_vi") or "", SUMMARY_CHARS),
                evidence_en=clean(n.get("evidence") or "", SUMMARY_CHARS),
                url=link(n.get("dossier_url") or ""),
            )
        )
    return sorted(out, key=lambda i: not i.firing)


@dataclass(frozen=True)
class Heading:
    """What the notification is about, cleaned: its title, unit and how many alerts."""

    title: str
    title_en: str
    unit: str
    noun: str
    """"hồ sơ" for per-dossier alerts, "cảnh báo" for aggregate ones."""
    noun_en: str
    firing: int
    resolved: int
    truncated: int
    """Alerts Alertmanager left out of the body (max_alerts in the webhook config)."""
    still_firing: bool
    critical: bool


def heading(group: dict[str, Any]) -> Heading:
    alerts: list[dict[str, Any]] = group.get("alerts") or []
    firing = [a for a in alerts if a.get("status") == "firing"]
    truncated = int(group.get("truncatedAlerts") or 0)
    # Only the left-out alerts may be firing: the group's status says so.
    still_firing = bool(firing) or (truncated > 0 and group.get("status") == "firing")
    common = group.get("commonAnnotations") or {}
    unit = clean(group_unit(group) or "", UNIT_CHARS) or "—"
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
    return Heading(
        title,
        title_en,
        unit,
        noun,
        noun_en,
        len(firing),
        len(alerts) - len(firing),
        truncated,
        still_firing,
        critical,
    )
