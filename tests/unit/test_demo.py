"""`dossierwatch demo`: the in-process loop on a fake clock, and the command end to end."""

from __future__ import annotations

import argparse
import json
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from helpers.demo_site import FakeClock
from prometheus_client import CollectorRegistry

from producers.simulator import simulate
from streams.cli import demo
from streams.contract.events import event_from_dict
from streams.core.calendar import to_instant, to_iso
from streams.core.engine import Engine
from streams.demo import DemoRun
from streams.metrics import PipelineMetrics
from streams.policy import builtin_book
from streams.web import views_model as vm
from streams.web.auth import Guard, digest, write_token
from streams.web.demo_server import DemoSite

ICT = timezone(timedelta(hours=7))
MONDAY = datetime(2025, 9, 8, 7, 30, tzinfo=ICT)


def _received(dossier: str, when: str, time_limit: str) -> dict[str, Any]:
    return {
        "specversion": "1.0",
        "id": f"{dossier}-1",
        "source": "test",
        "type": "dossier.received",
        "time": f"{when}:00+07:00",
        "subject": dossier,
        "data": {"procedure": "P", "unit": "DEPT_A", "time_limit": time_limit},
    }


def _replay(events: list[dict[str, Any]]) -> tuple[Counter[tuple[str, str]], int]:
    """The alerts `dossierwatch replay` would give: the clock follows the event times."""
    engine, fired, resolved = Engine(builtin_book()), Counter[tuple[str, str]](), 0
    for raw in events:
        event = event_from_dict(raw)
        t = to_instant(event.time)
        alerts = engine.advance(t) if engine.now is None or t > engine.now else []
        for a in alerts + engine.apply(event):
            if a.status == "firing":
                fired[(a.rule, a.level)] += 1
            else:
                resolved += 1
    return fired, resolved


def test_a_silent_dossier_breaches_while_pacing_waits_for_the_next_event() -> None:
    """The simulated clock runs between events, so a dossier hearing nothing goes overdue."""
    events = [
        _received("HS-A", "2025-09-08T09:00", "2h"),  # due 11:00
        _received("HS-B", "2025-09-08T17:00", "5wd"),
    ]
    clock = FakeClock()
    seen: list[tuple[int, int, set[str]]] = []

    def snapshot(run: DemoRun) -> None:
        assert run.now is not None
        seen.append((run.engine.stats.events, run.now, {a.level for a in run.recent}))

    run = DemoRun(
        Engine(builtin_book()),
        compression=3600,
        refresh=0.25,
        on_refresh=snapshot,
        clock=clock,
        sleep=clock.sleep,
    )
    assert run.run(events) == "finished"
    before_b = [s for s in seen if s[0] == 1]
    assert any("overdue" in levels for _, _, levels in before_b)
    # Simulated time advanced in step with the fake wall clock, and never past HS-B's event.
    assert max(now for _, now, _ in before_b) < to_instant(datetime(2025, 9, 8, 17, tzinfo=ICT))
    overdue = next(a for a in run.recent if a.level == "overdue")
    assert overdue.dossier == "HS-A" and overdue.at == "2025-09-08T11:00:00+07:00"


def test_the_demo_fires_exactly_the_alerts_a_replay_fires() -> None:
    """Live pacing with the clock running between events gives the replay's alerts."""
    events = list(simulate(seed=3, start=MONDAY, dossiers=150, per_working_day=100))
    clock = FakeClock()
    registry = CollectorRegistry()
    metrics = PipelineMetrics(registry, Engine(builtin_book()).book)
    run = DemoRun(
        Engine(builtin_book()), compression=43200, metrics=metrics, clock=clock, sleep=clock.sleep
    )
    assert run.run(events) == "finished"
    fired, resolved = _replay(events)
    assert sum(fired.values()) > 20
    assert run.fired == fired and run.resolved == resolved
    # Every alert reached the counters, the timer-fired ones included.
    counted = sum(
        s.value
        for m in registry.collect()
        if m.name == "dossierwatch_alerts"
        for s in m.samples
        if s.name == "dossierwatch_alerts_total"
    )
    assert counted == sum(fired.values())
    assert run.engine.stats.events == len(events)


def test_duration_stops_an_endless_stream() -> None:
    """--duration ends the run after that much wall time, even in a quiet spell."""
    clock = FakeClock()
    run = DemoRun(
        Engine(builtin_book()), compression=43200, duration=3, clock=clock, sleep=clock.sleep
    )
    start = clock.now
    assert run.run(simulate(seed=1, start=MONDAY, per_working_day=20)) == "duration"
    assert 3 <= clock.now - start <= 3.1
    assert run.engine.stats.events > 0


# -- the command, in a subprocess ------------------------------------------------------

RUN_CLI = """
import sys
from streams import cli
sys.exit(cli.main())
"""


def _dossierwatch(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", RUN_CLI, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        encoding="utf-8",
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _scrape(url: str, deadline: float, token: str) -> str:
    """/metrics once events have been counted and dossiers are open (or the last try)."""
    body = ""
    while time.monotonic() < deadline:
        request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
        try:
            with urllib.request.urlopen(request, timeout=1) as response:
                body = response.read().decode()
        except OSError:
            body = ""
        if "dossierwatch_open_dossiers{" in body and re.search(
            r"^dossierwatch_events_total\{[^}]*\} [1-9]", body, re.M
        ):
            break
        time.sleep(0.1)
    return body


def test_demo_command_serves_metrics_and_prints_summary_lines(tmp_path: Path) -> None:
    """A 3-second headless run serves /metrics to its metrics token (and 401 to anyone
    else) meanwhile, then exits 0 with its figures."""
    port = _free_port()
    tokens = tmp_path / "tokens.toml"
    token = write_token(tokens, "prometheus", ["metrics"])
    proc = _dossierwatch(
        "demo",
        "--duration",
        "3",
        "--no-screen",
        "--metrics-port",
        str(port),
        "--web-port",
        "0",
        "--seed",
        "1",
        "--token-file",
        str(tokens),
    )
    try:
        body = _scrape(f"http://127.0.0.1:{port}/metrics", time.monotonic() + 10, token)
        with pytest.raises(urllib.error.HTTPError) as anonymous:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2)
        assert anonymous.value.code == 401
        out, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    assert re.search(r"^dossierwatch_events_total\{[^}]*\} [1-9]", body, re.M), body[:2000]
    assert re.search(r'^dossierwatch_open_dossiers\{unit="[^"]+"\} [1-9]', body, re.M)
    assert f"metrics: http://127.0.0.1:{port}/metrics" in out
    summaries = [line for line in out.splitlines() if "Quá hạn/overdue" in line]
    assert len(summaries) >= 2 and "\x1b" not in out
    events = re.search(r"^([\d,]+) events", out, re.M)
    fired = re.search(r"alerts: ([\d,]+) fired", out)
    assert events and int(events[1].replace(",", "")) > 0, out
    assert fired and int(fired[1].replace(",", "")) >= 1, out
    assert "demo stopped (time is up)" in out


def test_a_port_in_use_is_one_line_and_exit_1() -> None:
    """Another process on the metrics port: one line on stderr, exit 1, nothing started."""
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        port = blocker.getsockname()[1]
        proc = _dossierwatch("demo", "--duration", "5", "--no-screen", "--metrics-port", str(port))
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 1
    assert err.endswith("\n") and len(err.splitlines()) == 1, err
    assert err.startswith(f"dossierwatch demo: cannot serve metrics on 127.0.0.1:{port}")
    assert out == ""


def test_a_web_port_in_use_is_one_line_and_exit_1() -> None:
    """Another process on the web port: one line naming --web-port, exit 1."""
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        port = blocker.getsockname()[1]
        proc = _dossierwatch(
            "demo", "--duration", "5", "--no-screen", "--metrics-port", "0", "--web-port", str(port)
        )
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 1
    assert len(err.splitlines()) == 1 and "--web-port" in err, err
    assert err.startswith(f"dossierwatch demo: cannot serve the web pages on 127.0.0.1:{port}")


@pytest.mark.parametrize(
    "args", [["--compression", "0"], ["--metrics-port", "70000"], ["--duration", "-1"]]
)
def test_bad_options_are_usage_errors(args: list[str]) -> None:
    """Non-positive speeds or durations and impossible ports are refused by the parser."""
    parser = argparse.ArgumentParser(prog="dossierwatch")
    demo.register(parser.add_subparsers())
    with pytest.raises(SystemExit) as exit_:
        parser.parse_args(["demo", *args])
    assert exit_.value.code == 2


# -- the web pages, in-process and from the command -------------------------------------


def _site_run(seconds: float = 20) -> tuple[DemoRun, FakeClock]:
    """A run of 150 simulated dossiers on a fake clock, `seconds` of it."""
    clock = FakeClock()
    run = DemoRun(
        Engine(builtin_book()), compression=43200, duration=seconds, clock=clock, sleep=clock.sleep
    )
    run.run(simulate(seed=3, start=MONDAY, dossiers=150, per_working_day=100))
    return run, clock


def _get(site: DemoSite, path: str, token: str | None = None) -> tuple[str, Any]:
    path, _, query = path.partition("?")
    environ = {"PATH_INFO": path, "QUERY_STRING": query, "REQUEST_METHOD": "GET"}
    if token:
        environ["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    status, headers, body = site.answer(environ)
    kind = dict(headers).get("Content-Type", "")
    return status, json.loads(body) if kind.startswith("application/json") else body.decode()


def test_demo_board_api_is_the_views_model_over_the_engine() -> None:
    """/api/board answers the board the model computes over the run's dossiers at the
    run's instant, with when the last event and tick were."""
    run, clock = _site_run()
    now = run.now
    assert now is not None
    site = DemoSite(
        run.engine,
        run.engine.book,
        run.lock,
        Guard({}),
        heartbeat=run.heartbeat,
        alerts=run.alerts_of,
        stale_after=5,
    )
    status, body = _get(site, "/api/board?days=30")
    assert status == "200 OK"
    start, end = vm.parse_period({"days": "30"}, now)
    share = vm.board_counts(run.engine.states(), run.engine.book, now, start, end)
    expected = vm.board_view([share], start, end)
    assert body["by_unit"] == expected["by_unit"] and body["units"] == expected["units"]
    assert body["by_unit"]["total"]["handled"] > 0
    assert body["freshness"]["stale"] is False and body["freshness"]["last_event_at"]
    assert body["as_of"] == to_iso(now) and body["period"]["to"] == to_iso(now)
    clock.now += 6  # the run stopped: no event, no tick
    assert _get(site, "/api/board")[1]["freshness"]["stale"] is True
    assert _get(site, "/api/board?days=0")[0] == "400 Bad Request"


def test_demo_pages_answer_lists_dossiers_and_the_wallboard() -> None:
    """The wallboard's files, the unit lists, ping-pong and each alerted dossier answer;
    an unknown dossier is 404 and an unknown path too."""
    run, _ = _site_run()
    site = DemoSite(
        run.engine,
        run.engine.book,
        run.lock,
        Guard({}),
        heartbeat=run.heartbeat,
        alerts=run.alerts_of,
        stale_after=5,
    )
    status, page = _get(site, "/wallboard")
    assert status == "200 OK" and "/static/wallboard.js" in page
    assert "kiosk" in _get(site, "/static/wallboard.js")[1]
    unit = _get(site, "/api/board")[1]["units"][0]["unit"]
    status, overdue = _get(site, f"/api/units/{unit}/overdue?size=5")
    assert status == "200 OK" and overdue["unit"] == unit and len(overdue["items"]) <= 5
    assert _get(site, "/api/ping-pong")[0] == "200 OK"
    dossier = next(iter(run.by_dossier))
    status, view = _get(site, f"/api/dossiers/{dossier}")
    assert status == "200 OK" and view["id"] == dossier
    status, page = _get(site, f"/dossiers/{dossier}")
    assert status == "200 OK" and dossier in str(page)
    if isinstance(page, str):  # the dossier page (else its JSON): its stylesheet too
        sheet = re.search(r'<link rel="stylesheet" href="([^"]+)"', page)
        assert sheet and _get(site, sheet[1])[0] == "200 OK"
    assert _get(site, "/dossiers/NOPE")[0] == "404 Not Found"
    assert _get(site, "/nowhere")[0] == "404 Not Found"


def test_a_unit_head_sees_their_unit_only_on_the_demo() -> None:
    """Through the guard, a unit:<code> token gets that unit's board rows and is refused
    another unit's list; without a token the API is 401."""
    run, _ = _site_run()
    units = {d.unit for d in run.engine.states() if d.unit}
    mine, other = sorted(units)[:2]
    token = "t" * 40
    guard = Guard({digest(token): ("head", frozenset({f"unit:{mine}"}))})
    site = DemoSite(
        run.engine,
        run.engine.book,
        run.lock,
        guard,
        heartbeat=run.heartbeat,
        alerts=run.alerts_of,
        stale_after=5,
    )
    app = site.app()
    seen: list[str] = []

    def call(path: str, auth: str | None) -> str:
        environ = {"PATH_INFO": path, "QUERY_STRING": "", "REQUEST_METHOD": "GET"}
        if auth:
            environ["HTTP_AUTHORIZATION"] = f"Bearer {auth}"
        body = b"".join(app(environ, lambda status, headers: seen.append(status)))
        return body.decode()

    board = json.loads(call("/api/board", token))
    assert {r["unit"] for r in board["by_unit"]["rows"]} == {mine}
    call(f"/api/units/{other}/overdue", token)
    call("/api/board", None)
    assert seen == ["200 OK", "403 Forbidden", "401 Unauthorized"]


def _read_lines(path: Path) -> list[str]:
    try:
        return [line for line in path.read_text().splitlines() if line.endswith("}")]
    except OSError:
        return []


def test_demo_command_serves_the_wallboard_and_each_alerts_dossier_page(tmp_path: Path) -> None:
    """The command prints the wallboard's URL and a sign-in link; the link signs a browser
    in (a cookie); --alerts writes each alert with its dossier page's URL, and each such
    page (a sample of 20) answers 200 while the demo runs."""
    port = _free_port()
    alerts = tmp_path / "alerts.jsonl"
    proc = _dossierwatch(
        "demo",
        "--duration",
        "8",
        "--no-screen",
        "--metrics-port",
        "0",
        "--web-port",
        str(port),
        "--alerts",
        str(alerts),
    )
    try:
        assert proc.stdout is not None
        lines = [proc.stdout.readline() for _ in range(3)]
        assert lines[0].startswith(f"wallboard: http://127.0.0.1:{port}/wallboard"), lines
        sign_in = re.search(r"sign in \(shown once\): (\S+)", "".join(lines))
        assert sign_in, lines
        token = sign_in[1].rsplit("=", 1)[1]
        opener = urllib.request.build_opener(_NoRedirect())
        with pytest.raises(urllib.error.HTTPError) as redirect:
            opener.open(sign_in[1], timeout=5)
        assert redirect.value.code == 303 and redirect.value.headers["Location"] == "/wallboard"
        assert "HttpOnly" in redirect.value.headers["Set-Cookie"]
        deadline = time.monotonic() + 6
        while len(_read_lines(alerts)) < 20 and time.monotonic() < deadline:
            time.sleep(0.2)
        records = [json.loads(line) for line in _read_lines(alerts)]
        assert len(records) >= 20
        urls = sorted({r["url"] for r in records})
        assert all(u.startswith(f"http://127.0.0.1:{port}/dossiers/") for u in urls)
        for url in urls[:20]:
            request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
            with urllib.request.urlopen(request, timeout=5) as response:
                assert response.status == 200, url
        out, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    assert "demo stopped (time is up)" in out


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None
