"""`dossierwatch replay` on the public logs, checked against figures computed separately
by tests/real_logs/figures.py (a different parser and plain loops, no engine)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from streams.cli import main

Figures = dict[str, Any]


def replay(path: str, tmp_path: Path, *args: str) -> dict[str, Any]:
    report = tmp_path / "report.json"
    assert main(["replay", path, "--quiet", "--report", str(report), *args]) == 0
    result: dict[str, Any] = json.loads(report.read_text())
    return result


def test_receipt_log_ping_pong_chains_and_deadlines(
    data_path: Callable[[str], str], expected_figures: Figures, tmp_path: Path
) -> None:
    """WABO receipt log at org:group: bounces, long chains and late cases match the figures."""
    r = replay(
        data_path("receipt.xes.gz"), tmp_path, "--unit-attr", "org:group", "--due-attr", "deadline"
    )
    bounce = expected_figures["handover_bounce"]["receipt.xes.gz"]
    late = expected_figures["receipt_deadline"]
    assert r["dossiers"] == expected_figures["logs"]["receipt.xes.gz"]["cases"]
    assert r["log_events"] == expected_figures["logs"]["receipt.xes.gz"]["events"]
    assert r["alerts"]["ping_pong_unit"]["warning"] == bounce["cases_with_bounce"]
    assert r["alerts"]["ping_pong_unit"]["critical"] == bounce["cases_with_2plus_bounces"]
    assert r["dossiers_flagged"]["referral_chain"] == bounce["cases_with_more_than_4_units"]
    assert r["alerts"]["deadline"]["overdue"] == late["cases_last_event_after_deadline"]
    assert r["completed"] == r["dossiers"]
    expected_rate = 1 - late["cases_last_event_after_deadline"] / late["cases_with_deadline"]
    assert r["on_time_rate"] == pytest.approx(expected_rate, abs=1e-4)


@pytest.mark.parametrize(
    ("name", "level"),
    [("BPIC15_1.xes.gz", "org:resource"), ("BPIC20_PermitLog_cleaned.xes.gz", "org:role")],
)
def test_handover_bounces_in_bpi_challenge_logs(
    name: str,
    level: str,
    data_path: Callable[[str], str],
    expected_figures: Figures,
    tmp_path: Path,
) -> None:
    """BPIC 2015 by officer, BPIC 2020 by role: ping-pong and long chains match the figures."""
    r = replay(data_path(name), tmp_path, "--unit-attr", level, "--officer-attr", "none")
    bounce = expected_figures["handover_bounce"][name]
    assert bounce["attribute"] == level
    assert r["dossiers"] == expected_figures["logs"][name]["cases"]
    assert r["alerts"]["ping_pong_unit"]["warning"] == bounce["cases_with_bounce"]
    assert r["alerts"]["ping_pong_unit"]["critical"] == bounce["cases_with_2plus_bounces"]
    assert r["dossiers_flagged"]["referral_chain"] == bounce["cases_with_more_than_4_units"]


@pytest.mark.real_logs
def test_road_traffic_fines_breach_a_sixty_day_limit(
    data_path: Callable[[str], str], expected_figures: Figures, tmp_path: Path
) -> None:
    """All 150,370 fines replayed with a 1440-hour limit: the late ones are exactly those
    lasting more than 1440 hours."""
    r = replay(
        data_path("Road_Traffic_Fine_Management_Process.xes.gz"), tmp_path, "--time-limit", "1440h"
    )
    road = expected_figures["road_traffic_60_days"]
    assert r["dossiers"] == road["cases"]
    assert (
        r["log_events"]
        == expected_figures["logs"]["Road_Traffic_Fine_Management_Process.xes.gz"]["events"]
    )
    assert r["alerts"]["deadline"]["overdue"] == road["cases_last_more_than_1440_hours_after_first"]
    assert (
        r["completed"] - r["completed_on_time"]
        == road["cases_last_more_than_1440_hours_after_first"]
    )
