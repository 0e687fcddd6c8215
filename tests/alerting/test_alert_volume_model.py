"""bench/alert_volume.py's model of Alertmanager: it routes as amtool does, and on a small
stream it digests, inhibits and holds warnings overnight as the real one does
(tests/alerting/test_alert_digest.py)."""

from __future__ import annotations

import sys
from pathlib import Path

import msgspec
import pytest
import yaml
from alerting_support import alert
from test_alertmanager_config import LADDER, routes

from alerts.amconfig import SOURCE
from streams.contract.alerts import Alert

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
import alert_volume

CONFIG = yaml.safe_load((SOURCE / "alertmanager.yml").read_text(encoding="utf-8"))
CASES = [*(lb for lb, _ in LADDER), {"rule": "stall", "level": "warning", "severity": "warning"}]


@pytest.mark.parametrize("unit", ["DEPT_JUSTICE", "DEPT_TAX"])
@pytest.mark.parametrize("labels", CASES, ids=[f"{c['rule']}-{c['level']}" for c in CASES])
def test_the_model_routes_as_amtool(labels: dict[str, str], unit: str) -> None:
    """For each rung of the ladder and a stall, the model's receivers are amtool's."""
    full = {"dossier": "HS-1", "unit": unit, **labels}
    model = {r.receiver for r in alert_volume.build(CONFIG["route"]).match(full)}
    assert model - {"nobody"} == routes(SOURCE / "alertmanager.yml", **full)


def at(a: Alert, when: str) -> Alert:
    return msgspec.structs.replace(a, at=when)


def test_the_model_digests_inhibits_and_holds_warnings_overnight() -> None:
    """At 10:00 an overdue HS-1 and two stalls (HS-1, HS-2) of DEPT_TAX: the unit's channel
    gets one breach and one digest, with HS-1's stall inhibited; a stall at 22:00 reaches
    the channel the next morning, not in the night."""
    day = [
        at(alert("HS-1", "overdue", unit="DEPT_TAX"), "2025-09-10T10:00:00+07:00"),
        at(
            alert("HS-1", "warning", "warning", rule="stall", unit="DEPT_TAX"),
            "2025-09-10T10:00:00+07:00",
        ),
        at(
            alert("HS-2", "warning", "warning", rule="stall", unit="DEPT_TAX"),
            "2025-09-10T10:00:00+07:00",
        ),
    ]
    out, _ = alert_volume.simulate(CONFIG, day, tail=600)
    assert out.notifications == {"ops-centre": 2, "unit-head": 1, "unit-channel": 2}
    assert out.delivered_critical == {"HS-1/deadline/overdue/a"}

    night = [
        at(
            alert("HS-3", "warning", "warning", rule="stall", unit="DEPT_TAX"),
            "2025-09-10T22:00:00+07:00",
        )
    ]
    out, _ = alert_volume.simulate(CONFIG, night, tail=12 * 3600)
    assert out.notifications["unit-channel"] == 1 and out.people == 1
    assert out.night_warnings == 0
    assert set(out.hours) == {7}
