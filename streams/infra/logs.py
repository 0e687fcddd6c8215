"""Logging set-up: JSON lines for machines, readable lines for people at a terminal.

structlog events go through stdlib logging, so our lines and the libraries' (Faust,
mode, aiokafka, kafka-python) meet in the same root handler and come out in one format.
Repeated warnings are rate-limited: a broker outage makes aiokafka and Faust log the same
connection error thousands of times a second, which buries everything else.  At most one
line per (logger, level, message template) goes out per interval; the next one says how
many were held back in between.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, NamedTuple

import structlog
from structlog.stdlib import ProcessorFormatter
from structlog.types import EventDict, Processor

DEFAULT_INTERVAL = 10.0
"""Seconds between two lines of the same (logger, level, template)."""

DEFAULT_MAX_KEYS = 4096
"""Distinct (logger, level, template) keys remembered; the least recently seen go first."""

OUR_LOGGERS = "dossierwatch"
"""Parent of the structlog loggers' stdlib names (dossierwatch.worker, .bridge, .zalo)."""

_METHOD_LEVELS = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "msg": logging.INFO,
    "warning": logging.WARNING,
    "warn": logging.WARNING,
    "error": logging.ERROR,
    "exception": logging.ERROR,
    "critical": logging.CRITICAL,
    "fatal": logging.CRITICAL,
}


class Admission(NamedTuple):
    """A line let through: how many repeats were held back since the previous one, and
    over how many seconds."""

    repeated: int
    span: float


@dataclass
class _Slot:
    last: float  # when a line of this key last went out
    held: int = 0  # repeats held back since then


class RateLimiter:
    """At most one line per key per `interval` seconds, counting the ones held back.

    Thread-safe (libraries log from their own threads).  `clock` is injectable for tests."""

    def __init__(
        self,
        interval: float = DEFAULT_INTERVAL,
        *,
        max_keys: int = DEFAULT_MAX_KEYS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.interval = interval
        self.max_keys = max_keys
        self._clock = clock
        self._slots: OrderedDict[Hashable, _Slot] = OrderedDict()
        self._lock = threading.Lock()

    def admit(self, key: Hashable) -> Admission | None:
        """Let a line of `key` out (with the count held back before it), or None."""
        now = self._clock()
        with self._lock:
            slot = self._slots.get(key)
            if slot is None:
                self._remember(key, _Slot(now))
                return Admission(0, 0.0)
            self._slots.move_to_end(key)
            if now - slot.last < self.interval:
                slot.held += 1
                return None
            admitted = Admission(slot.held, now - slot.last)
            slot.last, slot.held = now, 0
            return admitted

    def _remember(self, key: Hashable, slot: _Slot) -> None:
        self._slots[key] = slot
        # Bounded: messages with ids baked into the template must not grow it forever.
        while len(self._slots) > self.max_keys:
            self._slots.popitem(last=False)

    def __len__(self) -> int:
        return len(self._slots)


_VERDICT = "_dossierwatch_rate_verdict"
"""Set on a record once decided: one record may pass through several handlers."""


class RateLimitFilter(logging.Filter):
    """The limiter for stdlib records, on handlers (a handler's filters see the records
    of every logger that propagates to it, a logger's only its own).

    Key: logger name, level, and `record.msg` before %-formatting, so "cannot connect
    to %s" with varying arguments is one key.  Below `min_level`, everything passes."""

    def __init__(self, limiter: RateLimiter, *, min_level: int = logging.WARNING) -> None:
        super().__init__()
        self.limiter = limiter
        self.min_level = min_level

    def filter(self, record: logging.LogRecord) -> bool:
        verdict = getattr(record, _VERDICT, None)
        if verdict is None:
            verdict = self._decide(record)
            setattr(record, _VERDICT, verdict)
        return bool(verdict)

    def _decide(self, record: logging.LogRecord) -> bool:
        # A dict is a structlog event on its way to ProcessorFormatter: the processor
        # limited it already.
        if record.levelno < self.min_level or isinstance(record.msg, dict):
            return True
        admitted = self.limiter.admit((record.name, record.levelno, str(record.msg)))
        if admitted is None:
            return False
        if admitted.repeated:
            record.msg = (
                f"{record.msg} (repeated {admitted.repeated} times"
                f" in the last {admitted.span:.0f}s)"
            )
        return True


class RateLimitProcessor:
    """The limiter for structlog events: key logger name, level (the method called, so an
    event's own `level` field plays no part) and the event string.  Held-back events are
    dropped; the next one carries `repeated=N`."""

    def __init__(self, limiter: RateLimiter, *, min_level: int = logging.WARNING) -> None:
        self.limiter = limiter
        self.min_level = min_level

    def __call__(self, logger: Any, method_name: str, event_dict: EventDict) -> EventDict:
        level = _METHOD_LEVELS.get(method_name, logging.INFO)
        if level < self.min_level:
            return event_dict
        name = getattr(logger, "name", None) or event_dict.get("logger", "")
        admitted = self.limiter.admit((name, level, str(event_dict.get("event"))))
        if admitted is None:
            raise structlog.DropEvent
        if admitted.repeated:
            event_dict["repeated"] = admitted.repeated
        return event_dict


@dataclass(frozen=True)
class LogSetup:
    """What `configure_logging` built, for the handlers installed after it (mode's)."""

    formatter: logging.Formatter
    filter: RateLimitFilter
    handler: logging.Handler


_active: LogSetup | None = None


def configure_logging(
    level: str = "info", *, json: bool | None = None, interval: float = DEFAULT_INTERVAL
) -> LogSetup:
    """structlog through stdlib logging, one root handler on stderr for every line.

    Our loggers log at `level`; the libraries' records at WARNING and above (a Faust
    worker lowers that when mode sets up its own handler: see `adopt_root_handlers`)."""
    global _active
    as_json = not sys.stderr.isatty() if json is None else json
    number = logging.getLevelName(level.upper())
    limiter = RateLimiter(interval)
    structlog.configure(
        processors=_event_chain(RateLimitProcessor(limiter)),
        wrapper_class=structlog.make_filtering_bound_logger(number),
        logger_factory=structlog.stdlib.LoggerFactory(),
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(sys.stderr)
    setup = LogSetup(_formatter(as_json), RateLimitFilter(limiter), handler)
    handler.setFormatter(setup.formatter)
    handler.addFilter(setup.filter)
    root = logging.getLogger()
    if _active is not None:
        root.removeHandler(_active.handler)  # configured again: replace, never duplicate
    root.addHandler(handler)
    root.setLevel(max(number, logging.WARNING))
    logging.getLogger(OUR_LOGGERS).setLevel(number)
    _active = setup
    return setup


def adopt_root_handlers(setup: LogSetup | None = None) -> None:
    """Give every handler on the root logger our format and rate limit.

    mode's Worker replaces the root handlers with its own when it starts: this brings its
    lines back to the common format and under the limiter."""
    setup = setup or _active or configure_logging()
    for handler in logging.getLogger().handlers:
        handler.setFormatter(setup.formatter)
        if setup.filter not in handler.filters:
            handler.addFilter(setup.filter)


@contextmanager
def quieted(name: str, level: int = logging.CRITICAL) -> Iterator[None]:
    """Hold back a library logger's records below `level` for a while: for a step whose
    failure the caller reports itself, in one line.  Not for concurrent use."""
    logger = logging.getLogger(name)
    before = logger.level
    logger.setLevel(level)
    try:
        yield
    finally:
        logger.setLevel(before)


def _event_chain(rate_limit: Processor) -> list[Processor]:
    return [
        # First: a held-back event costs nothing more.
        rate_limit,
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.StackInfoRenderer(),
        ProcessorFormatter.wrap_for_formatter,
    ]


def _formatter(as_json: bool) -> ProcessorFormatter:
    renderer: Processor = (
        structlog.processors.JSONRenderer() if as_json else structlog.dev.ConsoleRenderer()
    )
    # The console renderer prints exceptions itself, readably; JSON needs them as text.
    exceptions: list[Processor] = [structlog.processors.format_exc_info] if as_json else []
    return ProcessorFormatter(
        # Records from stdlib loggers get what our own events got on their way.
        foreign_pre_chain=[
            structlog.processors.add_log_level,
            structlog.stdlib.add_logger_name,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
        ],
        processors=[ProcessorFormatter.remove_processors_meta, *exceptions, renderer],
    )
