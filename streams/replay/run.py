"""`dossierwatch replay`: run the detection core over a log file at full speed.

Stream time drives the timers, on the same clocks as the live worker
(streams/core/clock.py) with the file never "caught up" until its end: each source's
clock follows its events.  JSONL is a time-ordered stream, so the timers of a source's
dossiers are brought up to its clock as its events come; XES and CSV are grouped by case,
so each dossier is replayed whole — its own timers catch up before each of its events.
At the end every dossier still open is judged as of one audit instant (`until`: by
default the file's last event time, stated in the report).  Both give the same alerts
(see streams/core/machine).

A source adapter's format (`dvcqg`, `opencps`, …: streams/eventlogs/adapters) is a
stream too: each line a request body, mapped to its events, and each event sent across
the same boundary as a CloudEvents line; a body that cannot be mapped is a bad line.
"""

from __future__ import annotations

import re
import sys
import time
import zlib
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import tzinfo
from typing import IO, Any, TypeVar

from streams.contract.alerts import Alert
from streams.contract.events import DossierEvent, encode_event
from streams.core.boundary import Reject, admitted, take_event
from streams.core.calendar import to_instant, to_iso
from streams.core.clock import SourceClocks
from streams.core.dossier import FINISHED, OPEN, Dossier
from streams.core.engine import Engine
from streams.core.policy import PolicyBook
from streams.eventlogs.adapters import ADAPTERS, InvalidPayload, adapted_lines
from streams.eventlogs.csvlog import read_csv_log
from streams.eventlogs.formats import FORMATS, guess_format
from streams.eventlogs.jsonl import read_lines
from streams.eventlogs.logs import LogFormatError, LogTrace, open_log
from streams.eventlogs.mapping import Mapping, trace_events, with_unit_attr
from streams.eventlogs.xes import read_xes


@dataclass
class Summary:
    alerts: Counter[tuple[str, str]] = field(default_factory=Counter)
    resolved: int = 0
    flagged: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    invalid: int = 0
    first: int | None = None
    last: int | None = None


class Replay:
    """Feeds events to an engine and collects alerts and figures on the way."""

    def __init__(
        self,
        engine: Engine,
        emit: Callable[[Alert], None],
        *,
        grace: Callable[[str], int] = lambda _: 0,
        skip_invalid: bool = False,
        path: str = "",
        before: int | None = None,
        keep: Callable[[Dossier], bool] | None = None,
    ) -> None:
        self.engine = engine
        self.emit = emit
        self.summary = Summary()
        self.log_events = 0  # records read from the file (a trace event may map to several)
        self.seconds = 0.0  # spent reading the file (`replay_file`)
        # A file is a backlog that is never caught up: the clocks follow event time only.
        self.clocks = SourceClocks(settle=0, grace=grace, held=True)
        self.skip_invalid = skip_invalid
        self.path = path
        # The log as it stood at `before`: later events are read (the log's span says
        # where it ends) but not applied.  A report of a past period needs the states
        # at its end, not at the log's.
        self.before = before
        # Which finished cases of a log grouped by case stay in the engine (by default
        # none: nothing can happen to them any more, and a large log would fill memory).
        self.keep = keep

    def _take(self, alerts: list[Alert]) -> None:
        s = self.summary
        for a in alerts:
            if a.status == "firing":
                s.alerts[(a.rule, a.level)] += 1
                s.flagged[a.rule].add(a.dossier)
            else:
                s.resolved += 1
            self.emit(a)

    def _seen(self, t: int) -> None:
        s = self.summary
        if s.first is None or t < s.first:
            s.first = t
        if s.last is None or t > s.last:
            s.last = t

    def _reject(self, r: Reject, line: int) -> None:
        if not self.skip_invalid:
            raise LogFormatError(f"{r.reason}: {r.message}", path=self.path, line=line)
        self.summary.invalid += 1

    def adapted(
        self, lines: Iterator[tuple[int, list[DossierEvent] | InvalidPayload]]
    ) -> Iterator[tuple[int, bytes]]:
        """A source's payloads as a stream of raw events, each tagged with its line; a
        payload that cannot be mapped stops the replay, or is counted once when skipped."""
        for number, got in lines:
            if isinstance(got, InvalidPayload):
                if not self.skip_invalid:
                    raise LogFormatError(str(got), path=self.path, line=number)
                self.summary.invalid += 1
                continue
            for event in got:
                yield number, encode_event(event)

    def stream(self, lines: Iterator[tuple[int, bytes]]) -> None:
        """A time-ordered stream of raw events: each through the core's boundary."""
        engine, clocks, bounds = self.engine, self.clocks, self.engine.book.bounds
        judged: dict[str, int] = {}
        for number, raw in lines:
            event = admitted(raw, None, bounds, keyed=False)
            if isinstance(event, Reject):
                self._reject(event, number)
                continue
            self.log_events += 1
            t = to_instant(event.time)
            self._seen(t)
            if self.before is not None and t >= self.before:
                continue
            source = event.source
            clocks.read(source, t, 0.0)
            judge = clocks.judge(source, 0.0)
            if judge is not None and judge > judged.get(source, judge - 1):
                judged[source] = judge
                self._take(engine.advance(judge, [engine.lane_of(event.subject, source)]))
            alerts = take_event(engine, event, t, bounds_checked=True)  # `admitted` checked
            if isinstance(alerts, Reject):
                self._reject(alerts, number)
                continue
            self._take(alerts)

    def traces(self, traces: Iterator[LogTrace], mapping: Mapping, path: str) -> None:
        """Whole cases one after another; a case finished by its last event is dropped."""
        engine = self.engine
        for trace in traces:
            self.log_events += len(trace.events)
            for e in trace_events(trace, mapping, path):
                t = to_instant(e.time)
                self._seen(t)
                if self.before is not None and t >= self.before:
                    continue
                alerts = take_event(engine, e, t)
                if isinstance(alerts, Reject):
                    self._reject(alerts, trace.line)
                    continue
                self._take(alerts)
            d = engine.dossiers.get(trace.case_id)
            if d is not None and d.status in FINISHED and not (self.keep and self.keep(d)):
                engine.forget(trace.case_id)

    def finish(self, until: int | None = None) -> int | None:
        """Judge every dossier still open as of `until` (default: the last event time);
        the instant used."""
        when = until if until is not None else self.summary.last
        if when is not None:
            self._take(self.engine.advance(when, sorted(self.engine.lanes)))
            self.engine.now = when
        return when


def report(
    replay: Replay, *, path: str, fmt: str, seconds: float, until: int | None, stated: bool
) -> dict[str, Any]:
    """The JSON report: stable keys that scripts can rely on."""
    s, engine = replay.summary, replay.engine
    stats = engine.stats
    by_rule: dict[str, dict[str, int]] = defaultdict(dict)
    for (rule, level), n in sorted(s.alerts.items()):
        by_rule[rule][level] = n
    open_now = [d for d in engine.open_dossiers() if d.status == OPEN]
    now = until or 0
    overdue = sum(1 for d in open_now if d.due is not None and d.due < now)
    handled = stats.completed + len(open_now)
    on_time_open = len(open_now) - overdue
    return {
        "file": path,
        "format": fmt,
        "events": replay.log_events + s.invalid,
        "log_events": replay.log_events,
        "dossier_events": stats.events,
        "invalid_events": s.invalid,
        "duplicates": stats.duplicates,
        "out_of_order": stats.out_of_order,
        "dossiers": stats.dossiers,
        "alerts": dict(by_rule),
        "alerts_total": sum(s.alerts.values()),
        "alerts_resolved": s.resolved,
        "dossiers_flagged": {rule: len(ids) for rule, ids in sorted(s.flagged.items())},
        "completed": stats.completed,
        "completed_on_time": stats.completed_on_time,
        "open_at_end": len(open_now),
        "overdue_at_end": overdue,
        # Decision 766: finished on time, or still in progress within time, over all handled.
        "on_time_rate": round((stats.completed_on_time + on_time_open) / handled, 4)
        if handled
        else None,
        "first_event": to_iso(s.first) if s.first is not None else None,
        "last_event": to_iso(s.last) if s.last is not None else None,
        # The audit instant open dossiers were judged at, and where it came from.
        "judged_at": to_iso(until) if until is not None else None,
        "judged_at_source": "--until" if stated else "last event",
        "policies": [p.name for p in engine.book.policies],
        "seconds": round(seconds, 3),
        "events_per_second": round(stats.events / seconds) if seconds > 0 else None,
    }


_XES_EVENT = re.compile(rb"<event[\s/>]")


def count_log_events(path: str, fmt: str) -> int:
    """The file's own events, counted in one cheap pass (what the progress bar's total
    means): lines of a JSON Lines file (a line is one event, or one request body of an
    adapter's format), `<event>` elements of an XES log, rows of a CSV after its header.
    A file that cannot be read counts what was read; the replay reports the error."""
    n = 0
    try:
        with open_log(path) as stream:
            if fmt == "xes":
                tail = b""
                while chunk := stream.read(1 << 20):
                    data = tail + chunk
                    n += len(_XES_EVENT.findall(data))
                    # A match is 7 bytes: one starting in the last 6 was not counted yet
                    # and is found again with the next chunk; none ends inside them.
                    tail = data[-6:]
            else:
                n = sum(1 for line in stream if line.strip())
                if fmt == "csv":
                    n = max(0, n - 1)
    except (OSError, EOFError, zlib.error):
        pass
    return n


class Progress:
    """A progress bar on stderr, only when stderr is a terminal: the file's own events
    done of its total, the percentage, the rate and the time left (rich.progress).  The
    count is of the log's events (a line, an XES event, a CSV row), never of the dossier
    events they map to, and never passes the total."""

    def __init__(self, stream: IO[str], path: str = "", fmt: str = "") -> None:
        self.enabled = stream.isatty()
        self.done = 0
        self.total = 0
        self._bar: Any = None
        self._shown = 0.0
        if not self.enabled:
            return
        try:
            self._bar, self._task = _rich_bar(stream)
        except ImportError:  # rich comes with the dev tools; without it, no bar
            self.enabled = False
            return
        self.total = count_log_events(path, fmt) if path else 0
        self._bar.update(self._task, total=self.total or None)

    def advance(self, events: int) -> None:
        """`events` more of the file's events were read (told to the bar ten times a
        second at most: a line costs a few microseconds of replay)."""
        if self._bar is None:
            return
        self.done += events
        if self.total:
            self.done = min(self.done, self.total)
        now = time.monotonic()
        if now - self._shown >= 0.1:
            self._shown = now
            self._bar.update(self._task, completed=self.done)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.update(self._task, completed=self.done)
            self._bar.stop()
            self._bar = None


def _rich_bar(stream: IO[str]) -> tuple[Any, Any]:
    """A started rich progress bar and its task.  rich is imported here, when a terminal
    is there to draw on, so a replay in a container or a pipe never needs it."""
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        ProgressColumn,
        Task,
        TaskProgressColumn,
        TextColumn,
        TimeRemainingColumn,
    )
    from rich.progress import Progress as RichProgress
    from rich.text import Text

    class Rate(ProgressColumn):
        """Events per second, in the file's own events."""

        def render(self, task: Task) -> Text:
            speed = task.finished_speed or task.speed
            return Text(f"{speed:,.0f} events/s" if speed else "– events/s", style="cyan")

    bar = RichProgress(
        TextColumn("replaying"),
        BarColumn(),
        TaskProgressColumn(),
        MofNCompleteColumn(),
        TextColumn("events"),
        Rate(),
        TimeRemainingColumn(),
        console=Console(file=stream),
        transient=True,
        refresh_per_second=5,
    )
    task = bar.add_task("replay", total=None)
    bar.start()
    return bar, task


def run_replay(
    path: str,
    *,
    fmt: str | None = None,
    mapping: Mapping | None = None,
    book: PolicyBook,
    emit: Callable[[Alert], None] = lambda a: None,
    skip_invalid: bool = False,
    progress: IO[str] | None = None,
    until: int | None = None,
    grace: Callable[[str], int] = lambda _: 0,
    timezone: tzinfo | None = None,
) -> dict[str, Any]:
    """Replay one file; return the report.  Raises LogFormatError on a bad file.

    `until`: the audit instant still-open dossiers are judged at (default: the file's
    last event time).  `timezone`: what a CSV timestamp without an offset is read in
    (None: such a timestamp is an error)."""
    fmt = fmt or guess_format(path)
    replay = replay_file(
        path,
        fmt=fmt,
        mapping=mapping,
        engine=Engine(book),
        emit=emit,
        skip_invalid=skip_invalid,
        progress=progress,
        grace=grace,
        timezone=timezone,
    )
    started = time.perf_counter()
    judged = replay.finish(until)
    return report(
        replay,
        path=path,
        fmt=fmt,
        seconds=replay.seconds + time.perf_counter() - started,
        until=judged,
        stated=until is not None,
    )


def replay_file(
    path: str,
    *,
    fmt: str | None = None,
    mapping: Mapping | None = None,
    engine: Engine,
    emit: Callable[[Alert], None] = lambda a: None,
    skip_invalid: bool = False,
    progress: IO[str] | None = None,
    grace: Callable[[str], int] = lambda _: 0,
    timezone: tzinfo | None = None,
    before: int | None = None,
    keep: Callable[[Dossier], bool] | None = None,
) -> Replay:
    """Read one file through `engine`; the replay, its open dossiers not judged yet
    (`Replay.finish`).  `before`, `keep`: see `Replay`.  Raises LogFormatError."""
    fmt = fmt or guess_format(path)
    if fmt not in FORMATS:
        raise LogFormatError(f"unknown format {fmt!r} (known: {', '.join(FORMATS)})", path=path)
    replay = Replay(
        engine, emit, grace=grace, skip_invalid=skip_invalid, path=path, before=before, keep=keep
    )
    bar = Progress(progress or sys.stderr, path, fmt)
    started = time.perf_counter()  # after the bar's counting pass, which is no replay
    try:
        mapping = mapping or Mapping()
        if fmt == "jsonl":
            replay.stream(_lines(read_lines(path), bar))
        elif fmt in ADAPTERS:
            replay.stream(replay.adapted(_lines(adapted_lines(path, fmt), bar)))
        else:
            named = (mapping.unit_attr,) if mapping.unit_attr_named else ()
            traces = (
                read_xes(path)
                if fmt == "xes"
                else read_csv_log(path, timezone=timezone, required=named)
            )
            if mapping.unit_attr_named:
                traces = with_unit_attr(traces, mapping, path)
            replay.traces(_cases(traces, bar), mapping, path)
    finally:
        bar.close()
    replay.seconds = time.perf_counter() - started
    return replay


_T = TypeVar("_T")


def _lines(lines: Iterator[_T], bar: Progress) -> Iterator[_T]:
    """A stream's lines, each one of the file's events on the bar once replayed."""
    for line in lines:
        yield line
        bar.advance(1)


def _cases(traces: Iterator[LogTrace], bar: Progress) -> Iterator[LogTrace]:
    """A log's cases, each counting its own events on the bar once replayed."""
    for trace in traces:
        yield trace
        bar.advance(len(trace.events))
