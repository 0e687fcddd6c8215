"""What reaches people through the real Alertmanager: a digest per unit and rule, stalls
silenced by a breach of the same dossier, warnings held in the quiet hours."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml
from alerting_support import alert, render_config
from services import AlertmanagerServer, SmtpServer, WebhookReceiver
from test_alertmanager_config import routes

from alerts.alertmanager import AlertmanagerClient
from alerts.amconfig import SOURCE
from alerts.labels import alert_labels
from alerts.texts import wording
from streams.contract.alerts import Alert


def postable(a: Alert) -> dict[str, Any]:
    """The alert as the bridge posts it (labels; enough annotations for the templates)."""
    now = datetime.now(UTC)
    w = wording(a)
    return {
        "labels": alert_labels(a),
        "annotations": {"title": w.title, "summary": w.summary, "summary_en": w.summary_en},
        "startsAt": now.isoformat(timespec="milliseconds"),
        "endsAt": (now + timedelta(minutes=5)).isoformat(timespec="milliseconds"),
    }


def stall(dossier: str, unit: str = "DEPT_TAX") -> Alert:
    return alert(dossier, "warning", "warning", rule="stall", unit=unit)


def firing_at(hooks: WebhookReceiver, path: str) -> list[list[tuple[str, str, str]]]:
    """Per notification to `path`: its firing alerts as (dossier, rule, level)."""
    out = []
    for p, body in zip(list(hooks.paths), list(hooks.received), strict=False):
        if p == path:
            labels = [a["labels"] for a in body["alerts"] if a["status"] == "firing"]
            out.append(sorted((x["dossier"], x["rule"], x["level"]) for x in labels))
    return out


def settle(seconds: float = 4.0) -> None:
    """Several group intervals (1 s in tests): what would have been sent has been."""
    time.sleep(seconds)


def test_two_stalls_of_one_unit_arrive_as_one_notification(
    alertmanager: AlertmanagerServer, hooks: WebhookReceiver
) -> None:
    """Two dossiers stalled in DEPT_TAX reach the unit's channel as one message listing
    both; a stall of another unit is a message of its own."""
    AlertmanagerClient(alertmanager.url).post(
        [postable(stall("HS-1")), postable(stall("HS-2")), postable(stall("HS-3", "DEPT_LAND"))]
    )
    hooks.wait_for(lambda _: len(firing_at(hooks, "/unit-channel")) >= 2)
    settle()
    # DEPT_LAND's channel is a receiver of its own with the same webhook.
    digests = [
        [("HS-1", "stall", "warning"), ("HS-2", "stall", "warning")],
        [("HS-3", "stall", "warning")],
    ]
    assert sorted(firing_at(hooks, "/unit-channel")) == digests
    assert sorted(firing_at(hooks, "/ops-centre")) == digests


def test_a_stall_is_silenced_by_the_breach_of_the_same_dossier(
    alertmanager: AlertmanagerServer, hooks: WebhookReceiver
) -> None:
    """A dossier both overdue and stalled is told once, as overdue; the stall of another
    dossier of the unit still goes out."""
    overdue = alert("HS-1", "overdue", unit="DEPT_TAX")
    AlertmanagerClient(alertmanager.url).post(
        [postable(overdue), postable(stall("HS-1")), postable(stall("HS-2"))]
    )
    hooks.wait_for(lambda _: len(firing_at(hooks, "/unit-head")) >= 1)
    hooks.wait_for(lambda _: len(firing_at(hooks, "/unit-channel")) >= 2)
    settle()
    told = [x for n in firing_at(hooks, "/unit-channel") for x in n]
    assert sorted(told) == [("HS-1", "deadline", "overdue"), ("HS-2", "stall", "warning")]
    everywhere = [x for p in set(hooks.paths) for n in firing_at(hooks, p) for x in n]
    assert ("HS-1", "stall", "warning") not in everywhere


@pytest.fixture
def quiet_alertmanager(
    tmp_path: Path, hooks: WebhookReceiver, zalo_sink: WebhookReceiver, smtp: SmtpServer
) -> Iterator[AlertmanagerServer]:
    """The config with its quiet hours stretched over the whole day."""
    config = render_config(tmp_path / "config", hooks.url, zalo_sink.url, smtp.port, quiet=True)
    am = AlertmanagerServer(config, tmp_path / "am")
    yield am
    am.stop()


def test_in_the_quiet_hours_a_warning_waits_and_a_breach_does_not(
    quiet_alertmanager: AlertmanagerServer, hooks: WebhookReceiver, zalo_sink: WebhookReceiver
) -> None:
    """Inside the quiet hours the unit's channel gets the overdue dossier but not the stall
    (by webhook or Zalo); the operations centre, a system, gets both."""
    overdue = alert("HS-1", "overdue", unit="DEPT_TAX")
    AlertmanagerClient(quiet_alertmanager.url).post([postable(overdue), postable(stall("HS-2"))])
    hooks.wait_for(lambda _: len(firing_at(hooks, "/unit-channel")) >= 1)
    hooks.wait_for(lambda _: len(firing_at(hooks, "/ops-centre")) >= 2)
    settle()
    assert firing_at(hooks, "/unit-channel") == [[("HS-1", "deadline", "overdue")]]
    assert firing_at(zalo_sink, "/zalo/unit_channel") == [[("HS-1", "deadline", "overdue")]]
    assert sorted(firing_at(hooks, "/ops-centre")) == [
        [("HS-1", "deadline", "overdue")],
        [("HS-2", "stall", "warning")],
    ]


def test_the_quiet_hours_are_nightly_in_vietnam_time() -> None:
    """Each channel's quiet hours are 20:00–07:00 in Asia/Ho_Chi_Minh, written in UTC (the
    Alertmanager image has no zone database, so no `location:`), and only routes that carry
    warnings alone name them."""
    config = yaml.safe_load((SOURCE / "alertmanager.yml").read_text(encoding="utf-8"))
    intervals = {t["name"]: t["time_intervals"] for t in config["time_intervals"]}
    assert set(intervals) == {"quiet-unit-channels", "quiet-inspectors"}
    vietnam = ZoneInfo("Asia/Ho_Chi_Minh")
    for spec in intervals.values():
        assert all("location" not in s for s in spec)
        quiet_hours = set()
        for s in spec:
            for t in s["times"]:
                start, end = (int(t[k].split(":")[0]) for k in ("start_time", "end_time"))
                for hour in range(start, end):
                    utc = datetime(2025, 9, 8, hour, tzinfo=UTC)
                    quiet_hours.add(utc.astimezone(vietnam).hour)
        assert quiet_hours == {20, 21, 22, 23, 0, 1, 2, 3, 4, 5, 6}

    def walk(route: dict[str, Any], warning_only: bool) -> Iterator[tuple[dict[str, Any], bool]]:
        matchers = route.get("matchers", [])
        warning_only = warning_only or 'severity="warning"' in matchers
        yield route, warning_only
        for child in route.get("routes", []):
            yield from walk(child, warning_only)

    muted = [(r, w) for r, w in walk(config["route"], False) if r.get("mute_time_intervals")]
    assert len(muted) >= 4
    assert all(w for _, w in muted)


def test_every_unit_channel_gets_its_warnings_and_its_breaches() -> None:
    """A unit with a channel of its own (unit-channel-<UNIT>) has it on both the breaches'
    and the warnings' route: adding a unit in one place only is caught here."""
    config = yaml.safe_load((SOURCE / "alertmanager.yml").read_text(encoding="utf-8"))
    units = [
        r["name"].removeprefix("unit-channel-")
        for r in config["receivers"]
        if r["name"].startswith("unit-channel-")
    ]
    assert units
    for unit in units:
        for severity, level in (("warning", "near_due_75"), ("critical", "overdue")):
            got = routes(
                SOURCE / "alertmanager.yml",
                dossier="HS-1",
                unit=unit,
                rule="deadline",
                level=level,
                severity=severity,
            )
            assert f"unit-channel-{unit}" in got, (unit, severity, got)
