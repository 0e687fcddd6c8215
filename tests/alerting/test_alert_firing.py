"""What the bridge posts for each alert message: labels, wording, dedupe by alert id."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import msgspec
from alerting_support import alert

from alerts.firing import FiringSet
from alerts.labels import (
    Names,
    alert_annotations,
    alert_labels,
    alertname,
    dossier_url,
    escalation,
    use_names,
)
from alerts.zalo import message_text

NOW = datetime(2025, 7, 10, 5, 0, tzinfo=UTC)


def fresh() -> FiringSet:
    return FiringSet("http://dossiers.test/", timedelta(minutes=4))


def test_labels_carry_routing_keys_and_the_dossier() -> None:
    """An overdue alert is labelled for routing: alertname, rule, level, severity, unit,
    procedure group, escalation 0 and the dossier."""
    labels = alert_labels(alert("HS-1", "overdue"))
    assert labels == {
        "alertname": "DossierDeadline",
        "alert_id": "HS-1/deadline/overdue/a",
        "rule": "deadline",
        "level": "overdue",
        "severity": "critical",
        "escalation": "0",
        "dossier": "HS-1",
        "unit": "DEPT_JUSTICE",
        "procedure_group": "justice",
    }


def test_escalation_and_alertname_follow_the_level_and_rule() -> None:
    """escalation_n gives escalation n, other levels 0; unknown rules get dossier_<rule>."""
    assert [escalation(x) for x in ("near_due_90", "overdue", "escalation_2")] == [0, 0, 2]
    assert alertname("ping_pong_officer") == "DossierPingPong"
    assert alertname("brand_new_rule") == "dossier_brand_new_rule"


def test_annotations_speak_vietnamese_and_english_with_a_link() -> None:
    """Annotations give the Vietnamese title "Quá hạn", an English summary and the link."""
    a = alert("HS/1 2", "overdue")
    notes = alert_annotations(a, dossier_url("http://dossiers.test/", a.dossier))
    assert notes["title"] == "Quá hạn"
    assert notes["summary"] == "Hồ sơ HS/1 2 đã quá hạn 2025-07-09 17:00 tại DEPT_JUSTICE"
    assert notes["summary_en"].startswith("Dossier HS/1 2 passed its due date")
    assert notes["dossier_url"] == "http://dossiers.test/dossiers/HS%2F1%202"
    assert notes["evidence"] == "test evidence for HS/1 2"
    assert "Hạn xử lý: 2025-07-09 17:00" in notes["description"]


def test_repeated_firing_id_is_refreshed_not_new() -> None:
    """A second firing with the same id is a refresh that keeps the first startsAt."""
    s = fresh()
    first = s.apply(alert("HS-1", "overdue", at="2025-07-10T09:00:00+07:00"), NOW)
    later = NOW + timedelta(minutes=1)
    again = s.apply(alert("HS-1", "overdue", at="2025-07-10T11:00:00+07:00"), later)
    assert (first.kind, again.kind) == ("fire", "refresh")
    assert first.postable and again.postable
    assert (
        again.postable["startsAt"] == first.postable["startsAt"] == "2025-07-10T05:00:00.000+00:00"
    )
    assert again.postable["endsAt"] == "2025-07-10T05:05:00.000+00:00"
    assert again.postable["labels"] == first.postable["labels"]
    assert again.postable["annotations"]["at"] == "2025-07-10T11:00:00+07:00"
    assert len(s) == 1


def test_resolution_ends_the_alert_with_the_labels_it_fired_with() -> None:
    """A resolution (severity info) posts the firing labels with endsAt now."""
    s = fresh()
    fired = s.apply(alert("HS-1", "overdue"), NOW)
    done = s.apply(alert("HS-1", "overdue", "info", status="resolved"), NOW)
    assert done.kind == "resolve" and done.postable and fired.postable
    assert done.postable["labels"] == fired.postable["labels"]
    assert done.postable["endsAt"] == "2025-07-10T05:00:00.000+00:00"
    assert len(s) == 0 and s.postables(NOW) == []


def test_firing_replayed_after_its_resolution_is_ignored() -> None:
    """Kafka redelivering a firing already resolved posts nothing."""
    s = fresh()
    s.apply(alert("HS-1", "overdue"), NOW)
    s.apply(alert("HS-1", "overdue", "info", status="resolved"), NOW)
    again = s.apply(alert("HS-1", "overdue"), NOW)
    assert again.kind == "replayed" and again.postable is None


def test_resolution_of_an_unseen_alert_asks_for_a_lookup() -> None:
    """Resolving an id never seen firing is 'unknown'; resolving it again is 'replayed'."""
    s = fresh()
    assert s.apply(alert("HS-9", "overdue", "info", status="resolved"), NOW).kind == "unknown"
    assert s.apply(alert("HS-9", "overdue", "info", status="resolved"), NOW).kind == "replayed"


def test_resend_keeps_every_firing_alert_alive_for_the_ttl() -> None:
    """The periodic re-send posts every firing alert with endsAt = now + ttl."""
    s = fresh()
    for d in ("HS-1", "HS-2"):
        s.apply(alert(d, "overdue"), NOW)
    ends = {p["endsAt"] for p in s.postables(NOW)}
    assert ends == {"2025-07-10T05:04:00.000+00:00"}


def test_alert_starts_when_alertmanager_first_hears_of_it() -> None:
    """startsAt is the bridge's clock, so group_wait holds even for an old or replayed
    alert; the alert's own instant stays in the annotations."""
    s = fresh()
    fired = s.apply(alert("HS-1", "overdue", at="2024-01-01T00:00:00+07:00"), NOW)
    assert fired.postable and fired.postable["startsAt"] == "2025-07-10T05:00:00.000+00:00"
    assert fired.postable["annotations"]["at"] == "2024-01-01T00:00:00+07:00"


def _group(n: int) -> dict[str, object]:
    alerts = []
    for i in range(n):
        a = alert(f"HS-{i}", "overdue")
        alerts.append(
            {
                "status": "firing",
                "labels": alert_labels(a),
                "annotations": alert_annotations(a, dossier_url("http://d.test", a.dossier)),
            }
        )
    return {
        "status": "firing",
        "groupLabels": {"unit": "DEPT_JUSTICE", "alertname": "DossierDeadline"},
        "commonAnnotations": {"title": "Quá hạn", "title_en": "Overdue"},
        "alerts": alerts,
    }


def test_zalo_text_is_vietnamese_then_english() -> None:
    """The Zalo text opens with the Vietnamese headline and lists the English one below."""
    text = message_text(_group(2))
    vi, en = text.split("\n\n")
    assert vi.startswith("🔴 Quá hạn — DEPT_JUSTICE: 2 hồ sơ cần xử lý")
    assert "http://d.test/dossiers/HS-1" in vi
    assert en.startswith("Overdue — DEPT_JUSTICE: 2 dossiers need action")


def test_zalo_text_fits_the_message_limit() -> None:
    """A large group is cut to the 2000-character limit, counting the dossiers left out."""
    text = message_text(_group(60))
    assert len(text) <= 2000
    assert "hồ sơ khác" in text and "more" in text


NAMES = Names(
    units={"DEPT_JUSTICE": "Sở Tư pháp", "DEPT_LAND": "Sở Nông nghiệp và Môi trường"},
    procedures={"1.005120": "Cấp Phiếu lý lịch tư pháp"},
)


def test_annotations_name_unit_and_procedure_from_the_catalogue() -> None:
    """With a catalogue's names the annotations and texts name the unit and the procedure
    (codes beside them), the referral path names its units, and labels and id stay codes."""
    a = msgspec.structs.replace(
        alert("HS-1", "overdue"),
        chain=(("DEPT_LAND", "2025-07-01T09:00:00+07:00"), ("DEPT_X", "2025-07-02T09:00:00+07:00")),
    )
    plain = alert_annotations(a, "http://d.test/dossiers/HS-1")
    named = alert_annotations(a, "http://d.test/dossiers/HS-1", NAMES)
    assert (named["unit_name"], named["procedure_name"]) == (
        "Sở Tư pháp",
        NAMES.procedures["1.005120"],
    )
    assert named["summary"] == "Hồ sơ HS-1 đã quá hạn 2025-07-09 17:00 tại Sở Tư pháp"
    assert "Đơn vị: Sở Tư pháp (DEPT_JUSTICE)" in named["description"]
    assert "Procedure: Cấp Phiếu lý lịch tư pháp (1.005120) (justice)" in named["description_en"]
    assert named["chain"].startswith("Sở Nông nghiệp và Môi trường (2025-07-01 09:00) → DEPT_X")
    assert "unit_name" not in plain and plain["summary"].endswith("tại DEPT_JUSTICE")
    assert alert_labels(a)["unit"] == "DEPT_JUSTICE"


def test_unknown_codes_stay_codes_in_annotations() -> None:
    """A unit or procedure the names lack is shown as its code, with no name annotation."""
    a = alert("HS-2", "overdue", unit="DEPT_MYSTERY")
    notes = alert_annotations(a, "http://d.test/dossiers/HS-2", Names(units=NAMES.units))
    assert "unit_name" not in notes and "procedure_name" not in notes
    assert notes["summary"].endswith("tại DEPT_MYSTERY")
    assert "Thủ tục: 1.005120 (justice)" in notes["description"]


def test_the_bridge_names_reach_the_firing_set() -> None:
    """Names set once for the bridge (`use_names`) are in what the firing set posts; the
    labels, and so Alertmanager's identity of the alert, are those without names."""
    use_names(NAMES)
    try:
        change = fresh().apply(alert("HS-3", "overdue"), NOW)
    finally:
        use_names(Names())
    assert change.postable is not None
    assert change.postable["annotations"]["unit_name"] == "Sở Tư pháp"
    assert change.postable["labels"] == alert_labels(alert("HS-3", "overdue"))
    assert "unit_name" not in fresh().apply(alert("HS-4", "overdue"), NOW).postable["annotations"]  # type: ignore[index]
