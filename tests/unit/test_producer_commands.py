"""`dossierwatch simulate`, `publish` and `kafka` without a broker."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import Any, ClassVar

import pytest

import producers.kafka_producer as kafka_producer
import streams.cli.producers as commands
from producers.simulator import simulate
from streams import cli
from streams.contract.events import DossierEvent, decode_event

Run = Callable[..., tuple[int, str, str]]


@pytest.fixture
def run(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Run:
    """`dossierwatch ARGS…` in-process: (exit code, stdout, stderr)."""

    def go(*argv: str) -> tuple[int, str, str]:
        try:
            code = cli.main(list(argv))
        except SystemExit as exit_:  # argparse usage errors
            code = int(exit_.code or 0)
        out, err = capsys.readouterr()
        return code, out, err

    return go


class RecordingProducer:
    """Stands in for EventProducer: keeps what it is sent, acknowledges on flush."""

    instances: ClassVar[list[RecordingProducer]] = []

    def __init__(self, bootstrap: str, topic: str, **_: Any) -> None:
        self.bootstrap, self.topic = bootstrap, topic
        self.events: list[DossierEvent] = []
        self.sent = 0
        RecordingProducer.instances.append(self)

    def send(self, event: DossierEvent) -> None:
        self.events.append(event)

    def flush(self, timeout: float | None = None) -> None:
        self.sent = len(self.events)

    def close(self, timeout: float | None = None) -> None:
        self.flush()

    def __enter__(self) -> RecordingProducer:
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


@pytest.fixture
def recording(monkeypatch: pytest.MonkeyPatch) -> Iterator[type[RecordingProducer]]:
    RecordingProducer.instances = []
    monkeypatch.setattr(kafka_producer, "EventProducer", RecordingProducer)
    yield RecordingProducer


@pytest.fixture
def no_broker(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any attempt to connect fails the test."""

    def refuse(*args: Any, **kwargs: Any) -> None:
        pytest.fail("the command connected to Kafka")

    monkeypatch.setattr(kafka_producer, "EventProducer", refuse)


def one_line(err: str, command: str) -> str:
    assert err.endswith("\n") and err.count("\n") == 1, err
    assert err.startswith(f"dossierwatch {command}: "), err
    return err


def simulated_jsonl(run: Run, tmp_path: Path, n: int = 5) -> Path:
    path = tmp_path / "events.jsonl"
    code, _, _ = run("simulate", "--dossiers", str(n), "--output", str(path))
    assert code == 0
    return path


# -- simulate ----------------------------------------------------------------------------


def test_simulate_to_file_is_deterministic_and_valid(run: Run, tmp_path: Path) -> None:
    """The same seed writes the same bytes, another seed others; every line is a valid event."""
    paths = [tmp_path / f"{name}.jsonl" for name in ("a", "b", "c")]
    for path, seed in zip(paths, ("7", "7", "8"), strict=True):
        code, out, err = run("simulate", "--seed", seed, "--dossiers", "40", "--output", str(path))
        assert (code, out) == (0, "")
        assert "40 dossiers" in err
    first = paths[0].read_bytes()
    assert first == paths[1].read_bytes()
    assert first != paths[2].read_bytes()
    events = [decode_event(line) for line in first.splitlines()]
    assert len(events) > 40
    assert [e.time for e in events] == sorted(e.time for e in events)


def test_simulate_stops_after_the_given_number_of_dossiers(run: Run, tmp_path: Path) -> None:
    """`--dossiers N` yields the complete stories of exactly N dossiers, and says so on stderr."""
    path = tmp_path / "out.jsonl"
    code, _, err = run("simulate", "--dossiers", "25", "--output", str(path))
    lines = path.read_text().splitlines()
    assert code == 0
    assert len({json.loads(line)["subject"] for line in lines}) == 25
    assert err.count("\n") == 1 and f"{len(lines):,} events, 25 dossiers" in err


def test_simulate_writes_jsonl_to_stdout_by_default(run: Run, tmp_path: Path) -> None:
    """Without --output or --bootstrap, the events go to stdout, the summary to stderr."""
    expected = simulated_jsonl(run, tmp_path, 3).read_text()
    code, out, err = run("simulate", "--dossiers", "3")
    assert code == 0
    assert out == expected
    assert err.startswith("simulate: ") and "-> stdout" in err


def test_simulate_start_moves_the_first_arrival(run: Run, tmp_path: Path) -> None:
    """`--start` (local time without an offset) sets the day of the first arrival."""
    path = tmp_path / "out.jsonl"
    code, _, _ = run("simulate", "--dossiers", "2", "--start", "2026-03-02", "--output", str(path))
    first = json.loads(path.read_text().splitlines()[0])
    assert code == 0
    assert first["time"].startswith("2026-03-02T") and first["time"].endswith("+07:00")


def test_endless_simulation_without_pacing_is_refused(run: Run) -> None:
    """With no bound and no --compression the simulation would never end: exit 2, one line."""
    code, out, err = run("simulate")
    assert (code, out) == (2, "")
    assert "--compression" in one_line(err, "simulate")


def test_simulate_output_and_bootstrap_exclude_each_other(run: Run, no_broker: None) -> None:
    """--output and --bootstrap together are a usage error, found before connecting."""
    code, _, err = run("simulate", "--dossiers", "1", "--output", "-", "--bootstrap", "h:1")
    assert code == 2
    assert "not both" in one_line(err, "simulate")


def test_simulate_sends_to_kafka_with_bootstrap(
    run: Run, tmp_path: Path, recording: type[RecordingProducer]
) -> None:
    """With --bootstrap (and the same --start) the events that --output would write go to
    the producer instead."""
    expected = simulated_jsonl(run, tmp_path, 4).read_text().splitlines()
    code, out, err = run(
        "simulate", "--dossiers", "4", "--start", "2025-07-07", "--bootstrap", "h:1", "--topic", "t"
    )
    (producer,) = recording.instances
    assert (code, out) == (0, "")
    assert (producer.bootstrap, producer.topic) == ("h:1", "t")
    assert [dict(e) for e in producer.events] == [json.loads(line) for line in expected]
    assert "-> topic t at h:1" in err


def test_simulate_sent_to_a_live_worker_starts_now(
    run: Run, recording: type[RecordingProducer]
) -> None:
    """Sent to Kafka without --start, the simulation starts at the present (a live worker
    judges on stream time), with dossier ids of its own run."""
    before = datetime.now(UTC)
    code, _, _ = run("simulate", "--dossiers", "2", "--bootstrap", "h:1", "--topic", "t")
    (producer,) = recording.instances
    assert code == 0
    first = datetime.fromisoformat(str(producer.events[0]["time"]))
    assert before - timedelta(seconds=2) <= first <= before + timedelta(days=7)
    fixed = simulate(seed=1, start=first, dossiers=2)
    assert producer.events[0]["subject"] != next(iter(fixed))["subject"]


# -- publish -----------------------------------------------------------------------------


def broken_at_line_3(run: Run, tmp_path: Path) -> Path:
    lines = simulated_jsonl(run, tmp_path).read_text().splitlines(keepends=True)
    lines[2] = '{"specversion": "1.0", "id": "x"}\n'
    path = tmp_path / "broken.jsonl"
    path.write_text("".join(lines))
    return path


def test_publish_bad_jsonl_names_the_line_and_sends_nothing(
    run: Run, tmp_path: Path, no_broker: None
) -> None:
    """A JSONL with a broken line 3 exits 2 with one path:3 line before any broker is contacted."""
    path = broken_at_line_3(run, tmp_path)
    code, out, err = run("publish", str(path), "--bootstrap", "127.0.0.1:1")
    assert (code, out) == (2, "")
    assert f"{path}:3: " in one_line(err, "publish")
    assert "nothing sent" in err


def test_publish_without_check_reports_how_many_were_sent(
    run: Run, tmp_path: Path, recording: type[RecordingProducer]
) -> None:
    """With --no-check a broken line 3 stops publishing after lines 1–2 and says 2 were sent."""
    path = broken_at_line_3(run, tmp_path)
    expected = [json.loads(line)["id"] for line in path.read_text().splitlines()[:2]]
    code, _, err = run("publish", str(path), "--no-check")
    (producer,) = recording.instances
    assert code == 2
    assert f"{path}:3: " in one_line(err, "publish")
    assert "(2 events sent before the error)" in err
    assert [e.id for e in producer.events] == expected


def test_publish_sends_a_jsonl_file_in_order(
    run: Run, tmp_path: Path, recording: type[RecordingProducer]
) -> None:
    """A valid JSONL is sent whole, in file order, to the default local broker and topic."""
    path = simulated_jsonl(run, tmp_path)
    code, _, err = run("publish", str(path))
    (producer,) = recording.instances
    ids = [json.loads(line)["id"] for line in path.read_text().splitlines()]
    assert code == 0
    assert (producer.bootstrap, producer.topic) == ("127.0.0.1:9092", "dossier-events")
    assert [e.id for e in producer.events] == ids
    assert f"publish: {len(ids)} events sent to topic dossier-events" in err


def xes_event(unit: str, day: int) -> str:
    return (
        f'<event><string key="org:group" value="{unit}"/>'
        f'<date key="time:timestamp" value="2025-07-{day:02d}T08:00:00+07:00"/></event>\n'
    )


def xes_trace(case: str, *events: str) -> str:
    return f'<trace><string key="concept:name" value="{case}"/>\n{"".join(events)}</trace>\n'


XES = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<log xes.version="1.0" xmlns="http://www.xes-standard.org/">\n'
    + xes_trace("A", xes_event("U1", 7), xes_event("U2", 9))
    + xes_trace("B", xes_event("U1", 8), xes_event("U1", 10))
    + "</log>\n"
)


def test_publish_sorts_a_case_grouped_log_by_time(
    run: Run, tmp_path: Path, recording: type[RecordingProducer]
) -> None:
    """An XES log's events are sent in time order across cases, each dossier's in its own order."""
    path = tmp_path / "log.xes"
    path.write_text(XES)
    code, _, _ = run("publish", str(path), "--officer-attr", "none")
    (producer,) = recording.instances
    sent = producer.events
    assert code == 0
    assert [e.time for e in sent] == sorted(e.time for e in sent)
    # A: received 7th, transferred and completed 9th; B: received 8th, progress and done 10th.
    assert [e.subject for e in sent] == ["A", "B", "A", "A", "B", "B"]
    assert [e.id for e in sent if e.subject == "A"] == ["A#0r", "A#1t", "A#2c"]


def test_publish_of_a_file_that_is_not_there_is_one_line(run: Run, no_broker: None) -> None:
    """A missing file exits 2 with one line naming it."""
    code, _, err = run("publish", "/nonexistent/log.jsonl")
    assert code == 2
    assert "/nonexistent/log.jsonl" in one_line(err, "publish")


def test_publish_of_an_unknown_extension_asks_for_format(
    run: Run, tmp_path: Path, no_broker: None
) -> None:
    """A file whose format cannot be told from its name exits 2 pointing at --format."""
    path = tmp_path / "log.txt"
    path.write_text("")
    code, _, err = run("publish", str(path))
    assert code == 2
    assert "--format" in one_line(err, "publish")


def test_publish_to_a_silent_bootstrap_is_one_line(run: Run, tmp_path: Path) -> None:
    """A bootstrap address where nothing answers exits 1 with one line naming it."""
    path = simulated_jsonl(run, tmp_path, 1)
    code, _, err = run("publish", str(path), "--bootstrap", "127.0.0.1:1", "--timeout", "0.5")
    assert code == 1
    assert "no Kafka broker answers at 127.0.0.1:1" in one_line(err, "publish")


# -- kafka -------------------------------------------------------------------------------


def test_kafka_without_the_script_is_a_clear_error(
    run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without deploy/kafka/kafkactl.sh (an installed wheel) the command says so in one line."""
    missing = tmp_path / "deploy" / "kafka" / "kafkactl.sh"
    monkeypatch.setattr(commands, "KAFKACTL", missing)
    code, _, err = run("kafka", "status")
    assert code == 1
    assert str(missing) in one_line(err, "kafka")
    assert "source checkout" in err


def test_kafka_passes_the_action_and_the_exit_code_through(
    run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The action reaches kafkactl.sh as its argument and its exit status is the command's."""
    script = tmp_path / "kafkactl.sh"
    record = tmp_path / "called"
    script.write_text(f'echo "$1" > {record}\nexit 3\n')
    monkeypatch.setattr(commands, "KAFKACTL", script)
    code, _, _ = run("kafka", "topics")
    assert code == 3
    assert record.read_text() == "topics\n"


def test_kafka_script_path_points_into_the_repository() -> None:
    """In a source checkout the default script path is the repository's deploy/kafka/kafkactl.sh."""
    assert commands.KAFKACTL.is_file()
    assert commands.KAFKACTL.parts[-3:] == ("deploy", "kafka", "kafkactl.sh")


# -- publish --format <source> ---------------------------------------------------------------

PORTAL = Path(__file__).resolve().parents[1] / "fixtures" / "adapters" / "dvcqg.jsonl"


def portal_with_bad_line(tmp_path: Path) -> Path:
    lines = PORTAL.read_text().splitlines()
    bad = lines[0].replace('"TrangThaiHoSo":"2"', '"TrangThaiHoSo":"12"')
    path = tmp_path / "portal.jsonl"
    path.write_text("\n".join([lines[0], lines[1], bad, *lines[2:]]) + "\n")
    return path


def test_publish_of_a_sources_payloads_sends_their_events_in_line_order(
    run: Run, recording: type[RecordingProducer]
) -> None:
    """--format dvcqg sends every body's events in line order, re-sent ones included
    (the worker drops those as redeliveries)."""
    code, _, err = run("publish", str(PORTAL), "--format", "dvcqg")
    (producer,) = recording.instances
    assert code == 0
    assert len(producer.events) == 8 and len({e.id for e in producer.events}) == 4
    assert {e.source for e in producer.events} == {"dvcqg"}
    assert "publish: 8 events sent" in err


def test_publish_of_a_bad_payload_line_names_it_and_sends_nothing(
    run: Run, tmp_path: Path, no_broker: None
) -> None:
    """An unknown status code on line 3 exits 2 with one path:3 line naming the value,
    before any broker is contacted."""
    path = portal_with_bad_line(tmp_path)
    code, _, err = run("publish", str(path), "--format", "dvcqg")
    assert code == 2
    assert f"{path}:3: unknown_code" in one_line(err, "publish")
    assert "'12'" in err and "nothing sent" in err


def test_publish_skip_invalid_leaves_the_bad_line_out_and_says_so(
    run: Run, tmp_path: Path, recording: type[RecordingProducer]
) -> None:
    """With --skip-invalid the bad line is skipped and counted; the rest is sent."""
    path = portal_with_bad_line(tmp_path)
    code, _, err = run("publish", str(path), "--format", "dvcqg", "--skip-invalid")
    (producer,) = recording.instances
    assert code == 0 and len(producer.events) == 8
    assert "1 invalid line skipped" in err
