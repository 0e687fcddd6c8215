"""Rate-limited logging: stdlib records and structlog events, with a clock the tests move."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest
import structlog
from structlog.testing import capture_logs

from streams.infra import logs
from streams.infra.logs import RateLimiter, RateLimitFilter, RateLimitProcessor


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def limiter(clock: Clock) -> RateLimiter:
    return RateLimiter(10.0, clock=clock)


class Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


@pytest.fixture
def flood(limiter: RateLimiter) -> Iterator[tuple[logging.Logger, Lines]]:
    """A logger whose only handler keeps the messages it lets through."""
    logger = logging.getLogger("tests.logs.flood")
    handler = Lines()
    handler.addFilter(RateLimitFilter(limiter))
    logger.addHandler(handler)
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    yield logger, handler
    logger.removeHandler(handler)
    logger.propagate = True


@pytest.fixture
def restored_logging(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """configure_logging changes global state: put it back afterwards."""
    root = logging.getLogger()
    ours = logging.getLogger(logs.OUR_LOGGERS)
    handlers, level, our_level = list(root.handlers), root.level, ours.level
    monkeypatch.setattr(logs, "_active", None)
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    ours.setLevel(our_level)
    structlog.reset_defaults()


def test_identical_warnings_give_one_line_then_the_count(
    flood: tuple[logging.Logger, Lines], clock: Clock
) -> None:
    """10,000 identical warnings in one interval give one line; the next line after the
    interval says how many were held back."""
    logger, out = flood
    for i in range(10_000):
        logger.warning("cannot reach broker %s", f"node-{i % 3}")
    assert out.lines == ["cannot reach broker node-0"]

    clock.now += 10.0
    logger.warning("cannot reach broker %s", "node-1")
    assert out.lines[1] == "cannot reach broker node-1 (repeated 9999 times in the last 10s)"

    clock.now += 25.0
    logger.warning("cannot reach broker %s", "node-2")
    assert out.lines[2] == "cannot reach broker node-2"  # nothing was held back this time


def test_info_and_debug_are_never_suppressed(flood: tuple[logging.Logger, Lines]) -> None:
    """INFO and DEBUG lines all pass, however often they repeat."""
    logger, out = flood
    for _ in range(500):
        logger.info("partition assigned")
        logger.debug("fetch")
    assert len(out.lines) == 1000


def test_templates_levels_and_loggers_are_limited_separately(
    flood: tuple[logging.Logger, Lines], limiter: RateLimiter
) -> None:
    """Each (logger, level, template) has its own allowance."""
    logger, out = flood
    other = logging.getLogger("tests.logs.flood.other")  # propagates to the same handler
    for _ in range(100):
        logger.warning("connection lost")
        logger.warning("metadata request failed")
        logger.error("connection lost")
        other.warning("connection lost")
    assert sorted(out.lines) == sorted(
        ["connection lost", "metadata request failed", "connection lost", "connection lost"]
    )
    assert len(limiter) == 4


def test_a_record_through_two_handlers_is_counted_once(limiter: RateLimiter) -> None:
    """A record that reaches two handlers sharing the filter goes out on both, and the
    repeat count is not doubled."""
    logger = logging.getLogger("tests.logs.two")
    first, second = Lines(), Lines()
    shared = RateLimitFilter(limiter)
    for h in (first, second):
        h.addFilter(shared)
        logger.addHandler(h)
    logger.propagate = False
    try:
        logger.warning("disk slow")
        logger.warning("disk slow")
    finally:
        logger.removeHandler(first)
        logger.removeHandler(second)
        logger.propagate = True
    assert first.lines == second.lines == ["disk slow"]


def test_the_keys_are_bounded(clock: Clock) -> None:
    """Templates that embed ids cannot grow the limiter without bound."""
    small = RateLimiter(10.0, max_keys=100, clock=clock)
    for i in range(1000):
        assert small.admit(("x", logging.WARNING, f"dossier {i} failed")) is not None
    assert len(small) == 100


def test_structlog_processor_limits_events_the_same_way(limiter: RateLimiter, clock: Clock) -> None:
    """structlog warnings are dropped past the first in an interval; the next one carries
    repeated=N; info events all pass, whatever their own `level` field says."""
    log = structlog.get_logger("tests.logs")
    with capture_logs(processors=[RateLimitProcessor(limiter)]) as captured:
        for _ in range(10_000):
            log.warning("broker unreachable", host="127.0.0.1:9092")
        clock.now += 12.0
        log.warning("broker unreachable", host="127.0.0.1:9092")
        for _ in range(50):
            log.info("alert", level="critical")  # an alert's level is not the line's
        log.error("broker unreachable")  # another level: its own allowance
    warnings = [e for e in captured if e["log_level"] == "warning"]
    assert len(warnings) == 2
    assert "repeated" not in warnings[0]
    assert warnings[1]["repeated"] == 9_999
    assert sum(e["event"] == "alert" for e in captured) == 50
    assert [e["event"] for e in captured if e["log_level"] == "error"] == ["broker unreachable"]


def test_configured_logging_renders_both_kinds_through_one_limited_handler(
    restored_logging: None,
) -> None:
    """After configure_logging, a handler installed later (as mode's Worker does) and
    adopted renders our events and library records as JSON lines, both rate-limited."""
    logs.configure_logging("info", json=True)
    root = logging.getLogger()
    root.handlers.clear()  # what mode's setup_logging does before adding its own
    stream = io.StringIO()
    root.addHandler(logging.StreamHandler(stream))
    root.setLevel(logging.INFO)
    logs.adopt_root_handlers()

    ours = structlog.get_logger("dossierwatch.test")
    library = logging.getLogger("aiokafka.test")
    for _ in range(1000):
        ours.warning("tick send failed", partition=3)
        library.error("Unable connect to node with id %s: %s", 1, "refused")
    ours.info("alert", alert_id="a-1", level="critical")

    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [(e["logger"], e["level"], e["event"]) for e in lines] == [
        ("dossierwatch.test", "warning", "tick send failed"),
        ("aiokafka.test", "error", "Unable connect to node with id 1: refused"),
        ("dossierwatch.test", "info", "alert"),
    ]
    assert all("timestamp" in e for e in lines)


def test_the_worker_keeps_the_format_and_the_limit_on_modes_handlers(
    restored_logging: None,
) -> None:
    """When mode's Worker replaces the root handlers at start-up, the DossierWatch worker
    gives its handlers our formatter and rate limit back."""
    import faust

    from streams.worker.runner import DossierWatchWorker

    setup = logs.configure_logging("info", json=True)
    worker = DossierWatchWorker(faust.App("logs-test"), loglevel="info", redirect_stdouts=False)
    worker.spinner = None
    worker._setup_logging()  # what mode runs when the worker starts

    handlers = logging.getLogger().handlers
    assert handlers and setup.handler not in handlers  # mode's own, not ours
    assert all(h.formatter is setup.formatter for h in handlers)
    assert all(setup.filter in h.filters for h in handlers)
