"""ZNS (Zalo Notification Service) template messages: the template file and its values.

A ZNS message is a template the centre registered and Zalo approved, sent by phone number
to people a consultation message cannot reach (they do not follow the OA, or have not
written to it in the last days).  Its text is fixed; the adapter fills its parameters.
Which parameters a template has, and how long each may be, was chosen when registering
it (each parameter's "cài đặt kỹ thuật" sets its maximum, e.g. 30 characters for a name:
zalo.cloud/zns/guidelines, "Các định dạng dữ liệu khi truyền vào tham số"), so the
template file says both (deploy/alertmanager/zns-template.toml is the shipped example:
`template_id`, an optional `fallback_link`, and [params] name = { value = …, max = … }).

Values: dossier (the first dossier needing action), unit (its name when the catalogue
gave one, else its code), rule (the alert's title, "Quá hạn"), count (how many alerts
need action), link (the dossier page's absolute URL; aggregate alerts without one use
`fallback_link`), evidence (the Vietnamese evidence of the first alert).  A value longer
than its parameter's maximum is cut with "…" (a link is never cut: without room for it,
the template file is refused at start).

A template says something needs action, so only firing notifications are sent by ZNS
(each costs money); resolutions reach people by the OA message, e-mail and webhooks.
"""

from __future__ import annotations

import hashlib
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alerts.notification import heading, items
from alerts.plaintext import URL_CHARS, clean, clip, link
from streams.contract.errors import AlertDeliveryError

VALUES = ("dossier", "unit", "rule", "count", "link", "evidence")
TRACKING_CHARS = 32
"""Hex characters of a tracking id: 128 bits, well within what ZNS stores."""


class TemplateError(AlertDeliveryError):
    pass


@dataclass(frozen=True)
class Param:
    name: str
    value: str
    """One of VALUES."""
    max: int


@dataclass(frozen=True)
class ZnsTemplate:
    template_id: str
    params: tuple[Param, ...]
    fallback_link: str = ""


def parse_template(text: str, where: str = "ZNS template") -> ZnsTemplate:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise TemplateError(f"{where}: {err}") from None
    unknown = sorted(set(data) - {"template_id", "fallback_link", "params"})
    if unknown:
        raise TemplateError(f"{where}: unknown key {unknown[0]!r}")
    template_id = data.get("template_id")
    if not isinstance(template_id, str | int) or not str(template_id).strip():
        raise TemplateError(f"{where}: template_id is missing")
    fallback = data.get("fallback_link", "")
    if not isinstance(fallback, str) or (fallback and not link(fallback)):
        raise TemplateError(f"{where}: fallback_link must be an http(s) URL")
    table = data.get("params")
    if not isinstance(table, dict) or not table:
        raise TemplateError(f"{where}: [params] must name at least one parameter")
    params: list[Param] = []
    for name, spec in table.items():
        p = f"{where}: params.{name}"
        if not isinstance(spec, dict) or set(spec) != {"value", "max"}:
            raise TemplateError(f"{p} must be {{ value = …, max = … }}")
        value, limit = spec["value"], spec["max"]
        if value not in VALUES:
            raise TemplateError(f"{p}: value must be one of {', '.join(VALUES)}")
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise TemplateError(f"{p}: max must be a positive number of characters")
        if value == "link" and limit < min(URL_CHARS, 100):
            raise TemplateError(f"{p}: max {limit} leaves no room for a dossier link")
        params.append(Param(name, value, limit))
    return ZnsTemplate(str(template_id).strip(), tuple(params), fallback)


def load_template(path: Path) -> ZnsTemplate:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise TemplateError(f"ZNS template {path}: {err.strerror or err}") from None
    return parse_template(text, f"ZNS template {path}")


def template_data(group: dict[str, Any], template: ZnsTemplate) -> dict[str, str]:
    """The template's parameters for a notification, each within its maximum."""
    h = heading(group)
    firing = [i for i in items(group) if i.firing]
    first = firing[0] if firing else None
    unit = clean((group.get("commonAnnotations") or {}).get("unit_name") or "", 200) or h.unit
    count = h.firing + (h.truncated if group.get("status") == "firing" else 0)
    url = (first.url if first else "") or template.fallback_link
    values = {
        "dossier": first.dossier if first and first.dossier else h.title,
        "unit": unit,
        "rule": h.title,
        "count": str(max(count, 1)),
        "link": url,
        "evidence": (first.evidence_vi or first.summary) if first else h.title,
    }
    out: dict[str, str] = {}
    for p in template.params:
        value = values[p.value]
        # A link cut short would lead elsewhere: too long, it goes as the fallback.
        if p.value == "link" and len(value) > p.max:
            value = template.fallback_link if len(template.fallback_link) <= p.max else ""
        out[p.name] = clip(value, p.max)
    return out


def tracking_id(notification: str, recipient: str) -> str:
    """Ours for one message: the same for every retry of the notification to this
    recipient (Alertmanager's or ours), another for the next notification."""
    raw = f"{notification}\x1f{recipient}".encode()
    return hashlib.sha256(raw).hexdigest()[:TRACKING_CHARS]
