"""The evidence in the reader's language: Vietnamese from the alert's fields, the core's
English sentence in the English part, on every rule and level and in the e-mail."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.message import Message

import msgspec
import pytest
from alerting_support import alert
from services import AlertmanagerServer, SmtpServer
from test_alert_email import text

from alerts.alertmanager import AlertmanagerClient
from alerts.labels import alert_labels
from alerts.texts import details, evidence_vi, wording
from streams.contract.alerts import RULES, Alert

CHAIN = (("DEPT_A", "2025-09-08T09:00:00+07:00"), ("DEPT_B", "2025-09-09T10:30:00+07:00"))


def story(rule: str, level: str, *, anchor: str = "a") -> Alert:
    a = alert("HS-1", level, "warning", rule=rule, unit="DEPT_LAND", anchor=anchor)
    return msgspec.structs.replace(a, chain=CHAIN)


@pytest.mark.parametrize(
    ("rule", "level", "anchor", "expected"),
    [
        (
            "deadline",
            "near_due_75",
            "a",
            "Đến 2025-07-10 09:00 hồ sơ đã dùng 75% số giờ làm việc của thời hạn; hạn"
            " 2025-07-09 17:00; đang ở DEPT_LAND; cán bộ O-DEPT_JUSTICE-2 đang giữ.",
        ),
        (
            "deadline",
            "overdue",
            "a",
            "Hạn giải quyết 2025-07-09 17:00 đã qua mà hồ sơ chưa có kết quả; đang ở"
            " DEPT_LAND; cán bộ O-DEPT_JUSTICE-2 đang giữ.",
        ),
        (
            "deadline",
            "escalation_2",
            "a",
            "Đến 2025-07-10 09:00 hồ sơ vẫn quá hạn (hạn 2025-07-09 17:00), cảnh báo cấp 2;"
            " đang ở DEPT_LAND; cán bộ O-DEPT_JUSTICE-2 đang giữ.",
        ),
        (
            "stall",
            "warning",
            "a",
            "Hồ sơ không có tiến triển nào tại DEPT_LAND cho đến 2025-07-10 09:00, quá số ngày"
            " làm việc cho phép với nhóm thủ tục justice; cán bộ O-DEPT_JUSTICE-2 đang giữ.",
        ),
        (
            "ping_pong_unit",
            "critical",
            "2",
            "Hồ sơ bị chuyển trả qua lại giữa các đơn vị (2 lần): DEPT_A (2025-09-08 09:00)"
            " → DEPT_B (2025-09-09 10:30).",
        ),
        (
            "referral_chain",
            "warning",
            "5",
            "Hồ sơ đã qua 5 đơn vị (không kể Bộ phận Một cửa): DEPT_A (2025-09-08 09:00)"
            " → DEPT_B (2025-09-09 10:30).",
        ),
    ],
)
def test_vietnamese_evidence_is_built_from_the_fields(
    rule: str, level: str, anchor: str, expected: str
) -> None:
    """Each rule and level says its facts in Vietnamese: when, the due date, the unit and
    officer, the count the id is anchored on, the path."""
    assert evidence_vi(story(rule, level, anchor=anchor)) == expected


def test_every_rule_has_vietnamese_evidence_without_english_in_it() -> None:
    """No rule of the core falls back to its English evidence, and an unknown rule gets its
    title, time and unit."""
    for rule in RULES:
        said = evidence_vi(story(rule, "breach"))
        assert said and "test evidence" not in said and "{" not in said, rule
    assert (
        evidence_vi(story("brand_new", "x"))
        == "Cảnh báo brand_new lúc 2025-07-10 09:00 tại DEPT_LAND."
    )


def test_details_end_with_the_evidence_in_each_language() -> None:
    """The Vietnamese details end with "Căn cứ:" and the Vietnamese evidence (with the
    unit's name when the catalogue has it), the English with the core's sentence."""
    a = alert("HS-1", "overdue", unit="DEPT_LAND")
    vi, en = details(a, unit_name="Sở Tài nguyên")
    assert vi.splitlines()[-1] == (
        "Căn cứ: Hạn giải quyết 2025-07-09 17:00 đã qua mà hồ sơ chưa có kết quả; đang ở"
        " Sở Tài nguyên; cán bộ O-DEPT_JUSTICE-2 đang giữ."
    )
    assert en.splitlines()[-1] == "Evidence: test evidence for HS-1"


def test_the_email_gives_the_evidence_in_vietnamese_then_in_english(
    alertmanager: AlertmanagerServer, smtp: SmtpServer
) -> None:
    """The unit head's mail of an overdue dossier: "Căn cứ:" in Vietnamese in the
    Vietnamese part, "Evidence:" in English in the English part, each once."""
    a = alert("HS-9", "overdue", unit="DEPT_LAND")
    vi, en = details(a)
    w = wording(a)
    now = datetime.now(UTC)
    AlertmanagerClient(alertmanager.url).post(
        [
            {
                "labels": alert_labels(a),
                "annotations": {
                    "title": w.title,
                    "title_en": w.title_en,
                    "summary": w.summary,
                    "summary_en": w.summary_en,
                    "description": vi,
                    "description_en": en,
                    "evidence": a.evidence,
                },
                "startsAt": now.isoformat(timespec="milliseconds"),
                "endsAt": (now + timedelta(minutes=5)).isoformat(timespec="milliseconds"),
            }
        ]
    )
    head = "truongphong.datdai@dossierwatch.example"
    mails = smtp.wait_for(lambda ms: any(m["To"] == head for m in ms))
    mail: Message = next(m for m in mails if m["To"] == head)
    body = text(mail)
    vi_part, en_part = body.split("————————————————————————————————")
    assert vi_part.count("Căn cứ: Hạn giải quyết 2025-07-09 17:00 đã qua") == 1
    assert "test evidence" not in vi_part
    assert en_part.count("Evidence: test evidence for HS-9") == 1
