"""The live pipeline on a real broker: events in, alerts and dead letters out, never
stopping, never silent."""

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
from helpers.waiting import eventually
from kafka.admin import KafkaAdminClient
from live import alert_ids, firing, judged, keyed, pulses
from workers import WorkerProcess, collect, produce

from producers.simulator import simulate
from streams.contract.events import DossierEvent, encode_event, event_from_dict

pytestmark = pytest.mark.kafka

T_END = datetime(2025, 9, 30, 3, 0, tzinfo=UTC)
"""Where the pulses put every partition's clock in the 2025 stories (a quiet hour)."""


def stories(prefix: str = "") -> list[DossierEvent]:
    bounce = (
        Story(f"{prefix}PP-1")
        .received("2025-09-08T09:00", time_limit="30wd")
        .transfer("2025-09-08T10:00", "A")
        .transfer("2025-09-09T10:00", "B")
        .back("2025-09-10T10:00", "A")
        .complete("2025-09-11T10:00")
    )
    prompt = (
        Story(f"{prefix}OK-1").received("2025-09-08T09:00", unit="A").complete("2025-09-09T10:00")
    )
    late = Story(f"{prefix}LATE-1").received("2025-09-08T09:00", unit="A", time_limit="3wd")
    return [*bounce.events, *prompt.events, *late.events]


def simulated(dossiers: int, seed: int) -> list[DossierEvent]:
    start = datetime(2025, 9, 1, 8, 0, tzinfo=UTC)
    return [
        event_from_dict(e)
        for e in simulate(seed=seed, start=start, dossiers=dossiers, per_working_day=80)
    ]


@pytest.fixture
def worker_factory(kafka_bootstrap: str, topics: Topics, tmp_path: Path):  # type: ignore[no-untyped-def]
    started: list[WorkerProcess] = []
    app_id = f"dw-test-{uuid.uuid4().hex[:8]}"

    def start(name: str = "w1", **options: Any) -> WorkerProcess:
        w = WorkerProcess(
            kafka_bootstrap,
            topics,
            tmp_path / name,
            app_id=app_id,
            log=tmp_path / f"{name}.log",
            **options,
        )
        started.append(w)
        return w

    yield start
    for w in started:
        w.stop()


def test_a_scripted_story_gives_exactly_the_expected_alert_ids(
    kafka_bootstrap: str, topics: Topics, worker_factory: Any
) -> None:
    """Three dossiers through the worker, every partition's clock brought to one instant:
    the alert ids on dossier-alerts are exactly the core's at that stream time."""
    events = stories() + pulses(T_END, topics.partitions)
    produce(kafka_bootstrap, topics.events, keyed(events))
    want = judged(events, int(T_END.timestamp()))
    want_firing = firing(want)
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
    """A dossier due in a few seconds breaches from the timer alone, close to the due instant:
    its source's stream clock runs on with the wall clock after its receipt."""
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


def test_kill_9_mid_stream_loses_no_alert(
    kafka_bootstrap: str, topics: Topics, worker_factory: Any
) -> None:
    """A worker killed with SIGKILL and restarted: every expected alert id arrives; a
    consumer that dedupes by id sees each exactly once and nothing unexpected."""
    events = simulated(300, seed=7)
    end = max(e.time for e in events) + timedelta(days=1)
    events += pulses(end, topics.partitions, source="dossierwatch-simulator")
    start = time.time()
    want = firing(judged(events, int(end.timestamp())))
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
    # The clocks ran on for the test's own duration past the pulses: no more than that.
    ceiling = firing(judged(events, int(end.timestamp() + time.time() - start)))
    assert set(ids) <= ceiling, sorted(set(ids) - ceiling)[:10]


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
    end = max(e.time for e in events) + timedelta(days=1)
    events += pulses(end, topics.partitions, source="dossierwatch-simulator")
    start = time.time()
    want = firing(judged(events, int(end.timestamp())))
    produce(kafka_bootstrap, topics.events, keyed(events))
    got = collect(
        kafka_bootstrap, topics.alerts, until=lambda m: set(alert_ids(m)) >= want, timeout=120
    )
    ceiling = firing(judged(events, int(end.timestamp() + time.time() - start)))
    ids = set(alert_ids(got))
    assert want <= ids, (sorted(want - ids)[:10], one.tail(40), two.tail(40))
    assert ids <= ceiling, sorted(ids - ceiling)[:10]


def events_read(worker: WorkerProcess) -> float:
    """Events the worker has read, by its own count (duplicates included)."""
    return worker.counter_total("dossierwatch_source_events")


def test_a_group_without_committed_offsets_reads_every_event_again(
    kafka_bootstrap: str, topics: Topics, worker_factory: Any
) -> None:
    """A worker whose consumer group has lost its offsets (Kafka expires an empty group's
    offsets after a week; an operator may delete the group) restores its tables, then
    reads every event from the start: none is fetched during the restore and dropped
    (streams/worker/rewinding.py)."""
    events = simulated(1000, seed=11)  # a restore long enough for the fetcher to run
    produce(kafka_bootstrap, topics.events, keyed(events))
    first = worker_factory("w1")
    first.wait_assigned()
    eventually(lambda: events_read(first) >= len(events), timeout=60)
    first.stop()
    admin = KafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    try:
        admin.delete_groups([first.app_id])
    finally:
        admin.close()
    again = worker_factory("w1")  # the same data folder: its tables come back first
    again.wait_assigned()
    try:
        eventually(lambda: events_read(again) >= len(events), timeout=60)
    except AssertionError:
        read = events_read(again)
        raise AssertionError(f"{read:.0f} of {len(events)} read: {again.tail(30)}") from None


def test_nothing_is_fetched_while_the_seek_after_a_rebalance_runs(
    kafka_bootstrap: str, topics: Topics, worker_factory: Any
) -> None:
    """While the seek after a rebalance runs (held 5 s by an injected fault, as a long-poll
    fetch once held it 1.5 s), no event is read: Faust empties the stream queues when the
    flow resumes, so an event fetched then would be thrown away yet counted as read
    (streams/worker/rewinding.py). Once the worker is ready, every event is read."""
    events = simulated(400, seed=5)
    half = len(events) // 2
    produce(kafka_bootstrap, topics.events, keyed(events[:half]))
    first = worker_factory("w1")
    first.wait_assigned()
    eventually(lambda: events_read(first) >= half, timeout=60)
    first.stop()
    # The rest waits on the topic for a worker whose tables are restored first: its
    # fetcher runs then, as it did for the restarted worker that lost events.
    produce(kafka_bootstrap, topics.events, keyed(events[half:]))
    worker = worker_factory("w2", env={"DOSSIERWATCH_INJECT_FAULT": "slow_seek"})
    seeking = "Seek stream partitions to committed offsets"
    eventually(lambda: seeking in worker.log.read_text(errors="replace"), timeout=60, every=0.05)
    samples = []
    until = time.monotonic() + 3.0  # of the 5 s the seek is held
    while time.monotonic() < until:
        samples.append(events_read(worker))
        time.sleep(0.2)
    log = worker.log.read_text(errors="replace")
    assert "Worker ready" not in log, "the seek was not held: the samples prove nothing"
    assert not any(samples), f"events read while the seek ran: {samples}"
    eventually(lambda: events_read(worker) >= len(events) - half, timeout=60)


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


def _event(subject: str, **fields: Any) -> dict[str, Any]:
    body = json.loads(encode_event(Story(subject).received("2025-09-08T09:00").events[0]))
    data = fields.pop("data", {})
    body.update(fields)
    body["id"] = fields.get("id", f"poison-{uuid.uuid4().hex[:8]}")
    body["data"].update(data)
    return body


def poison(subject: str, original: DossierEvent) -> list[tuple[bytes | None, bytes, str]]:
    """A varied list of messages an outsider can put on the topic, with the reason each
    must be dead-lettered for.  `original` is an applied event whose id gets reused."""
    key = subject.encode()

    def j(body: dict[str, Any]) -> bytes:
        return json.dumps(body).encode()

    missing = _event(subject)
    del missing["subject"]
    conflicting = json.loads(encode_event(original))
    conflicting["data"]["unit"] = "SOMEWHERE-ELSE"
    return [
        (key, b"{not json", "not_json"),
        (key, j(_event(subject)).replace(b'"P"', b'"\xff\xfe"'), "bad_text"),
        (b"\xff\xfe", j(_event(subject)), "bad_key"),
        (b"SOMEONE-ELSE", j(_event(subject)), "bad_key"),
        (key, j(_event(subject, time="0001-01-01T00:00:00+07:00")), "time_out_of_range"),
        (key, j(_event(subject, time="9999-12-31T23:59:59+07:00")), "time_out_of_range"),
        (key, j(_event(subject, data={"time_limit": "1" + "0" * 20 + "wd"})), "bad_time_limit"),
        (key, j(_event(subject, data={"time_limit": "0wd"})), "bad_time_limit"),
        (key, b'{"x":' + b"[" * 100_000 + b"]" * 100_000 + b"}", "too_complex"),
        (key, b'{"x":' + b"[" * 40 + b"]" * 40 + b"}", "too_deep"),
        (key, j(_event(subject)).replace(b'"P"', b'"\\ud800"'), "not_json"),
        (key, j(missing), "missing_field"),
        (key, j(_event(subject, type="dossier.teleported")), "unknown_type"),
        (key, j(_event(subject, data={"procedure": "x" * 2_000_000})), "too_large"),
        (key, j(conflicting), "conflicting_duplicate"),
    ]


def dead_letters(kafka_bootstrap: str, topics: Topics, n: int, timeout: float = 90) -> list[Any]:
    return collect(kafka_bootstrap, topics.dlq, until=lambda m: len(m) >= n, timeout=timeout)


def test_poison_between_stories_never_stops_the_worker(
    kafka_bootstrap: str, topics: Topics, worker_factory: Any
) -> None:
    """Two stories with every kind of poison between them: the second story's alerts arrive,
    each poison message is dead-lettered once with its reason and original bytes, /health
    stays ok; after kill -9 and a restart nothing is dead-lettered again and a third
    story's alerts arrive."""
    first, second = stories("S1-"), stories("S2-")
    bad = poison("S1-PP-1", first[0])
    messages = [*keyed(first), *((k, v) for k, v, _ in bad), *keyed(second)]
    produce(kafka_bootstrap, topics.events, messages, max_request_size=8 * 1024 * 1024)
    produce(kafka_bootstrap, topics.ticks, [(b"S1-LATE-1", b"soon"), (b"S1-OK-1", b"99999999999")])
    produce(kafka_bootstrap, topics.events, keyed(pulses(T_END, topics.partitions)))
    worker = worker_factory("w1")
    worker.wait_assigned()
    want = firing(judged(first + second + pulses(T_END, topics.partitions), int(T_END.timestamp())))
    assert any(i.startswith("S2-LATE-1/deadline/overdue/") for i in want)
    got = collect(kafka_bootstrap, topics.alerts, until=lambda m: set(alert_ids(m)) >= want)
    assert set(alert_ids(got)) >= want, worker.tail()
    dead = dead_letters(kafka_bootstrap, topics, len(bad) + 1)
    by_value = {m.value: m for m in dead}
    for key, value, reason in bad:
        m = by_value[value]
        headers = dict(m.headers)
        assert (headers["reason"].decode(), m.key) == (reason, key), headers
        assert headers["source_topic"] == topics.events.encode() and headers["error_class"]
    tick = [m for m in dead if dict(m.headers)["reason"] == b"bad_tick"]
    assert len(tick) == 1 and dict(tick[0].headers)["source_topic"] == topics.ticks.encode()
    health = worker.health()
    assert health is not None and health["status"] == "ok", health
    text = worker.metrics()
    assert 'dossierwatch_events_invalid_total{reason="too_deep"} 1.0' in text

    worker.kill9()
    again = worker_factory("w2")
    again.wait_assigned()
    third = stories("S3-")
    later = T_END + timedelta(days=1)
    produce(kafka_bootstrap, topics.events, keyed(third + pulses(later, topics.partitions)))
    want3 = {i for i in firing(judged(third, int(later.timestamp()))) if i.startswith("S3-")}
    got = collect(kafka_bootstrap, topics.alerts, until=lambda m: set(alert_ids(m)) >= want3)
    assert set(alert_ids(got)) >= want3, again.tail()
    time.sleep(2)  # a second dead letter of anything would be on the topic by now
    assert len(dead_letters(kafka_bootstrap, topics, 10**6, timeout=5)) == len(bad) + 1
    health = again.health()
    assert health is not None and health["status"] == "ok", again.tail()


def test_a_dead_agent_is_never_a_silent_one(
    kafka_bootstrap: str, topics: Topics, worker_factory: Any
) -> None:
    """An agent made to die answers /health and /health/live with 503 and the reason, then
    the process exits non-zero so that a supervisor restarts it."""
    worker = worker_factory("w1", env={"DOSSIERWATCH_INJECT_FAULT": "agent"})
    worker.wait_assigned()
    produce(kafka_bootstrap, topics.events, [(b"__dossierwatch_fault__", b"{}")])
    deadline = time.monotonic() + 60
    health: dict[str, Any] | None = None
    while time.monotonic() < deadline:
        health = worker.health()
        if health and health.get("http_status") == 503:
            break
        time.sleep(0.2)
    assert health is not None and health.get("http_status") == 503, worker.tail()
    assert "agent died" in health["reason"] and "injected fault" in health["reason"]
    live = worker.health("/health/live")
    assert live is not None and live["http_status"] == 503 and live["status"] == "dead"
    dead_at = time.monotonic()
    code = worker.proc.wait(60)
    assert code == 70, worker.tail()  # EX_SOFTWARE: restart me
    assert time.monotonic() - dead_at < 30
    assert "dossierwatch worker: stopped: agent died" in worker.tail(5)


def test_exact_identity_for_the_life_of_a_dossier(
    kafka_bootstrap: str, topics: Topics, worker_factory: Any
) -> None:
    """An event redelivered after 100 newer events of its dossier changes nothing (applied
    again it would bounce the dossier back to O2); its id reused with other content is
    dead-lettered as a conflicting duplicate."""
    s = Story("ID-1").received("2025-09-08T09:00", unit="A", time_limit="30wd")
    s.assign("2025-09-08T09:10", unit="A", officer="O1")
    s.assign("2025-09-08T09:20", unit="A", officer="O2")
    for i in range(100):
        s.assign(f"2025-09-08T10:{i % 60:02d}:{i // 60:02d}", unit="A", officer="O3")
    redelivered = s.events[2]
    conflicting = json.loads(encode_event(s.events[1]))
    conflicting["data"]["officer"] = "O9"
    messages = [
        *keyed(s.events),
        *keyed([redelivered]),
        (b"ID-1", json.dumps(conflicting).encode()),
    ]
    produce(kafka_bootstrap, topics.events, messages)
    worker = worker_factory("w1")
    worker.wait_assigned()
    dead = dead_letters(kafka_bootstrap, topics, 1)
    assert [dict(m.headers)["reason"] for m in dead] == [b"conflicting_duplicate"]
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and "events_duplicate_total 1.0" not in worker.metrics():
        time.sleep(0.3)
    assert "dossierwatch_events_duplicate_total 1.0" in worker.metrics()
    got = collect(kafka_bootstrap, topics.alerts, until=lambda m: False, timeout=3)
    assert not [i for i in alert_ids(got) if "ping_pong_officer" in i]
