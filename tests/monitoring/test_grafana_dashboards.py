"""The Grafana dashboards of deploy/grafana/dashboards: well-formed, and every panel's
PromQL answering with data from a real Prometheus scraping a real worker.

The live test feeds the simulated week of test_alerting_end_to_end.py (plus a few
undecodable messages, for the dead-letter panels) to a `dossierwatch worker` in two
batches while Prometheus scrapes it every second with the repository's config and
recording rules, so that rates and increases see counters move between scrapes.  Each
target's Grafana variables are replaced by what Grafana would send, and the query must
succeed and return at least one series or sample, none of them NaN.
"""

from __future__ import annotations

import json
import math
import re
import time
import urllib.parse
import uuid
from pathlib import Path
from typing import Any

import msgspec
import pytest
from integration.conftest import Topics
from integration.services import PrometheusServer, free_port
from integration.workers import WorkerProcess, produce
from test_alerting_end_to_end import history, prometheus_files

REPO = Path(__file__).resolve().parents[2]
DASHBOARDS = REPO / "deploy" / "grafana" / "dashboards"
FILES = sorted(DASHBOARDS.glob("*.json"))
DATASOURCE = {"type": "prometheus", "uid": "prometheus"}
PANEL_TYPES = {"stat", "timeseries", "table", "bargauge"}
EXPECTED = {"centre-overview", "unit-drilldown", "ping-pong", "pipeline-health"}
INVALID = [b"not json", b"{", b'{"specversion": "1.0"}']
"""Messages the worker must reject to the dead-letter topic, one batch each."""


def load(path: Path) -> dict[str, Any]:
    board: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return board


def panels(board: dict[str, Any]) -> list[dict[str, Any]]:
    """Every panel, those nested in collapsed rows included."""
    out = []
    for p in board["panels"]:
        out.append(p)
        out.extend(p.get("panels", []))
    return out


def targets(board: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [(p["title"], t) for p in panels(board) for t in p.get("targets", [])]


def substituted(expr: str, unit: str) -> str:
    """The PromQL Grafana sends: variables replaced as for a 1-hour range at 15 s steps."""
    values = {
        "unit": unit,
        "__rate_interval": "1m",
        "__interval": "15s",
        "__range": "1h",
    }
    return re.sub(r"\$\{(\w+)\}|\$(\w+)", lambda m: values[m.group(1) or m.group(2)], expr)


@pytest.fixture(params=FILES, ids=[p.stem for p in FILES])
def board(request: pytest.FixtureRequest) -> dict[str, Any]:
    return load(request.param)


def test_the_four_dashboards_exist_with_distinct_uids() -> None:
    """deploy/grafana/dashboards holds the centre, unit, ping-pong and pipeline dashboards,
    each with its own stable uid and title."""
    boards = {p.stem: load(p) for p in FILES}
    assert set(boards) == EXPECTED
    uids = [b["uid"] for b in boards.values()]
    assert len(set(uids)) == len(uids)
    assert all(re.fullmatch(r"dossierwatch-[a-z-]+", uid) for uid in uids), uids
    titles = [b["title"] for b in boards.values()]
    assert len(set(titles)) == len(titles)


def test_dashboard_is_well_formed(board: dict[str, Any]) -> None:
    """A dashboard has a bilingual title, unique panel ids, supported panel types with
    bilingual titles, and every target and variable reads the `prometheus` datasource."""
    assert board["uid"] and board["title"]
    assert " / " in board["title"], board["title"]  # Vietnamese / English
    assert 36 <= board["schemaVersion"] <= 41
    ids = [p["id"] for p in panels(board)]
    assert len(ids) == len(set(ids)), ids
    for p in panels(board):
        assert p["type"] in PANEL_TYPES, (p["title"], p["type"])
        assert " / " in p["title"], p["title"]
        assert p["datasource"] == DATASOURCE, p["title"]
        assert p["targets"], p["title"]
        refs = [t["refId"] for t in p["targets"]]
        assert len(refs) == len(set(refs)), p["title"]
        for t in p["targets"]:
            assert t["datasource"] == DATASOURCE, (p["title"], t)
            assert t["expr"].strip(), p["title"]
    for v in board.get("templating", {}).get("list", []):
        if v["type"] == "query":
            assert v["datasource"] == DATASOURCE, v["name"]


def test_near_due_is_orange_and_overdue_red() -> None:
    """Stat panels for Sắp đến hạn are orange and those for Quá hạn red, as centres' boards are."""
    seen = 0
    for path in FILES:
        for p in panels(load(path)):
            if p["type"] != "stat":
                continue
            color = p["fieldConfig"]["defaults"].get("color", {}).get("fixedColor")
            if p["title"].startswith("Sắp đến hạn"):
                assert color == "orange", (path.stem, p["title"])
                seen += 1
            elif p["title"].startswith("Quá hạn /"):
                assert color == "red", (path.stem, p["title"])
                seen += 1
    assert seen == 4  # centre and unit dashboards, one of each


def test_unit_variable_lists_the_units_with_open_dossiers() -> None:
    """The unit drill-down's `unit` variable lists the unit label of the open-dossier gauge."""
    (var,) = load(DASHBOARDS / "unit-drilldown.json")["templating"]["list"]
    assert var["name"] == "unit"
    assert var["definition"] == "label_values(dossierwatch_open_dossiers, unit)"
    assert var["query"]["query"] == var["definition"]


def wait_until(condition: Any, what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.3)


@pytest.mark.kafka
def test_every_panel_query_returns_data_from_a_live_worker(
    kafka_bootstrap: str, topics: Topics, tmp_path: Path
) -> None:
    """Against Prometheus scraping a worker fed simulated events, every dashboard target,
    variables substituted, succeeds and returns data that is not NaN."""
    events = history()
    half = len(events) // 2
    batches = [events[:half], events[half:]]
    worker = WorkerProcess(
        kafka_bootstrap,
        topics,
        tmp_path / "worker",
        app_id=f"dash-{uuid.uuid4().hex[:8]}",
        log=tmp_path / "worker.log",
    )
    prometheus: PrometheusServer | None = None
    try:
        worker.wait_assigned()
        port = free_port()
        # No Alertmanager: the dashboards read only the scraped and recorded series.
        config = prometheus_files(
            tmp_path,
            f"127.0.0.1:{worker.port}",
            f"127.0.0.1:{free_port()}",
            port,
            worker.tokens["metrics"],
        )
        prometheus = PrometheusServer(config, tmp_path / "prometheus", port=port)
        p = prometheus
        # Prometheus applies new targets a few seconds after it starts: the counters
        # must be scraped before the first batch, or no rate sees them move.
        wait_until(
            lambda: p.query('up{job="dossierwatch-worker"} == 1') != [],
            "Prometheus did not scrape the worker",
        )
        done = 0
        for i, batch in enumerate(batches, 1):
            produce(
                kafka_bootstrap,
                topics.events,
                [(str(e["subject"]).encode(), msgspec.json.encode(e)) for e in batch]
                + [(None, bad) for bad in INVALID],
            )
            done += len(batch)
            wait_until(
                lambda n=done, k=i: (
                    p.query(
                        f"sum(dossierwatch_events_total) >= {n}"
                        f" and sum(dossierwatch_events_invalid_total) >= {k * len(INVALID)}"
                    )
                    != []
                ),
                f"Prometheus did not see batch {i} applied: {worker.tail()}",
                60,
            )
            time.sleep(2)  # a few more scrapes and rule evaluations after the batch

        # The busiest unit that also has alerts stands for what a user picks in $unit.
        (picked,) = p.query(
            "topk(1, unit:dossierwatch_open_dossiers:sum"
            " and on (unit) sum by (unit) (dossierwatch_unit_alerts_total))"
        )
        unit = picked["metric"]["unit"]
        # label_values(dossierwatch_open_dossiers, unit), as Grafana asks for it.
        query = urllib.parse.urlencode({"match[]": "dossierwatch_open_dossiers"})
        assert unit in p.api(f"/api/v1/label/unit/values?{query}")["data"]

        failures = []
        checked = 0
        for path in FILES:
            for title, t in targets(load(path)):
                expr = substituted(t["expr"], unit)
                result = p.query(expr)
                values = [
                    float(v)
                    for r in result
                    for v in ([r["value"][1]] if "value" in r else [s[1] for s in r["values"]])
                ]
                if not result or any(math.isnan(v) for v in values):
                    failures.append(f"{path.stem} / {title}: {expr} → {result}")
                checked += 1
        assert failures == [], "\n".join(failures)
        assert checked >= 40
    finally:
        if prometheus is not None:
            prometheus.stop()
        worker.stop()
