"""EventProducer and the `simulate`/`publish` commands against the real local broker."""

from __future__ import annotations

import json
import time
import uuid
from collections import defaultdict
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from conftest import Topics, delete_topics
from kafka import KafkaConsumer
from kafka.admin import KafkaAdminClient, NewTopic
from msgspec.structs import replace

from producers.kafka_producer import (
    CONTENT_TYPE,
    BrokerUnavailable,
    DeliveryError,
    EventProducer,
)
from producers.simulator import simulate
from streams import cli
from streams.contract.events import InvalidEvent, decode_event, event_from_dict
from streams.eventlogs.mapping import Mapping, trace_events
from streams.eventlogs.xes import read_xes

pytestmark = pytest.mark.kafka

ICT = timezone(timedelta(hours=7))
START = datetime(2025, 7, 7, tzinfo=ICT)
WAIT_S = 30.0


def sim_events(dossiers: int, seed: int = 3) -> list[dict[str, Any]]:
    return list(simulate(seed=seed, start=START, dossiers=dossiers))


def consume(bootstrap: str, topic: str, *, until: int | str) -> list[Any]:
    """Records of `topic` from the start, until there are `until` of them or the record
    with id `until` arrives; fails after WAIT_S seconds."""
    consumer = KafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=f"test-{uuid.uuid4().hex}",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        consumer_timeout_ms=1000,
    )
    records: list[Any] = []
    deadline = time.monotonic() + WAIT_S
    try:
        while time.monotonic() < deadline:
            for batch in consumer.poll(timeout_ms=500).values():
                records.extend(batch)
            if isinstance(until, int) and len(records) >= until:
                break
            if isinstance(until, str) and any(header(r, "ce_id") == until for r in records):
                break
        else:
            pytest.fail(f"{topic}: waited {WAIT_S} s, got {len(records)} records")
    finally:
        consumer.close()
    return records


def header(record: Any, name: str) -> str | None:
    values = [v for k, v in record.headers if k == name]
    return values[0].decode() if values else None


def by_dossier(records: list[Any]) -> dict[str, list[str]]:
    """Each dossier's event ids in topic order (one partition holds a whole dossier)."""
    out: dict[str, list[str]] = defaultdict(list)
    for r in sorted(records, key=lambda r: (r.partition, r.offset)):
        out[r.key.decode()].append(decode_event(r.value).id)
    return dict(out)


def sentinel() -> dict[str, Any]:
    """A valid event sent after a refused one: once it arrives, anything sent before has too."""
    return {
        "specversion": "1.0",
        "id": f"sentinel-{uuid.uuid4().hex}",
        "source": "tests",
        "type": "dossier.assigned",
        "time": "2025-07-07T09:00:00+07:00",
        "subject": "HS-sentinel",
        "data": {"unit": "ONE_STOP"},
    }


@pytest.fixture
def run(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Any:

    def go(*argv: str) -> tuple[int, str, str]:
        code = cli.main(list(argv))
        out, err = capsys.readouterr()
        return code, out, err

    return go


@pytest.fixture
def tiny_topic(kafka_bootstrap: str) -> Iterator[str]:
    """A one-partition topic whose broker limit is 600 bytes a batch."""
    name = f"t{uuid.uuid4().hex[:8]}-tiny"
    admin = KafkaAdminClient(bootstrap_servers=kafka_bootstrap, client_id="dossierwatch-tests")
    try:
        admin.create_topics(
            [NewTopic(name, 1, 1, topic_configs={"max.message.bytes": "600"})], timeout_ms=30_000
        )
    finally:
        admin.close()
    yield name
    delete_topics(kafka_bootstrap, [name])


# -- EventProducer ---------------------------------------------------------------------


def test_events_arrive_keyed_by_dossier_in_order_with_headers(
    kafka_bootstrap: str, topics: Topics
) -> None:
    """Each event is keyed by its dossier, a dossier's events share a partition in send order,
    and the CloudEvents headers are set."""
    events = sim_events(30)
    with EventProducer(kafka_bootstrap, topics.events) as producer:
        for e in events:
            producer.send(e)
        producer.flush(timeout=WAIT_S)
        assert (producer.sent, producer.failed, producer.pending) == (len(events), 0, 0)
    records = consume(kafka_bootstrap, topics.events, until=len(events))

    assert len(records) == len(events)
    expected: dict[str, list[str]] = defaultdict(list)
    for e in events:
        expected[e["subject"]].append(e["id"])
    assert by_dossier(records) == expected
    partitions: dict[str, set[int]] = defaultdict(set)
    for r in records:
        partitions[r.key.decode()].add(r.partition)
    assert all(len(p) == 1 for p in partitions.values())
    assert len({p for ps in partitions.values() for p in ps}) > 1  # keys spread out
    by_id = {e["id"]: e for e in events}
    for r in records:
        event = decode_event(r.value)
        assert r.key.decode() == event.subject
        assert header(r, "content-type") == CONTENT_TYPE.decode()
        assert header(r, "ce_specversion") == "1.0"
        assert header(r, "ce_id") == event.id
        assert header(r, "ce_type") == by_id[event.id]["type"]
        assert header(r, "ce_subject") == event.subject


def test_an_invalid_dict_raises_and_sends_nothing(kafka_bootstrap: str, topics: Topics) -> None:
    """A dict that breaks the contract raises InvalidEvent naming the field and sends nothing."""
    bad = sentinel() | {"id": "bad-1", "data": {}}  # an assignment needs a unit
    mark = sentinel()
    with EventProducer(kafka_bootstrap, topics.events) as producer:
        with pytest.raises(InvalidEvent) as caught:
            producer.send(bad)
        assert caught.value.reason == "missing_field"
        assert "unit" in str(caught.value)
        producer.send(mark)
    records = consume(kafka_bootstrap, topics.events, until=mark["id"])
    assert [header(r, "ce_id") for r in records] == [mark["id"]]


@pytest.mark.parametrize("as_dict", [True, False], ids=["dict", "struct"])
def test_a_2mb_event_is_refused_before_sending(
    kafka_bootstrap: str, topics: Topics, as_dict: bool
) -> None:
    """An event of 2 MB, as a dict or a built event, is refused as too large and never sent."""
    big: dict[str, Any] = sentinel() | {"id": "big-1", "type": "dossier.returned"}
    big["data"] = {"from_unit": "A", "to_unit": "B", "reason": "x" * 2_000_000}
    event: Any = big
    if not as_dict:
        # msgspec structs are not validated when built, so a large one can be made directly.
        small = event_from_dict(big | {"data": {"from_unit": "A", "to_unit": "B"}})
        event = replace(small, data=replace(small.data, reason="x" * 2_000_000))
    mark = sentinel()
    with EventProducer(kafka_bootstrap, topics.events) as producer:
        with pytest.raises(InvalidEvent) as caught:
            producer.send(event)
        assert caught.value.reason == "too_large"
        producer.send(mark)
        assert producer.queued == 1
    records = consume(kafka_bootstrap, topics.events, until=mark["id"])
    assert [header(r, "ce_id") for r in records] == [mark["id"]]


def test_broker_refusals_surface_in_flush(kafka_bootstrap: str, tiny_topic: str) -> None:
    """Events the broker refuses are counted as failed, and flush raises DeliveryError once."""
    events = sim_events(3)[:4]
    with EventProducer(kafka_bootstrap, tiny_topic, linger_ms=50) as producer:
        for e in events:
            producer.send(e)
        with pytest.raises(DeliveryError) as caught:
            producer.flush(timeout=WAIT_S)
        assert producer.failed >= 1
        assert producer.sent + producer.failed == len(events)
        assert caught.value.failed == producer.failed
        assert "MessageSizeTooLarge" in str(caught.value)
        producer.flush(timeout=WAIT_S)  # reported once, not again


def test_an_unknown_topic_is_an_error_at_start(kafka_bootstrap: str) -> None:
    """A topic the broker does not have is reported when the producer is built, in one line."""
    with pytest.raises(BrokerUnavailable, match="not found") as caught:
        EventProducer(kafka_bootstrap, f"no-such-topic-{uuid.uuid4().hex}", timeout=1)
    assert "\n" not in str(caught.value)


# -- commands ----------------------------------------------------------------------------


def test_simulate_to_kafka_sends_what_output_would_write(
    run: Any, kafka_bootstrap: str, topics: Topics, tmp_path: Path
) -> None:
    """`simulate --bootstrap` sends just the events `--output` writes, each dossier's in order."""
    path = tmp_path / "sim.jsonl"
    assert run("simulate", "--dossiers", "50", "--output", str(path))[0] == 0
    written = [json.loads(line) for line in path.read_text().splitlines()]
    code, out, err = run(
        "simulate",
        "--dossiers",
        "50",
        "--start",
        "2025-07-07",  # what --output starts at; sent to Kafka it would start now
        "--bootstrap",
        kafka_bootstrap,
        "--topic",
        topics.events,
    )
    assert (code, out) == (0, "")
    assert f"{len(written):,} events, 50 dossiers" in err

    records = consume(kafka_bootstrap, topics.events, until=len(written))
    assert {decode_event(r.value).id for r in records} == {e["id"] for e in written}
    assert len(records) == len(written)
    expected: dict[str, list[str]] = defaultdict(list)
    for e in written:
        expected[e["subject"]].append(e["id"])
    assert by_dossier(records) == expected


def xes_log() -> str:
    def ev(unit: str, officer: str, when: str) -> str:
        return (
            f'<event><string key="org:group" value="{unit}"/>'
            f'<string key="org:resource" value="{officer}"/>'
            f'<date key="time:timestamp" value="2025-07-{when}+07:00"/></event>\n'
        )

    def tr(case: str, *events: str) -> str:
        return f'<trace><string key="concept:name" value="{case}"/>\n{"".join(events)}</trace>\n'

    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<log xes.version="1.0" xmlns="http://www.xes-standard.org/">\n'
        + tr("C1", ev("U1", "o1", "07T08:00:00"), ev("U2", "o2", "08T09:00:00"))
        + tr("C2", ev("U1", "o1", "07T10:00:00"), ev("U1", "o3", "09T11:00:00"))
        + "</log>\n"
    )


def test_publish_of_an_xes_log_sends_the_mapped_events(
    run: Any, kafka_bootstrap: str, topics: Topics, tmp_path: Path
) -> None:
    """`publish` of a small XES sends exactly the events the mapping makes of it, keyed by case."""
    path = tmp_path / "log.xes"
    path.write_text(xes_log())
    mapped = [e for t in read_xes(str(path)) for e in trace_events(t, Mapping(), str(path))]
    code, _, err = run(
        "publish", str(path), "--bootstrap", kafka_bootstrap, "--topic", topics.events
    )
    assert code == 0, err
    assert f"publish: {len(mapped)} events sent" in err

    records = consume(kafka_bootstrap, topics.events, until=len(mapped))
    assert len(records) == len(mapped)
    assert [decode_event(r.value) for r in records if r.key == b"C1"] == [
        e for e in mapped if e.subject == "C1"
    ]
    assert by_dossier(records) == {
        case: [e.id for e in mapped if e.subject == case] for case in ("C1", "C2")
    }


def test_publish_stopped_by_a_bad_line_leaves_exactly_what_it_reported(
    run: Any, kafka_bootstrap: str, topics: Topics, tmp_path: Path
) -> None:
    """With --no-check a bad line 3 stops publishing; the topic holds the 2 events reported."""
    lines = [json.dumps(e) for e in sim_events(3)]
    lines[2] = "{not json"
    path = tmp_path / "broken.jsonl"
    path.write_text("\n".join(lines) + "\n")
    code, _, err = run(
        "publish", str(path), "--no-check", "--bootstrap", kafka_bootstrap, "--topic", topics.events
    )
    assert code == 2
    assert err.count("\n") == 1 and f"{path}:3: " in err
    assert "(2 events sent before the error)" in err

    mark = sentinel()
    with EventProducer(kafka_bootstrap, topics.events) as producer:
        producer.send(mark)
    records = consume(kafka_bootstrap, topics.events, until=mark["id"])
    sent = {json.loads(line)["id"] for line in lines[:2]}
    assert {header(r, "ce_id") for r in records} == sent | {mark["id"]}
