"""The e-mail templates on a real Alertmanager for what does not come from the bridge:
Prometheus's aggregate alerts, firing and then resolved."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.header import decode_header, make_header
from email.message import Message

from services import AlertmanagerServer, SmtpServer

from alerts.alertmanager import AlertmanagerClient
from alerts.firing import rfc3339

HEAD = "truongphong.datdai@dossierwatch.example"


def subject(m: Message) -> str:
    return str(make_header(decode_header(m["Subject"])))


def text(m: Message) -> str:
    for part in m.walk():
        if part.get_content_type() == "text/plain":
            payload = part.get_payload(decode=True)
            assert isinstance(payload, bytes)
            return payload.decode(part.get_content_charset() or "utf-8")
    raise AssertionError("no text/plain part")


def test_aggregate_alert_mail_uses_its_own_annotations(
    alertmanager: AlertmanagerServer, smtp: SmtpServer
) -> None:
    """A unit backlog alert from Prometheus mails the unit head its summary, description
    and runbook, counted as alerts, then a "Đã hết cảnh báo" mail when it resolves."""
    now = datetime.now(UTC)
    backlog = {
        "labels": {
            "alertname": "DossierOverdueBacklog",
            "severity": "warning",
            "team": "unit_head",
            "unit": "DEPT_LAND",
        },
        "annotations": {
            "summary": "DEPT_LAND: 12 hồ sơ quá hạn",
            "summary_en": "DEPT_LAND: 12 overdue dossiers",
            "description": "12 hồ sơ đang xử lý tại DEPT_LAND đã quá hạn (ngưỡng 10).",
            "description_en": "12 open dossiers in DEPT_LAND are past their due date.",
            "runbook": "Sort the unit's overdue dossiers by due date.",
        },
        "startsAt": rfc3339(now),
        "endsAt": rfc3339(now + timedelta(minutes=5)),
    }
    am = AlertmanagerClient(alertmanager.url)
    am.post([backlog])
    first = smtp.wait_for(lambda ms: any(m["To"] == HEAD for m in ms))[-1]
    assert subject(first) == (
        "[DossierWatch] DossierOverdueBacklog / DossierOverdueBacklog — DEPT_LAND:"
        " 1 cảnh báo / alerts"
    )
    body = text(first)
    assert "■ DossierOverdueBacklog — DEPT_LAND: 12 hồ sơ quá hạn" in body
    assert "Việc cần làm: Sort the unit's overdue dossiers by due date." in body
    assert "DEPT_LAND: 12 overdue dossiers" in body
    assert "Xem hồ sơ" not in body

    am.post([{**backlog, "endsAt": rfc3339(datetime.now(UTC))}])
    mails = smtp.wait_for(lambda ms: any("Resolved" in subject(m) for m in ms))
    resolved = next(m for m in mails if "Resolved" in subject(m))
    assert subject(resolved).startswith("[DossierWatch] Đã hết cảnh báo / Resolved:")
    assert "✓ DossierOverdueBacklog — DEPT_LAND: 12 hồ sơ quá hạn" in text(resolved)
