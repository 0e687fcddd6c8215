"""Acknowledging an alert from its dossier page, on a worker fed through the broker and a
real Alertmanager: the silence, who may, and what a cross-site request gets."""

from __future__ import annotations

import http.client
import json
import re
import urllib.parse
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from conftest import Topics
from helpers import waiting
from helpers.story import Story
from live import keyed, partition_of, pulses
from services import AlertmanagerServer
from workers import WorkerProcess, collect, produce

from alerts.alertmanager import AlertmanagerClient
from alerts.firing import FiringSet, now_utc
from streams.contract.alerts import decode_alert
from streams.web.auth import Identity
from streams.web.pages import csrf_token

pytestmark = pytest.mark.kafka

LATER = datetime(2025, 12, 1, tzinfo=UTC)
DOSSIER = "ACK-1"
PAGE = f"/dossiers/{DOSSIER}"


eventually = partial(waiting.eventually, timeout=90.0)


class Caller:
    """One signed-in person: GETs and form POSTs with their token, redirects not followed."""

    def __init__(self, worker: WorkerProcess, role: str, dossier: str = DOSSIER) -> None:
        self.port = worker.port
        self.token = worker.tokens[role]
        self.origin = f"http://127.0.0.1:{worker.port}"
        self.path = f"/dossiers/{urllib.parse.quote(dossier, safe='')}"

    def send(
        self, method: str, path: str, form: dict[str, str] | None = None, origin: str | None = None
    ) -> tuple[int, dict[str, str], str]:
        headers = {"Authorization": f"Bearer {self.token}", "Accept": "text/html"}
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            headers["Origin"] = origin or self.origin
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=20)
        try:
            conn.request(method, path, body=body, headers=headers)
            r = conn.getresponse()
            return r.status, dict(r.getheaders()), r.read().decode(errors="replace")
        finally:
            conn.close()

    def page(self) -> str:
        status, _, text = self.send("GET", self.path)
        assert status == 200, (status, text[:300])
        return text

    def csrf(self) -> str:
        found = re.search(r'name="csrf" value="([0-9a-f]+)"', self.page())
        assert found, "the page has no acknowledge form"
        return found.group(1)

    def derived_csrf(self) -> str:
        """The token as the worker derives it, for a caller whose page shows no form."""
        forward = {"Authorization": f"Bearer {self.token}"}
        return csrf_token(Identity("", frozenset(), forward))

    def acknowledge(self, alert_id: str, **form: str) -> tuple[int, dict[str, str], str]:
        path = f"{self.path}/alerts/{urllib.parse.quote(alert_id, safe='')}/ack"
        origin = form.pop("origin", None)
        return self.send("POST", path, form, origin)


def overdue_story(dossier: str) -> Story:
    """Received by A, passed to B and back: overdue (and escalated) in A by LATER."""
    return (
        Story(dossier)
        .received("2025-09-08T09:00", unit="A", time_limit="3wd")
        .transfer("2025-09-08T10:00", "B", frm="A")
        .back("2025-09-09T10:00", "A", frm="B")
    )


def am_get(am: AlertmanagerServer, path: str) -> Any:
    with urllib.request.urlopen(f"{am.url}{path}", timeout=10) as r:
        return json.loads(r.read())


@pytest.fixture
def worker(
    kafka_bootstrap: str, topics: Topics, alertmanager: AlertmanagerServer, tmp_path: Path
) -> Iterator[WorkerProcess]:
    w = WorkerProcess(
        kafka_bootstrap,
        topics,
        tmp_path / "w",
        app_id=f"ack-{topics.prefix}",
        log=tmp_path / "w.log",
        env={"DOSSIERWATCH_ALERTMANAGER_URL": alertmanager.url},
    )
    try:
        yield w
    finally:
        w.stop()


def test_acknowledging_silences_exactly_that_alert_and_the_page_shows_it(
    kafka_bootstrap: str, topics: Topics, alertmanager: AlertmanagerServer, worker: WorkerProcess
) -> None:
    """Unit A's head acknowledges A's overdue alert: a silence of that alert alone, by the
    signed-in name with the comment, which the page then shows.  Without the form's token,
    or from another site's origin, the POST is refused; unit B, which the dossier passed
    through, reads the page but may not acknowledge A's alert."""
    worker.wait_assigned()
    story = overdue_story(DOSSIER)
    produce(kafka_bootstrap, topics.events, keyed(story.events + pulses(LATER, topics.partitions)))
    messages = collect(
        kafka_bootstrap,
        topics.alerts,
        until=lambda m: (
            sum(b"/escalation_" in x.value for x in m) >= 1
            and any(b"/deadline/overdue/" in x.value for x in m)
        ),
    )
    # What the bridge would post: the alerts as Alertmanager holds them.
    firing = FiringSet("http://unused.test", timedelta(hours=1))
    for m in messages:
        firing.apply(decode_alert(m.value), now_utc())
    AlertmanagerClient(alertmanager.url).post(firing.postables(now_utc()))

    centre, unit_a, unit_b = (Caller(worker, r) for r in ("centre", "unit:A", "unit:B"))
    view = eventually(lambda: (r := worker.get(f"/api/dossiers/{DOSSIER}"))[0] == 200 and r[1])
    opened = {a["id"]: a["unit"] for a in view["open_alerts"]}
    target = next(i for i, u in opened.items() if "/deadline/overdue/" in i and u == "A")
    other = next(i for i in opened if "/escalation_" in i)
    assert f'data-id="{target}"' in centre.page()

    comment = "Đang xử lý, chờ ý kiến Sở Tài chính"
    token = centre.csrf()
    assert centre.acknowledge(target, comment=comment)[0] == 403  # no token
    refused = centre.acknowledge(target, csrf=token, comment=comment, origin="http://evil.test")
    assert refused[0] == 403 and "another site" in refused[2]
    assert centre.derived_csrf() == token and unit_b.derived_csrf() != token  # per credential
    assert "<form" not in unit_b.page()  # B reads the page; no alert of it is B's own
    assert unit_b.acknowledge(target, csrf=unit_b.derived_csrf(), comment=comment)[0] == 403
    assert am_get(alertmanager, "/api/v2/silences") == []

    status, headers, _ = unit_a.acknowledge(target, csrf=unit_a.csrf(), comment=comment)
    assert status == 303 and headers["Location"] == PAGE
    (silence,) = am_get(alertmanager, "/api/v2/silences")
    assert (silence["createdBy"], silence["comment"]) == ("test unit:A", comment)
    assert {(m["name"], m["value"]) for m in silence["matchers"]} == {
        ("alert_id", target),
        ("dossier", DOSSIER),
    }

    def states() -> Any:
        held = {a["labels"]["alert_id"]: a["status"] for a in alertmanager.alerts()}
        return held[target]["state"] == "suppressed" and held

    held = eventually(states, timeout=30)
    assert held[target]["silencedBy"] == [silence["id"]]
    assert held[other]["silencedBy"] == []  # (it may be inhibited by a higher level)

    shown = centre.page()
    assert "test unit:A" in shown and comment in shown
    log = worker.log.read_text(errors="replace")
    assert "alert_acknowledged" in log and "test unit:A" in log and target in log


def test_a_worker_forwards_the_page_and_the_acknowledgement_to_the_owner(
    kafka_bootstrap: str, topics: Topics, alertmanager: AlertmanagerServer, tmp_path: Path
) -> None:
    """Asked about a dossier the other worker owns, a worker forwards the page and the
    acknowledgement's POST with its form, and the owner's redirect comes back as given."""
    env = {"DOSSIERWATCH_ALERTMANAGER_URL": alertmanager.url}
    a, b = (
        WorkerProcess(
            kafka_bootstrap,
            topics,
            tmp_path / name,
            app_id=f"ack2-{topics.prefix}",
            log=tmp_path / f"{name}.log",
            env=env,
        )
        for name in ("a", "b")
    )
    try:
        seen: list[Any] = []

        def settled() -> Any:
            # The split held for a few seconds: the test is about forwarding, not about
            # moving state in a later rebalance.
            ha, hb = a.health() or {}, b.health() or {}
            split = (tuple(ha.get("assigned_partitions") or ()), hb.get("assigned_partitions"))
            seen.append(split if split[0] and split[1] else None)
            return len(seen) >= 10 and seen[-1] and all(x == seen[-1] for x in seen[-10:])

        eventually(settled, timeout=120)
        on_b = set(seen[-1][1])
        remote = next(
            n for n in (f"ACK-{i}" for i in range(20)) if partition_of(n, topics.partitions) in on_b
        )
        events = overdue_story(remote).events + pulses(LATER, topics.partitions)
        produce(kafka_bootstrap, topics.events, keyed(events))
        centre = Caller(a, "centre", remote)

        def overdue_shown() -> Any:
            status, _, text = centre.send("GET", centre.path)
            found = re.search(r'data-id="([^"]*/deadline/overdue/[^"]*)"', text)
            return status == 200 and found and found.group(1)

        target = eventually(overdue_shown)
        status, headers, _ = centre.acknowledge(target, csrf=centre.csrf(), comment="đã nhận")
        assert status == 303 and headers["Location"] == centre.path
        (silence,) = am_get(alertmanager, "/api/v2/silences")
        assert silence["createdBy"] == "test centre" and silence["comment"] == "đã nhận"
        assert "alert_acknowledged" in b.log.read_text(errors="replace")
    finally:
        a.stop()
        b.stop()
