"""The Decision 766 inputs and the per-unit alert counter of streams/metrics.py, on
hand-written dossiers with hand-checked outcomes."""

from __future__ import annotations

from helpers.story import Story, at
from prometheus_client import CollectorRegistry

from streams.contract.events import encode_event
from streams.core.engine import Engine
from streams.metrics import OpenDossierCollector, PipelineMetrics
from streams.policy import builtin_book
from streams.worker.core import TableStates, WorkerCore

NOW = at("2025-10-20T12:00")  # a Monday; "the last 30 days" start on 2025-09-20 at noon


def handled(stories: list[Story], now: int = NOW) -> dict[tuple[str, str, str], float]:
    engine = Engine(builtin_book())
    engine.drain(e for s in stories for e in s.events)
    collector = OpenDossierCollector(lambda: engine.dossiers.values(), engine.book, lambda: now)
    (family,) = [f for f in collector.collect() if f.name == "dossierwatch_handled_dossiers"]
    return {
        (s.labels["unit"], s.labels["stage"], s.labels["timeliness"]): s.value
        for s in family.samples
    }


def test_finished_dossiers_count_by_timeliness_within_the_period() -> None:
    """Dossiers finished in the last 30 days count early, on time or late; older ones,
    withdrawn ones and other units' do not."""
    got = handled(
        [
            Story("EARLY").received("2025-10-06T09:00", unit="A").complete("2025-10-07T10:00"),
            # 5 working days from Monday 6 October end at 24:00 on Monday the 13th.
            Story("ON-DAY").received("2025-10-06T09:00", unit="A").complete("2025-10-13T16:00"),
            Story("LATE").received("2025-10-06T09:00", unit="A").complete("2025-10-14T08:00"),
            Story("OLD").received("2025-09-01T09:00", unit="A").complete("2025-09-02T10:00"),
            Story("GONE").received("2025-10-06T09:00", unit="A").withdraw("2025-10-07T10:00"),
        ]
    )
    assert got[("A", "finished", "early")] == 1
    assert got[("A", "finished", "on_time")] == 1
    assert got[("A", "finished", "late")] == 1
    assert got[("A", "in_progress", "on_time")] == 0
    assert got[("A", "in_progress", "late")] == 0


def test_a_second_supplement_request_makes_a_dossier_late() -> None:
    """A dossier asked twice for documents counts late, finished in time or still open."""
    twice = (
        Story("TWICE-DONE")
        .received("2025-10-06T09:00", unit="A")
        .supplement("2025-10-06T10:00")
        .supplied("2025-10-07T09:00")
        .supplement("2025-10-07T10:00")
        .supplied("2025-10-08T09:00")
        .complete("2025-10-08T10:00")
    )
    open_twice = (
        Story("TWICE-OPEN")
        .received("2025-10-15T09:00", unit="A", time_limit="30wd")
        .supplement("2025-10-15T10:00")
        .supplied("2025-10-16T09:00")
        .supplement("2025-10-16T10:00")
        .supplied("2025-10-17T09:00")
    )
    got = handled([twice, open_twice])
    assert got[("A", "finished", "late")] == 1
    assert got[("A", "in_progress", "late")] == 1
    assert got[("A", "finished", "early")] == got[("A", "finished", "on_time")] == 0


def test_open_dossiers_within_time_count_on_time_and_waiting_stops_the_clock() -> None:
    """Open dossiers count on time until their due date passes; a dossier waiting for the
    citizen's documents is on time even past its original due date."""
    got = handled(
        [
            Story("WITHIN").received("2025-10-15T09:00", unit="B", time_limit="30wd"),
            Story("OVERDUE").received("2025-10-06T09:00", unit="B", time_limit="3wd"),
            Story("WAITING")
            .received("2025-10-06T09:00", unit="B", time_limit="3wd")
            .supplement("2025-10-06T10:00"),
        ]
    )
    assert got == {
        ("B", "finished", "early"): 0,
        ("B", "finished", "on_time"): 0,
        ("B", "finished", "late"): 0,
        ("B", "in_progress", "on_time"): 2,
        ("B", "in_progress", "late"): 1,
    }


def test_alerts_are_counted_per_unit_and_rule() -> None:
    """Each firing alert adds one to dossierwatch_unit_alerts_total of its unit and rule."""
    registry = CollectorRegistry()
    engine = Engine(builtin_book())
    core = WorkerCore(engine.book, TableStates({}), PipelineMetrics(registry, engine.book))
    bounce = (
        Story("PP-1")
        .received("2025-10-06T09:00", time_limit="30wd")
        .transfer("2025-10-06T10:00", "A")
        .transfer("2025-10-07T10:00", "B")
        .back("2025-10-08T10:00", "A")
    )
    for e in bounce.events:
        outcome = core.on_event(encode_event(e), e.subject.encode(), 0, NOW)
        assert outcome.reject is None
    value = registry.get_sample_value(
        "dossierwatch_unit_alerts_total", {"unit": "A", "rule": "ping_pong_unit"}
    )
    assert value == 1
