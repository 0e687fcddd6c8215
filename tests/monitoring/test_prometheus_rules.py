"""deploy/prometheus checked by the real tools, and the worker's /metrics held to them.

promtool validates the config and the rules and runs the rules' unit tests
(deploy/prometheus/tests); a real Prometheus loads the rules to show their labels and
texts; a real worker's /metrics passes `promtool check metrics` and keeps its series
bounded — no dossier ids, no officers — however many dossiers go through it.
"""

from __future__ import annotations

import re
import subprocess
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec
import pytest
from integration.conftest import Topics
from integration.services import PrometheusServer, binary
from integration.workers import WorkerProcess, produce
from prometheus_client.parser import text_string_to_metric_families

from producers.simulator import simulate

REPO = Path(__file__).resolve().parents[2]
PROMETHEUS = REPO / "deploy" / "prometheus"
CONFIG = PROMETHEUS / "prometheus.yml"
RULES = sorted((PROMETHEUS / "rules").glob("*.yml"))
RULE_TESTS = sorted((PROMETHEUS / "tests").glob("*.yml"))

TEAMS = {"unit", "unit_head", "director", "inspectors", "platform"}
SEVERITIES = {"info", "warning", "critical"}
TEXTS = {"summary", "summary_en", "description", "description_en", "runbook"}

SERIES_CEILING = 1500
DOSSIER_ID = re.compile(r"HS-[0-9a-f]{10}")
OFFICER_ID = re.compile(r"O-")


def promtool(*args: str, stdin: str | None = None, cwd: Path = PROMETHEUS) -> str:
    """promtool's combined output; the test fails with it when promtool reports an error."""
    done = subprocess.run(
        [binary("promtool"), *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=120,
    )
    output = done.stdout + done.stderr
    if done.returncode != 0:
        pytest.fail(f"promtool {' '.join(args)} exited {done.returncode}:\n{output}")
    return output


def names(pattern: str, paths: list[Path]) -> list[str]:
    return [m for p in paths for m in re.findall(pattern, p.read_text(), re.M)]


ALERTS = names(r"^\s*- alert: (\S+)\s*$", [PROMETHEUS / "rules" / "alerts.yml"])
# Recording rules live in recording.yml, and beside the alerts that read them in the same
# group (alerts.yml: working hours, evaluated just before the sources' alerts).
RECORDS = names(r"^\s*- record: (\S+)\s*$", RULES)


# -- the files, by promtool -------------------------------------------------------------


def test_prometheus_config_is_valid(tmp_path: Path) -> None:
    """promtool accepts deploy/prometheus/prometheus.yml and the rule files it names (with
    the metrics token where compose mounts it — here a file of the test's)."""
    (tmp_path / "rules").symlink_to(PROMETHEUS / "rules")
    token = tmp_path / "metrics_token"
    token.write_text("t")
    config = tmp_path / "prometheus.yml"
    text = CONFIG.read_text()
    assert text.count("/run/secrets/metrics_token") == 1
    config.write_text(text.replace("/run/secrets/metrics_token", str(token)))
    out = promtool("check", "config", str(config))
    assert "rules found" in out, out


def test_rule_files_are_valid() -> None:
    """promtool accepts every rule file in deploy/prometheus/rules."""
    promtool("check", "rules", *map(str, RULES))


def test_rule_unit_tests_pass() -> None:
    """The promtool unit tests of the recording and alerting rules all pass."""
    out = promtool("test", "rules", *(str(p.relative_to(PROMETHEUS)) for p in RULE_TESTS))
    assert "FAILED" not in out, out


def alert_cases() -> dict[str, set[str]]:
    """alertname → {"fires", "silent"}, from the alert_rule_test entries of the tests."""
    cases: dict[str, set[str]] = {}
    for path in RULE_TESTS:
        lines = path.read_text().splitlines()
        for i, line in enumerate(lines):
            m = re.fullmatch(r"\s*alertname: (\S+)\s*", line)
            if not m:
                continue
            expected = next(x.strip() for x in lines[i + 1 :] if x.strip().startswith("exp_"))
            kind = "silent" if expected == "exp_alerts: []" else "fires"
            cases.setdefault(m[1], set()).add(kind)
    return cases


def test_every_alerting_rule_has_a_firing_and_a_silent_unit_test() -> None:
    """Each alert of rules/alerts.yml is unit-tested both firing and staying silent."""
    assert len(ALERTS) == len(set(ALERTS)) >= 10, ALERTS
    cases = alert_cases()
    missing = {a: {"fires", "silent"} - cases.get(a, set()) for a in ALERTS}
    assert not {a: m for a, m in missing.items() if m}, missing
    assert set(cases) <= set(ALERTS), set(cases) - set(ALERTS)


def test_every_recording_rule_has_a_value_unit_test() -> None:
    """Each recording rule's value is checked by a promql_expr_test."""
    tested = set(names(r"^\s*- expr: (\S+)\s*$", RULE_TESTS))
    assert RECORDS and not set(RECORDS) - tested, set(RECORDS) - tested


# -- the rules, as a real Prometheus loads them ------------------------------------------


@pytest.fixture
def prometheus_with_rules(tmp_path: Path) -> Iterator[PrometheusServer]:
    config = tmp_path / "prometheus.yml"
    rule_files = "".join(f"  - {p}\n" for p in RULES)
    config.write_text(f"global:\n  evaluation_interval: 1s\nrule_files:\n{rule_files}")
    server = PrometheusServer(config, tmp_path / "prometheus")
    yield server
    server.stop()


def test_alerts_carry_routing_labels_and_bilingual_texts(
    prometheus_with_rules: PrometheusServer,
) -> None:
    """Prometheus loads every alert with a severity, a team of the escalation ladder and
    Vietnamese and English texts with a runbook, and evaluates every rule without error."""
    deadline = time.monotonic() + 30
    while True:
        groups = prometheus_with_rules.api("/api/v1/rules")["data"]["groups"]
        rules = [r for g in groups for r in g["rules"]]
        if (rules and all(r["health"] == "ok" for r in rules)) or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert [r for r in rules if r["health"] != "ok"] == []
    alerts = {r["name"]: r for r in rules if r["type"] == "alerting"}
    assert sorted(alerts) == sorted(ALERTS)
    for name, rule in alerts.items():
        assert rule["labels"].get("severity") in SEVERITIES, name
        assert rule["labels"].get("team") in TEAMS, name
        assert set(rule["annotations"]) >= TEXTS, name
        assert all(rule["annotations"][t].strip() for t in TEXTS), name
    recorded = sorted(r["name"] for r in rules if r["type"] == "recording")
    assert recorded == sorted(RECORDS)


# -- a real worker's /metrics -------------------------------------------------------------


def simulated(dossiers: int, seed: int) -> Iterator[dict[str, Any]]:
    start = datetime(2025, 9, 1, 1, 0, tzinfo=UTC)
    return simulate(seed=seed, start=start, dossiers=dossiers, per_working_day=200)


def series(text: str) -> list[tuple[str, dict[str, str]]]:
    return [(s.name, s.labels) for f in text_string_to_metric_families(text) for s in f.samples]


def total(text: str, name: str) -> float:
    return sum(
        s.value for f in text_string_to_metric_families(text) for s in f.samples if s.name == name
    )


def wait_applied(worker: WorkerProcess, count: int, timeout: float) -> str:
    """/metrics once the worker has applied or rejected `count` events."""
    deadline = time.monotonic() + timeout
    while True:
        text = worker.metrics()
        done = total(text, "dossierwatch_events_total") + total(
            text, "dossierwatch_events_invalid_total"
        )
        if done >= count:
            return text
        if time.monotonic() > deadline:
            raise AssertionError(f"{done:.0f} of {count} events applied in {timeout}s")
        time.sleep(0.5)


@pytest.fixture
def worker(kafka_bootstrap: str, topics: Topics, tmp_path: Path) -> Iterator[WorkerProcess]:
    w = WorkerProcess(
        kafka_bootstrap,
        topics,
        tmp_path / "data",
        app_id=f"monitoring-{uuid.uuid4().hex[:8]}",
        log=tmp_path / "worker.log",
    )
    try:
        w.wait_assigned()
        yield w
    finally:
        w.stop()


@pytest.mark.kafka
def test_worker_metrics_pass_promtool_check_metrics(
    kafka_bootstrap: str, topics: Topics, worker: WorkerProcess
) -> None:
    """`promtool check metrics` finds nothing to report on a worker's /metrics after it
    handled dossiers, fired alerts and rejected bad events."""
    events = [(e["subject"].encode(), msgspec.json.encode(e)) for e in simulated(300, seed=3)]
    # The history cut short: the dossiers it leaves open are overdue now.
    events = events[: len(events) * 2 // 3]
    bad = [(b"HS-bad", b"{not json"), (b"HS-bad", b'{"specversion": "1.0"}')]
    produce(kafka_bootstrap, topics.events, events + bad)
    text = wait_applied(worker, len(events) + len(bad), timeout=90)
    names_seen = {name for name, _ in series(text)}
    for expected in (
        "dossierwatch_events_invalid_total",
        "dossierwatch_unit_alerts_total",
        "dossierwatch_handling_working_time_seconds_bucket",
        "dossierwatch_handled_dossiers",
    ):
        assert expected in names_seen, expected

    out = promtool("check", "metrics", stdin=text)

    assert out == "", out


@pytest.mark.kafka
def test_series_stay_bounded_for_10000_dossiers(
    kafka_bootstrap: str, topics: Topics, worker: WorkerProcess
) -> None:
    """After 10,000 simulated dossiers a worker exposes fewer than 1,500 series and no
    label value is a dossier id or an officer id."""
    dossiers: set[str] = set()
    officers: set[str] = set()
    events: list[tuple[bytes | None, bytes]] = []
    for e in simulated(10_000, seed=5):
        dossiers.add(e["subject"])
        officer = e["data"].get("officer")
        if officer:
            officers.add(officer)
        events.append((e["subject"].encode(), msgspec.json.encode(e)))
    assert len(dossiers) == 10_000 and officers

    produce(kafka_bootstrap, topics.events, events)
    texts = [wait_applied(worker, len(events), timeout=300)]
    # Then the wall clock fires the history's timers and evicts the finished dossiers.
    time.sleep(5)
    texts.append(worker.metrics())

    for text in texts:
        found = series(text)
        print(f"series on /metrics after 10,000 dossiers: {len(found)}")
        assert len(found) < SERIES_CEILING
        values = {v for _, labels in found for v in labels.values()}
        assert not values & dossiers
        assert not values & officers
        assert not [v for v in values if DOSSIER_ID.search(v) or OFFICER_ID.match(v)]
