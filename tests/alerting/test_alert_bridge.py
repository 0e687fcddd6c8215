"""The bridge on a real broker and a real Alertmanager: routing, inhibition, e-mail,
resolution, and no alert lost while Alertmanager or the bridge itself is down."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from email.header import decode_header, make_header
from email.message import Message
from pathlib import Path

import pytest
from alerting_support import (
    BridgeProcess,
    active,
    alert,
    keyed,
    notified,
    offsets,
    received_messages,
)
from conftest import Topics
from services import AlertmanagerServer, SmtpServer, WebhookReceiver
from workers import produce

from alerts.alertmanager import AlertmanagerClient
from alerts.firing import FiringSet, now_utc

pytestmark = pytest.mark.kafka


@pytest.fixture
def group() -> str:
    return f"bridge-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def bridge(
    kafka_bootstrap: str,
    topics: Topics,
    alertmanager: AlertmanagerServer,
    group: str,
    tmp_path: Path,
) -> Iterator[BridgeProcess]:
    b = BridgeProcess(kafka_bootstrap, topics.alerts, group, alertmanager.url, tmp_path / "b.log")
    b.wait_assigned()
    yield b
    b.stop()


def test_each_level_reaches_its_receiver(
    kafka_bootstrap: str, topics: Topics, bridge: BridgeProcess, hooks: WebhookReceiver
) -> None:
    """warning → unit channel, overdue → unit head, escalation_2 → director, repeated
    ping-pong → inspectors; a message that is not an alert is skipped."""
    produce(
        kafka_bootstrap,
        topics.alerts,
        [
            *keyed(
                [
                    alert("HS-W", "near_due_75", "warning"),
                    alert("HS-O", "overdue"),
                    alert("HS-E", "escalation_2", unit="DEPT_TAX"),
                    alert("HS-P", "critical", rule="ping_pong_unit", unit="DEPT_LAND"),
                ]
            ),
            (b"junk", b"not an alert"),
        ],
    )
    want = {
        "/unit-channel": {("HS-W", "near_due_75"), ("HS-O", "overdue")},
        "/unit-head": {("HS-O", "overdue"), ("HS-E", "escalation_2"), ("HS-P", "critical")},
        "/director": {("HS-E", "escalation_2")},
        "/inspectors": {("HS-P", "critical")},
    }
    # The ops centre is told in three groups (by unit and rule), each its own POST: the
    # last may land just after the others' paths are all served.
    hooks.wait_for(
        lambda got: (
            all(want[p] <= notified(got, hooks.paths).get(p, set()) for p in want)
            and len(notified(got, hooks.paths).get("/ops-centre", ())) == 4
        )
    )
    got = notified(hooks.received, hooks.paths)
    assert ("HS-W", "near_due_75") not in got["/unit-head"]
    assert got["/director"] == {("HS-E", "escalation_2")}
    assert got["/inspectors"] == {("HS-P", "critical")}
    assert len(got["/ops-centre"]) == 4
    assert any(e["event"] == "bad_message" for e in bridge.events())


def test_breach_silences_near_due_of_the_same_dossier(
    kafka_bootstrap: str,
    topics: Topics,
    bridge: BridgeProcess,
    alertmanager: AlertmanagerServer,
    hooks: WebhookReceiver,
) -> None:
    """With HS-1 overdue, its near-due warning is inhibited; HS-2's near-due still goes out."""
    produce(
        kafka_bootstrap,
        topics.alerts,
        keyed(
            [
                alert("HS-1", "near_due_90", "warning"),
                alert("HS-1", "overdue"),
                alert("HS-2", "near_due_90", "warning"),
            ]
        ),
    )
    hooks.wait_for(
        lambda got: (
            {("HS-2", "near_due_90"), ("HS-1", "overdue")}
            <= notified(got, hooks.paths).get("/unit-channel", set())
        )
    )
    held = active(alertmanager.alerts())
    near = held["HS-1/deadline/near_due_90/a"]["status"]
    assert near["state"] == "suppressed" and near["inhibitedBy"]
    assert held["HS-2/deadline/near_due_90/a"]["status"]["state"] == "active"
    assert ("HS-1", "near_due_90") not in notified(hooks.received, hooks.paths)["/unit-channel"]


def _body(m: Message, kind: str) -> str:
    for part in m.walk():
        if part.get_content_type() == kind:
            payload = part.get_payload(decode=True)
            assert isinstance(payload, bytes)
            return payload.decode(part.get_content_charset() or "utf-8")
    raise AssertionError(f"no {kind} part")


def test_overdue_mail_reaches_the_unit_head_in_vietnamese(
    kafka_bootstrap: str, topics: Topics, bridge: BridgeProcess, smtp: SmtpServer
) -> None:
    """The unit head's e-mail arrives at the SMTP server with "Quá hạn" and the dossier id."""
    produce(kafka_bootstrap, topics.alerts, keyed([alert("HS-2025-0042", "overdue")]))
    head = "giamdoc.sotuphap@dossierwatch.example"
    mails = smtp.wait_for(lambda ms: any(m["To"] == head for m in ms))
    mail = next(m for m in mails if m["To"] == head)
    subject = str(make_header(decode_header(mail["Subject"])))
    assert subject.startswith("[DossierWatch] Quá hạn / Overdue — DEPT_JUSTICE")
    text = _body(mail, "text/plain")
    assert "Quá hạn — Hồ sơ HS-2025-0042 đã quá hạn 2025-07-09 17:00 tại DEPT_JUSTICE" in text
    assert "Overdue — Dossier HS-2025-0042" in text
    assert "http://dossiers.test/dossiers/HS-2025-0042" in text
    html = _body(mail, "text/html")
    assert "Quá hạn" in html and "HS-2025-0042" in html


def test_resolution_ends_the_alertmanager_alert(
    kafka_bootstrap: str,
    topics: Topics,
    bridge: BridgeProcess,
    alertmanager: AlertmanagerServer,
    hooks: WebhookReceiver,
) -> None:
    """A resolved message ends the alert in Alertmanager, which tells the receivers; a
    repeated firing before it made no second alert."""
    firing = alert("HS-R", "overdue")
    produce(kafka_bootstrap, topics.alerts, keyed([firing, firing]))
    hooks.wait_for(
        lambda got: ("HS-R", "overdue") in notified(got, hooks.paths).get("/unit-head", set())
    )
    assert [a["labels"]["dossier"] for a in alertmanager.alerts()] == ["HS-R"]
    produce(
        kafka_bootstrap, topics.alerts, keyed([alert("HS-R", "overdue", "info", status="resolved")])
    )
    hooks.wait_for(
        lambda got: any(
            p == "/unit-head" and b["status"] == "resolved"
            for p, b in zip(hooks.paths, got, strict=False)
        )
    )
    assert alertmanager.alerts() == []


def test_alertmanager_restart_loses_nothing(
    kafka_bootstrap: str,
    topics: Topics,
    bridge: BridgeProcess,
    alertmanager: AlertmanagerServer,
    group: str,
) -> None:
    """Alerts consumed while Alertmanager is down stay uncommitted and reach it once it is
    back, together with the earlier firing alerts it forgot in the restart."""
    before = [alert(f"HS-A{i}", "overdue") for i in range(3)]
    produce(kafka_bootstrap, topics.alerts, keyed(before))
    wait_committed(kafka_bootstrap, topics, group, 3)
    assert len(alertmanager.alerts()) == 3

    alertmanager.stop()
    during = [alert(f"HS-B{i}", "escalation_1") for i in range(4)]
    produce(kafka_bootstrap, topics.alerts, keyed(during))
    bridge.wait_for(
        lambda ev: (
            received_messages(ev) > 3
            and any(e["event"] == "alertmanager_unavailable" and e.get("alerts") for e in ev)
        )
    )
    time.sleep(2)  # retries go on; the offsets must not move meanwhile
    assert offsets(kafka_bootstrap, topics.alerts, group, topics.partitions) == (3, 7)

    alertmanager.restart()
    bridge.wait_for(lambda ev: any(e["event"] == "alertmanager_recovered" for e in ev))
    want = {a.id for a in before + during}
    bridge.wait_for(lambda ev: set(active(alertmanager.alerts())) == want)
    wait_committed(kafka_bootstrap, topics, group, 7)


def test_restarted_bridge_keeps_firing_alerts_alive(
    kafka_bootstrap: str,
    topics: Topics,
    alertmanager: AlertmanagerServer,
    group: str,
    tmp_path: Path,
) -> None:
    """A bridge killed while Alertmanager was down leaves its batch uncommitted; the next
    bridge delivers it and re-sends the alerts still firing from before, not resolved ones."""
    log1, log2 = tmp_path / "b1.log", tmp_path / "b2.log"
    first = BridgeProcess(kafka_bootstrap, topics.alerts, group, alertmanager.url, log1)
    try:
        first.wait_assigned()
        produce(
            kafka_bootstrap,
            topics.alerts,
            keyed(
                [
                    alert("HS-1", "overdue"),
                    alert("HS-2", "overdue"),
                    alert("HS-2", "overdue", "info", status="resolved"),
                ]
            ),
        )
        wait_committed(kafka_bootstrap, topics, group, 3)
        alertmanager.stop()
        produce(kafka_bootstrap, topics.alerts, keyed([alert("HS-3", "escalation_2")]))
        first.wait_for(
            lambda ev: (
                received_messages(ev) == 4
                and any(e["event"] == "alertmanager_unavailable" for e in ev)
            )
        )
    finally:
        first.kill9()
    assert offsets(kafka_bootstrap, topics.alerts, group, topics.partitions) == (3, 4)

    alertmanager.restart()
    assert alertmanager.alerts() == []
    second = BridgeProcess(kafka_bootstrap, topics.alerts, group, alertmanager.url, log2)
    try:
        want = {"HS-1/deadline/overdue/a", "HS-3/deadline/escalation_2/a"}
        events = second.wait_for(lambda ev: set(active(alertmanager.alerts())) == want)
        started = next(e for e in events if e["event"] == "bridge_started")
        assert (started["replayed"], started["firing"]) == (3, 1)
        wait_committed(kafka_bootstrap, topics, group, 4)
    finally:
        second.stop()


def wait_committed(bootstrap: str, topics: Topics, group: str, n: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if offsets(bootstrap, topics.alerts, group, topics.partitions)[0] == n:
            return
        time.sleep(0.3)
    raise AssertionError(f"the group did not commit {n} offsets in {timeout}s")


def test_resolution_of_an_alert_fired_before_this_bridge(
    kafka_bootstrap: str,
    topics: Topics,
    bridge: BridgeProcess,
    alertmanager: AlertmanagerServer,
) -> None:
    """A resolution whose firing the bridge never read (gone from the topic) still ends
    the alert Alertmanager holds under that alert id."""
    old = alert("HS-OLD", "escalation_1", at="2025-07-01T08:00:00+07:00")
    posted = FiringSet("http://dossiers.test", timedelta(minutes=5)).apply(old, now_utc())
    assert posted.postable is not None
    AlertmanagerClient(alertmanager.url).post([posted.postable])
    assert [a["labels"]["alert_id"] for a in alertmanager.alerts()] == [old.id]
    produce(
        kafka_bootstrap,
        topics.alerts,
        keyed([alert("HS-OLD", "escalation_1", "info", status="resolved")]),
    )
    bridge.wait_for(lambda ev: any(e["event"] == "batch_delivered" for e in ev))
    assert alertmanager.alerts() == []
