"""Who reads what on a real worker: nothing without credentials, a unit head their unit
only, bounded answers, and no request that stalls the stream."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from conftest import Topics
from helpers.story import Story
from helpers.waiting import eventually
from live import keyed, pulses
from workers import WorkerProcess, collect, produce

from streams.contract.events import DossierEvent, encode_event, event_from_dict

pytestmark = pytest.mark.kafka

LATER = datetime(2025, 12, 1, tzinfo=UTC)
PAGES = [
    "/",
    "/wallboard",
    "/static/wallboard.js",
    "/metrics",
    "/api/board",
    "/api/ping-pong",
    "/api/units/A/overdue",
    "/api/units/A/at-risk",
    "/api/units/A",
    "/units/A",
    "/units/A/officers/CB-A-07",
    "/api/dossiers/A-1",
    "/router",
    "/table/dossiers",
    "/anything-added-later",
]


def raw_get(port: int, path: str, headers: dict[str, str] | None = None) -> tuple[int, Any]:
    """(status, headers) of a GET that follows no redirect."""

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: Any, **kwargs: Any) -> None:
            return None

    opener = urllib.request.build_opener(NoRedirect)
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers=headers or {})
    try:
        with opener.open(request, timeout=15) as r:
            return r.status, r.headers
    except urllib.error.HTTPError as e:
        return e.code, e.headers


@pytest.fixture
def worker(kafka_bootstrap: str, topics: Topics, tmp_path: Path) -> Iterator[WorkerProcess]:
    w = WorkerProcess(
        kafka_bootstrap,
        topics,
        tmp_path / "w",
        app_id=f"access-{uuid.uuid4().hex[:8]}",
        log=tmp_path / "w.log",
    )
    try:
        w.wait_assigned()
        yield w
    finally:
        w.stop()


def units_story() -> list[DossierEvent]:
    """A-1 stays in A; B-1 stays in B; AB-1 went A → B with an officer in each."""
    return (
        Story("A-1").received("2025-09-08T09:00", unit="A", time_limit="5wd").events
        + Story("B-1").received("2025-09-08T09:00", unit="B", time_limit="5wd").events
        + Story("AB-1")
        .received("2025-09-08T09:00", unit="A", time_limit="5wd")
        .assign("2025-09-08T10:00", unit="A", officer="CB-A-07")
        .transfer("2025-09-09T10:00", "B", frm="A", officer="CB-B-12")
        .events
    )


def test_nothing_answers_without_credentials_but_health(worker: WorkerProcess) -> None:
    """Every page, Faust's own included, answers 401 anonymous and with a wrong token;
    /health answers anyone; Faust's table and router pages are off."""
    for path in PAGES:
        assert worker.get(path, role=None, raw=True)[0] == 401, path
        status, headers = raw_get(worker.port, path, {"Authorization": "Bearer not-a-token"})
        assert status == 401 and headers["WWW-Authenticate"].startswith("Bearer"), path
    assert worker.health() is not None
    assert worker.get("/router", raw=True)[0] == 404
    assert worker.get("/table/dossiers", raw=True)[0] == 404
    assert worker.get("/anything-added-later", role="unit:A", raw=True)[0] == 403


def test_a_unit_head_reads_their_unit_only(
    kafka_bootstrap: str, topics: Topics, worker: WorkerProcess
) -> None:
    """unit:A sees A's row of the board, A's lists and the dossiers that are or were in A
    (without another unit's officers); another unit's list or dossier is 403; the metrics
    role reads /metrics and nothing else."""
    produce(kafka_bootstrap, topics.events, keyed(units_story() + pulses(LATER, 6)))
    # The lists read the table: AB-1 in B's means its last event is there, and A-1 and
    # B-1 have one event each; a dossier's page reads at least what the table holds.
    eventually(lambda: worker.get("/api/units/B/overdue")[1].get("total") == 2)
    eventually(lambda: worker.get("/api/units/A/overdue")[1].get("total") == 1)

    status, board = worker.get("/api/board", role="unit:A")
    assert status == 200 and [r["unit"] for r in board["units"]] == ["A"]
    assert worker.get("/api/units/A/overdue", role="unit:A")[1]["total"] == 1
    assert worker.get("/api/units/B/overdue", role="unit:A")[0] == 403
    assert worker.get("/api/units/A", role="unit:A")[1]["total"] == 1
    assert worker.get("/units/A", role="unit:A", raw=True)[0] == 200
    assert worker.get("/api/units/B", role="unit:A")[0] == 403
    assert worker.get("/units/B", role="unit:A", raw=True)[0] == 403
    assert worker.get("/units/B/officers/CB-B-12", role="unit:A", raw=True)[0] == 403
    assert worker.get("/api/dossiers/B-1", role="unit:A")[0] == 403
    assert worker.get("/api/dossiers/A-1", role="unit:A")[0] == 200
    status, passed = worker.get("/api/dossiers/AB-1", role="unit:A")
    assert status == 200 and passed["unit"] == "B" and passed["officer"] is None
    officers = {s["unit"]: [o["officer"] for o in s["officers"]] for s in passed["chain"]}
    assert officers == {"A": ["CB-A-07"], "B": []}
    _, whole = worker.get("/api/dossiers/AB-1")
    assert whole["officer"] == "CB-B-12"

    assert worker.get("/metrics", role="unit:A", raw=True)[0] == 403
    assert worker.get("/metrics", role="metrics", raw=True)[0] == 200
    assert worker.get("/api/board", role="metrics")[0] == 403


def test_pages_carry_security_headers_and_the_link_becomes_a_cookie(
    worker: WorkerProcess,
) -> None:
    """Pages forbid inline script, framing and sniffing; ?token= signs a browser in with an
    HttpOnly, SameSite=Strict cookie and a redirect that drops the token."""
    status, headers = raw_get(
        worker.port, "/wallboard", {"Authorization": f"Bearer {worker.tokens['centre']}"}
    )
    csp = headers["Content-Security-Policy"]
    assert status == 200 and "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp and headers["X-Content-Type-Options"] == "nosniff"
    status, headers = raw_get(worker.port, f"/?token={worker.tokens['unit:A']}")
    assert status == 303 and headers["Location"] == "/wallboard"
    cookie = headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    token = cookie.split(";")[0].split("=", 1)[1]
    assert raw_get(worker.port, "/api/board", {"Cookie": f"dossierwatch_token={token}"})[0] == 200
    assert raw_get(worker.port, "/?token=forged")[0] == 401


@pytest.mark.alone
def test_the_board_of_fifty_thousand_units_is_paged_and_never_stalls_the_stream(
    kafka_bootstrap: str, topics: Topics, worker: WorkerProcess
) -> None:
    """With 50,000 units the board answers a page of units and the totals, and while the
    board, a unit list and /metrics are fetched the event loop is never held 100 ms."""
    n = 50_000
    events = [
        event_from_dict(
            {
                "specversion": "1.0",
                "id": f"U{i}-r",
                "source": "test",
                "type": "dossier.received",
                "time": "2025-09-08T09:00:00+07:00",
                "subject": f"U{i}",
                "data": {"procedure": "P", "unit": f"UNIT-{i:05d}", "time_limit": "5wd"},
            }
        )
        for i in range(n)
    ]
    produce(kafka_bootstrap, topics.events, keyed(events))
    eventually(
        lambda: (worker.health() or {}).get("dossiers_waiting_for_a_deadline") == n, timeout=180
    )
    time.sleep(3)  # the last batches and ticks settle
    worker.health()  # the loop's longest hold is counted from here
    started = time.monotonic()
    status, board = worker.get("/api/board?size=100")
    status2, page2 = worker.get("/api/board?size=100&page=3")
    status3, _ = worker.get("/api/units/UNIT-00042/overdue")
    metrics = worker.get("/metrics", role="metrics", raw=True)
    took = time.monotonic() - started
    lag = (worker.health() or {})["event_loop_lag_max_ms"]
    assert (status, status2, status3, metrics[0]) == (200, 200, 200, 200)
    assert len(board["units"]) == 100 and board["units_total"] == n
    assert board["total"]["open"] == n and len(page2["units"]) == 100
    assert len(json.dumps(board)) < 200_000
    assert lag < 100, f"event loop held {lag} ms while the board took {took:.1f} s"
    assert worker.get("/api/board?size=500&page=21")[0] == 400  # past the deepest page


def test_no_officer_or_citizen_shows_in_metrics_logs_or_alerts(
    kafka_bootstrap: str, topics: Topics, tmp_path: Path
) -> None:
    """With an officer key, a sample whose events name officers and carry citizen-like
    fields leaves neither the officers' ids nor the citizen's data in /metrics, the log,
    the alerts or the API: only keyed pseudonyms."""
    key = tmp_path / "officer.key"
    key.write_bytes(b"a secret of the centre, 32 bytes")
    officers = ["CB-NGUYEN-VAN-AN", "CB-TRAN-THI-BINH"]
    citizen = ["Lê Văn Cường", "001203004567", "0912345678"]
    story = (
        Story("HS-P1")
        .received("2025-09-08T09:00", unit="A", time_limit="3wd")
        .assign("2025-09-08T10:00", unit="A", officer=officers[0])
        .assign("2025-09-09T10:00", unit="A", officer=officers[1])
        .assign("2025-09-10T10:00", unit="A", officer=officers[0])
    )
    messages = []
    for e in story.events:
        body = json.loads(encode_event(e))
        body["data"].update(citizen_name=citizen[0], citizen_id=citizen[1], phone=citizen[2])
        messages.append((e.subject.encode(), json.dumps(body, ensure_ascii=False).encode()))
    w = WorkerProcess(
        kafka_bootstrap,
        topics,
        tmp_path / "w",
        app_id=f"privacy-{uuid.uuid4().hex[:8]}",
        log=tmp_path / "w.log",
        args=["--officer-key-file", str(key)],
    )
    try:
        w.wait_assigned()
        produce(kafka_bootstrap, topics.events, messages + keyed(pulses(LATER, 6)))
        alerts = collect(
            kafka_bootstrap,
            topics.alerts,
            until=lambda m: (
                any(b"ping_pong_officer" in x.value for x in m)
                and any(b"/overdue/" in x.value for x in m)
            ),
        )
        _, view = eventually(lambda: (r := w.get("/api/dossiers/HS-P1"))[0] == 200 and r)
        seen = [
            w.metrics(),
            w.log.read_text(errors="replace"),
            json.dumps(view, ensure_ascii=False),
            *(m.value.decode() for m in alerts),
        ]
    finally:
        w.stop()
    assert any("ping_pong_officer" in text for text in seen)
    for text in seen:
        for secret in (*officers, *citizen):
            assert secret not in text, (secret, text[:300])
    chain_officers = [o["officer"] for s in view["chain"] for o in s["officers"]]
    assert chain_officers and all(o.startswith("o-") and len(o) == 18 for o in chain_officers)
