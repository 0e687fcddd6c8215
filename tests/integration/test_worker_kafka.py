"""The live pipeline on a real broker: events in, alerts and dead letters out."""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from conftest import Topics
from helpers.story import Story
from workers import WorkerProcess, collect, produce

from producers.simulator import simulate
from streams.core.alerts import Alert
from streams.core.engine import Engine
from streams.core.events import DossierEvent, encode_event, event_from_dict

pytestmark = pytest.mark.kafka


def expected_alerts(events: list[DossierEvent]) -> list[Alert]:
    """What the same core says for these events once the wall clock has passed them."""
    engine = Engine()
    alerts = engine.drain(events)
    alerts += engine.advance(int(time.time()))
    return alerts


def keyed(events: list[DossierEvent]) -> list[tuple[bytes | None, bytes]]:
    return [(e.subject.encode(), encode_event(e)) for e in events]


def alert_ids(messages: list[Any], status: str = "firing") -> list[str]:
    return [json.loads(m.value)["id"] for m in messages if json.loads(m.value)["status"] == status]


def stories() -> list[DossierEvent]:
    bounce = (
        Story("PP-1")
        .received("2025-09-08T09:00", time_limit="30wd")
        .transfer("2025-09-08T10:00", "A")
        .transfer("2025-09-09T10:00", "B")
        .back("2025-09-10T10:00", "A")
        .complete("2025-09-11T10:00")
    )
    prompt = Story("OK-1").received("2025-09-08T09:00", unit="A").complete("2025-09-09T10:00")
    late = Story("LATE-1").received("2025-09-08T09:00", unit="A", time_limit="3wd")
    return [*bounce.events, *prompt.events, *late.events]


def simulated(dossiers: int, seed: int) -> list[DossierEvent]:
    start = datetime(2025, 9, 1, 8, 0, tzinfo=UTC) + timedelta(hours=0)
    return [
        event_from_dict(e)
        for e in simulate(seed=seed, start=start, dossiers=dossiers, per_working_day=80)
    ]


@pytest.fixture
def worker_factory(kafka_bootstrap: str, topics: Topics, tmp_path: Path):  # type: ignore[no-untyped-def]
    started: list[WorkerProcess] = []
    app_id = f"dw-test-{uuid.uuid4().hex[:8]}"

    def start(name: str = "w1") -> WorkerProcess:
        w = WorkerProcess(
            kafka_bootstrap, topics, tmp_path / name, app_id=app_id, log=tmp_path / f"{name}.log"
        )
        started.append(w)
        return w

    yield start
    for w in started:
        w.stop()


def test_a_scripted_story_gives_exactly_the_expected_alert_ids(
    kafka_bootstrap: str, topics: Topics, worker_factory: Any
) -> None:
    """Three dossiers through the worker: the alert ids on dossier-alerts are exactly the core's."""
    events = stories()
    produce(kafka_bootstrap, topics.events, keyed(events))
    want = expected_alerts(events)
    want_firing = {a.id for a in want if a.status == "firing"}
    assert {"PP-1/ping_pong_unit/warning/1"} < want_firing
    assert any(i.startswith("LATE-1/deadline/escalation_3/") for i in want_firing)
    worker = worker_factory()
    worker.wait_assigned()
    got = collect(kafka_bootstrap, topics.alerts, until=lambda m: set(alert_ids(m)) >= want_firing)
    time.sleep(2)  # anything extra would show up now
    got = collect(kafka_bootstrap, topics.alerts, until=lambda m: False, timeout=3)
    assert set(alert_ids(got)) == want_firing
    assert set(alert_ids(got, "resolved")) == {a.id for a in want if a.status == "resolved"}
    assert all(m.key.decode() == json.loads(m.value)["dossier"] for m in got)
    assert all(dict(m.headers)["alert_id"] == json.loads(m.value)["id"].encode() for m in got)


def test_a_deadline_breaches_on_time_with_no_further_event(
    kafka_bootstrap: str, topics: Topics, worker_factory: Any
) -> None:
    """A dossier due in a few seconds breaches from the timer alone, close to the due instant."""
    worker = worker_factory()
    worker.wait_assigned()
    now = datetime.now(UTC).astimezone().replace(microsecond=0)
    due = now + timedelta(seconds=6)
    receipt = event_from_dict(
        {
            "specversion": "1.0",
            "id": f"rcpt-{uuid.uuid4().hex}",
            "source": "test",
            "type": "dossier.received",
            "time": now.isoformat(),
            "subject": "DUE-SOON",
            "data": {"procedure": "P", "unit": "A", "due": due.isoformat()},
        }
    )
    produce(kafka_bootstrap, topics.events, keyed([receipt]))

    def breached(ms: list[Any]) -> bool:
        return any("/deadline/overdue/" in i for i in alert_ids(ms))

    got = collect(kafka_bootstrap, topics.alerts, until=breached, timeout=60)
    overdue = [m for m in got if "/deadline/overdue/" in json.loads(m.value)["id"]]
    assert overdue, worker.tail()
    lateness = overdue[0].timestamp / 1000 - due.timestamp()
    assert 0 <= lateness < 3.0


def test_invalid_events_go_to_the_dead_letter_topic_and_the_rest_flows(
    kafka_bootstrap: str, topics: Topics, worker_factory: Any
) -> None:
    """Bad JSON, a missing field, an unknown type, 2 MB and a wrong key: each dead-lettered
    with its reason and original bytes, while the valid events around them still alert."""
    good = stories()
    base = json.loads(encode_event(good[0]))
    missing = {**base, "id": "bad-2"}
    del missing["subject"]
    unknown = {**base, "id": "bad-3", "type": "dossier.teleported"}
    huge = {**base, "id": "bad-4", "data": {**base["data"], "procedure": "x" * 2_000_000}}
    wrong_key = {**base, "id": "bad-5"}
    bad: list[tuple[bytes | None, bytes, str]] = [
        (b"PP-1", b"{not json", "not_json"),
        (b"PP-1", json.dumps(missing).encode(), "missing_field"),
        (b"PP-1", json.dumps(unknown).encode(), "unknown_type"),
        (b"PP-1", json.dumps(huge).encode(), "too_large"),
        (b"SOMEONE-ELSE", json.dumps(wrong_key).encode(), "bad_key"),
    ]
    mixed: list[tuple[bytes | None, bytes]] = []
    valid = keyed(good)
    for i, item in enumerate(valid):
        mixed.append(item)
        if i < len(bad):
            mixed.append(bad[i][:2])
    produce(kafka_bootstrap, topics.events, mixed, max_request_size=8 * 1024 * 1024)
    worker = worker_factory()
    worker.wait_assigned()
    dead = collect(kafka_bootstrap, topics.dlq, until=lambda m: len(m) >= len(bad))
    reasons = {dict(m.headers)["reason"].decode(): m for m in dead}
    assert set(reasons) == {b[2] for b in bad}, worker.tail()
    for key, value, reason in bad:
        assert reasons[reason].value == value and reasons[reason].key == key
        assert dict(reasons[reason].headers)["source_topic"] == topics.events.encode()
    want = {a.id for a in expected_alerts(good) if a.status == "firing"}
    got = collect(kafka_bootstrap, topics.alerts, until=lambda m: set(alert_ids(m)) >= want)
    assert set(alert_ids(got)) >= want
    text = worker.metrics()
    for _, _, reason in bad:
        assert f'dossierwatch_events_invalid_total{{reason="{reason}"}} 1.0' in text


def test_kill_9_mid_stream_loses_no_alert(
    kafka_bootstrap: str, topics: Topics, worker_factory: Any
) -> None:
    """A worker killed with SIGKILL and restarted: every expected alert id arrives; a
    consumer that dedupes by id sees each exactly once and nothing unexpected."""
    events = simulated(300, seed=7)
    want = {a.id for a in expected_alerts(events) if a.status == "firing"}
    assert len(want) > 100
    produce(kafka_bootstrap, topics.events, keyed(events))
    first = worker_factory("w1")
    first.wait_assigned()
    collect(kafka_bootstrap, topics.alerts, until=lambda m: len(m) >= len(want) // 4)
    first.kill9()
    second = worker_factory("w2")
    second.wait_assigned()
    got = collect(
        kafka_bootstrap, topics.alerts, until=lambda m: set(alert_ids(m)) >= want, timeout=180
    )
    ids = alert_ids(got)
    assert set(ids) >= want, sorted(want - set(ids))[:10]
    assert set(ids) <= want, sorted(set(ids) - want)[:10]


def test_two_workers_split_the_partitions(
    kafka_bootstrap: str, topics: Topics, worker_factory: Any
) -> None:
    """Two workers in one group own disjoint partitions covering all six, and together
    deliver every expected alert."""
    one, two = worker_factory("w1"), worker_factory("w2")
    one.wait_assigned()
    deadline = time.monotonic() + 90
    parts: tuple[list[int], list[int]] = ([], [])
    while time.monotonic() < deadline:
        h1, h2 = one.health(), two.health()
        if h1 and h2 and h1["assigned_partitions"] and h2["assigned_partitions"]:
            parts = (h1["assigned_partitions"], h2["assigned_partitions"])
            if sorted(parts[0] + parts[1]) == list(range(topics.partitions)):
                break
        time.sleep(0.5)
    assert not set(parts[0]) & set(parts[1])
    assert sorted(parts[0] + parts[1]) == list(range(topics.partitions)), (one.tail(), two.tail())
    events = simulated(150, seed=11)
    want = {a.id for a in expected_alerts(events) if a.status == "firing"}
    produce(kafka_bootstrap, topics.events, keyed(events))
    got = collect(
        kafka_bootstrap, topics.alerts, until=lambda m: set(alert_ids(m)) >= want, timeout=120
    )
    assert set(alert_ids(got)) == want


def test_a_restarted_worker_still_breaches_idle_dossiers(
    kafka_bootstrap: str, topics: Topics, worker_factory: Any
) -> None:
    """After a restart with no new events at all, a dossier's deadline still fires."""
    now = datetime.now(UTC).astimezone().replace(microsecond=0)
    due = now + timedelta(seconds=25)
    receipt = event_from_dict(
        {
            "specversion": "1.0",
            "id": f"rcpt-{uuid.uuid4().hex}",
            "source": "test",
            "type": "dossier.received",
            "time": now.isoformat(),
            "subject": "IDLE-1",
            "data": {"procedure": "P", "unit": "A", "due": due.isoformat()},
        }
    )
    produce(kafka_bootstrap, topics.events, keyed([receipt]))
    first = worker_factory("w1")
    first.wait_assigned()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        health = first.health()
        if health and health["dossiers_waiting_for_a_deadline"] == 1:
            break
        time.sleep(0.3)
    time.sleep(2)  # past the commit interval: the receipt's offset is committed
    first.stop()
    second = worker_factory("w2")
    second.wait_assigned()

    def breached(ms: list[Any]) -> bool:
        return any(i.startswith("IDLE-1/deadline/overdue/") for i in alert_ids(ms))

    got = collect(kafka_bootstrap, topics.alerts, until=breached, timeout=90)
    assert breached(got), second.tail()
