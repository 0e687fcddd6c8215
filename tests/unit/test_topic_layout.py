"""The topic layout check: which existing partition counts a worker can run with."""

from __future__ import annotations

from streams.worker.settings import WorkerSettings
from streams.worker.topics import layout_problem, worker_topics

S = WorkerSettings(partitions=4)
EVENTS, DLQ, ALERTS = S.events_topic, S.dlq_topic, S.alerts_topic


def test_nothing_existing_yet_is_fine() -> None:
    """A fresh broker has no layout to object to."""
    assert layout_problem(worker_topics(S), {}) is None


def test_a_dead_letter_topic_with_more_partitions_is_fine() -> None:
    """Dead letters of events partition p go to partition p: more DLQ partitions do no harm."""
    assert layout_problem(worker_topics(S), {EVENTS: 4, DLQ: 8}) is None


def test_a_dead_letter_topic_with_fewer_partitions_is_refused() -> None:
    """A DLQ with fewer partitions than the events would have no partition for some dead
    letters: refused, naming the topic and what to do."""
    problem = layout_problem(worker_topics(S), {EVENTS: 4, DLQ: 2})
    assert problem is not None and DLQ in problem and "add partitions" in problem


def test_the_dead_letter_topic_is_compared_with_the_flag_when_events_do_not_exist() -> None:
    """Before the events topic exists, --partitions is what the DLQ must hold."""
    assert layout_problem(worker_topics(S), {DLQ: 3}) is not None
    assert layout_problem(worker_topics(S), {DLQ: 4}) is None


def test_the_alerts_topic_may_have_any_partition_count() -> None:
    """Alerts are only written, keyed by dossier: their partition count is free."""
    assert layout_problem(worker_topics(S), {EVENTS: 4, ALERTS: 1}) is None
