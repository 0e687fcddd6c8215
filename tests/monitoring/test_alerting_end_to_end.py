"""From simulated events to an Alertmanager notification, every part real.

Simulator events → Kafka → `dossierwatch worker` → Prometheus scraping its /metrics and
evaluating deploy/prometheus's rules → Alertmanager → a webhook.

Prometheus runs deploy/prometheus/prometheus.yml with only its targets and intervals
rewritten, and the rule files as they are but for their `for:` durations (0s: a test
cannot wait 15 minutes).  Thresholds stay the real ones: the events are chosen to exceed
them.  Alertmanager's config is the test's own (deploy/alertmanager belongs to the alert
bridge): everything to one webhook, grouped by alert and unit.
"""

from __future__ import annotations

import re
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import msgspec
import pytest
from integration.conftest import Topics
from integration.live import pulses
from integration.services import AlertmanagerServer, PrometheusServer, WebhookReceiver, free_port
from integration.workers import WorkerProcess, produce
from prometheus_client.parser import text_string_to_metric_families

from producers.simulator import simulate
from streams.contract.events import event_from_dict
from streams.core.dossier import OPEN
from streams.core.engine import Engine
from streams.policy import builtin_book

pytestmark = pytest.mark.kafka

REPO = Path(__file__).resolve().parents[2]
PROMETHEUS = REPO / "deploy" / "prometheus"
ALERT = "DossierOverdueBacklog"
THRESHOLD = 10  # rules/alerts.yml: unit:dossierwatch_overdue_dossiers:sum >= 10


def replaced(text: str, old: str, new: str, count: int = 1) -> str:
    """`text` with `old` replaced, failing if the file no longer has it `count` times."""
    assert text.count(old) == count, f"expected {count} × {old!r} in the Prometheus files"
    return text.replace(old, new)


def prometheus_files(tmp_path: Path, worker: str, alertmanager: str, port: int, token: str) -> Path:
    """The repository's config and rules, pointed at this test's processes, scraping the
    worker with its metrics token."""
    secret = tmp_path / "metrics-token"
    secret.write_text(token)
    config = (PROMETHEUS / "prometheus.yml").read_text()
    config = replaced(config, "/run/secrets/metrics_token", str(secret))
    config = replaced(config, "scrape_interval: 15s", "scrape_interval: 1s")
    config = replaced(config, "evaluation_interval: 15s", "evaluation_interval: 1s")
    config = replaced(config, "- worker-1:6066\n          - worker-2:6066", f"- {worker}")
    config = replaced(config, "alertmanager:9093", alertmanager, count=2)
    config = replaced(config, "localhost:9090", f"127.0.0.1:{port}")
    (tmp_path / "rules").mkdir()
    for path in (PROMETHEUS / "rules").glob("*.yml"):
        text, n = re.subn(r"(?m)^(\s+for:) \S+$", r"\1 0s", path.read_text())
        assert n == 0 or path.name == "alerts.yml", path
        (tmp_path / "rules" / path.name).write_text(text)
    out = tmp_path / "prometheus.yml"
    out.write_text(config)
    return out


def alertmanager_config(tmp_path: Path, webhook: str) -> Path:
    path = tmp_path / "alertmanager.yml"
    path.write_text(
        f"""
route:
  receiver: webhook
  group_by: [alertname, unit]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: webhook
    webhook_configs:
      - url: {webhook}/
        send_resolved: false
"""
    )
    return path


START = datetime(2025, 9, 8, 0, 0, tzinfo=UTC)
CUT = START + timedelta(days=7)
LATER = CUT + timedelta(days=30)
"""A month after the cut, stream time, every dossier still open is overdue."""


def history() -> list[dict[str, Any]]:
    """A week of a simulated province in 2025, cut off mid-stream, then — a month later in
    stream time (one event in every partition) — the source speaks again: every dossier
    still open at the cut is overdue now.  (A fixed week: the same dossiers, and units on
    both sides of the threshold, on any day it runs — with today's rules one unit exactly
    at it (10) and one below (7); the precondition below says so if the rules move them.)"""
    out = []
    for e in simulate(seed=17, start=START, until=CUT, per_working_day=90):
        if datetime.fromisoformat(str(e["time"])) >= CUT:
            break
        out.append(e)
    later = pulses(LATER, 6, source="dossierwatch-simulator")
    return out + [msgspec.to_builtins(e) for e in later]


def overdue_by_unit(events: list[dict[str, Any]], now: int) -> Counter[str]:
    """What the core itself says: open dossiers past their due date, per unit."""
    engine = Engine(builtin_book())
    engine.drain(event_from_dict(e) for e in events)
    engine.advance(now)
    return Counter(
        d.unit or "none"
        for d in engine.states()
        if d.status == OPEN and d.due is not None and d.due < now
    )


def applied(text: str) -> float:
    return sum(
        s.value
        for f in text_string_to_metric_families(text)
        for s in f.samples
        if s.name == "dossierwatch_events_total"
    )


@pytest.fixture
def webhook() -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver()
    yield receiver
    receiver.stop()


def notified(payloads: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """unit → the first firing DossierOverdueBacklog alert notified for it."""
    found: dict[str, dict[str, Any]] = {}
    for body in payloads:
        for a in body.get("alerts", []):
            if a["status"] == "firing" and a["labels"].get("alertname") == ALERT:
                found.setdefault(a["labels"]["unit"], a)
    return found


def test_overdue_backlog_reaches_the_webhook(
    kafka_bootstrap: str, topics: Topics, tmp_path: Path, webhook: WebhookReceiver
) -> None:
    """A unit left with 10 or more overdue dossiers is notified by Alertmanager, with the
    unit, the ladder labels and the count the core computes, and no other unit is."""
    events = history()
    overdue = overdue_by_unit(events, int(LATER.timestamp()))
    expected = {unit: n for unit, n in overdue.items() if n >= THRESHOLD}
    assert expected and set(overdue) - set(expected), overdue  # some units above, some below

    worker = WorkerProcess(
        kafka_bootstrap,
        topics,
        tmp_path / "worker",
        app_id=f"e2e-{uuid.uuid4().hex[:8]}",
        log=tmp_path / "worker.log",
    )
    alertmanager: AlertmanagerServer | None = None
    prometheus: PrometheusServer | None = None
    try:
        worker.wait_assigned()
        produce(
            kafka_bootstrap,
            topics.events,
            [(str(e["subject"]).encode(), msgspec.json.encode(e)) for e in events],
        )
        # Prometheus starts once the worker has every event, so that the first
        # evaluation sees the final counts.
        deadline = time.monotonic() + 60
        while applied(worker.metrics()) < len(events):
            assert time.monotonic() < deadline, "the worker did not apply every event"
            time.sleep(0.3)

        alertmanager = AlertmanagerServer(
            alertmanager_config(tmp_path, webhook.url), tmp_path / "alertmanager"
        )
        port = free_port()
        config = prometheus_files(
            tmp_path,
            f"127.0.0.1:{worker.port}",
            f"127.0.0.1:{alertmanager.port}",
            port,
            worker.tokens["metrics"],
        )
        prometheus = PrometheusServer(config, tmp_path / "prometheus", port=port)

        payloads = webhook.wait_for(lambda got: set(notified(got)) >= set(expected), 60)

        alerts = notified(payloads)
        assert set(alerts) == set(expected)
        for unit, alert in alerts.items():
            n = expected[unit]
            assert alert["labels"]["severity"] == "warning"
            assert alert["labels"]["team"] == "unit_head"
            assert alert["annotations"]["summary_en"] == f"{unit}: {n} overdue dossiers"
            assert alert["annotations"]["summary"] == f"{unit}: {n} hồ sơ quá hạn"
        # On real data every rule evaluates without error (e.g. no many-to-many matches).
        groups = prometheus.api("/api/v1/rules")["data"]["groups"]
        broken = [(r["name"], r.get("lastError")) for g in groups for r in g["rules"]]
        assert [b for b in broken if b[1]] == []
    finally:
        if prometheus is not None:
            prometheus.stop()
        if alertmanager is not None:
            alertmanager.stop()
        worker.stop()
