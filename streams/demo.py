"""`dossierwatch demo`: the embedded default — no broker, the simulator feeding the core
in-process, a live board in the terminal and Prometheus metrics on localhost.

Stream time, as everywhere (DESIGN principle 2): events are released on a compressed
timeline (`producers.pacing`) and read on the same stream clocks as the live worker's
(streams/core/clock.py), running at the compression rate, so a dossier that hears
nothing still breaches on time.  The clock moves forward only while pacing waits for the
next event: that event lies ahead of the clock, so nothing fires ahead of an event that
would have prevented it, and a run gives the alerts a replay of the same events gives.
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, TextIO

from producers.pacing import paced
from streams.cliargs import count, port, positive
from streams.core.alerts import Alert
from streams.core.boundary import Reject, take_event
from streams.core.calendar import to_instant
from streams.core.clock import SourceClocks
from streams.core.engine import Engine
from streams.core.events import InvalidEvent, event_from_dict
from streams.core.policy import PolicyBook
from streams.dashboard.summary import unit_board
from streams.dashboard.terminal import Screen, summary_line, when
from streams.web.auth import AuthConfigError, Guard, new_token, wsgi_guard

if TYPE_CHECKING:
    from wsgiref.simple_server import WSGIServer

    from streams.metrics import PipelineMetrics

ICT = timezone(timedelta(hours=7))
DEFAULT_START = datetime(2025, 9, 8, 7, 30, tzinfo=ICT)
"""A Monday under Decree 118: a fixed start keeps `--seed` runs identical."""
DEFAULT_PER_DAY = 300.0
DEFAULT_COMPRESSION = 43200.0  # a working month (30 calendar days) in about a minute
DEFAULT_METRICS_PORT = 9464
RECENT_ALERTS = 200


class _Stop(Exception):
    """The --duration has run out (raised from inside the pacing wait)."""


class DemoRun:
    """Feeds paced simulator events to an engine and keeps the figures the screen shows.

    `clock` and `sleep` are injected so tests run the loop on a fake clock."""

    def __init__(
        self,
        engine: Engine,
        *,
        compression: float,
        refresh: float = 1.0,
        duration: float | None = None,
        metrics: PipelineMetrics | None = None,
        lock: threading.Lock | None = None,
        on_refresh: Callable[[DemoRun], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        step: float = 0.05,
    ) -> None:
        self.engine = engine
        self.compression = compression
        self.refresh = refresh
        self.duration = duration
        self.metrics = metrics
        self.lock = lock or threading.Lock()
        self.on_refresh = on_refresh
        self.clock = clock
        self.sleep = sleep
        self.step = step  # longest real sleep: how often the clock and the screen move
        self.recent: deque[Alert] = deque(maxlen=RECENT_ALERTS)
        self.fired: Counter[tuple[str, str]] = Counter()
        self.resolved = 0
        self.invalid = 0
        self.started = clock()  # reset by run(); set here for a Ctrl-C before it starts
        self.first_event: int | None = None
        # Stream time at the compression rate; nothing to settle: pacing releases every
        # event exactly when its time comes, in order.
        self.clocks = SourceClocks(rate=compression, settle=0)
        if metrics is not None:
            engine.observer = metrics
        self._deadline: float | None = None
        self._next_refresh = 0.0

    @property
    def now(self) -> int | None:
        """The simulated instant the engine has reached (what the screen and gauges show)."""
        return self.engine.now

    @property
    def alerts_fired(self) -> int:
        return sum(self.fired.values())

    def run(self, events: Iterable[Mapping[str, object]]) -> str:
        """Consume `events` in time order; 'finished' when they end, 'duration' on time-out."""
        self.started = self._next_refresh = self.clock()
        if self.duration is not None:
            self._deadline = self.started + self.duration
        try:
            for raw in paced(
                events, compression=self.compression, clock=self.clock, sleep=self._wait
            ):
                self._take(raw)
                self._housekeeping()
        except _Stop:
            return "duration"
        return "finished"

    def _take(self, raw: Mapping[str, object]) -> None:
        engine = self.engine
        try:
            event = event_from_dict(dict(raw))
        except InvalidEvent as err:
            self._invalid(err.reason)
            return
        t = to_instant(event.time)
        with self.lock:
            if self.first_event is None:
                self.first_event = t
            self.clocks.read(event.source, t, self.clock())
            self._judge()
            alerts = take_event(engine, event)
            if isinstance(alerts, Reject):
                self._invalid(alerts.reason)
                return
            self._record(alerts)

    def _invalid(self, reason: str) -> None:
        self.invalid += 1
        if self.metrics is not None:
            self.metrics.rejected(reason)

    def _judge(self) -> None:
        """Bring every source's dossiers up to its stream clock (the lock held)."""
        wall = self.clock()
        for lane in sorted(self.engine.lanes):
            judge = self.clocks.judge(self.engine.source_names[lane[1]], wall)
            if judge is not None:
                self._record(self.engine.advance(judge, [lane]))
                if self.engine.now is None or judge > self.engine.now:
                    self.engine.now = judge

    def _record(self, alerts: list[Alert]) -> None:
        for a in alerts:
            if a.status == "firing":
                self.fired[(a.rule, a.level)] += 1
                self.recent.append(a)
            else:
                self.resolved += 1

    def _wait(self, seconds: float) -> None:
        """Pacing holds the next event back: let simulated time run up to the wall clock."""
        self.sleep(min(seconds, self.step))
        if self.first_event is not None:
            with self.lock:
                self._judge()
        self._housekeeping()

    def _housekeeping(self) -> None:
        wall = self.clock()
        if self._deadline is not None and wall >= self._deadline:
            raise _Stop
        if wall >= self._next_refresh:
            self._next_refresh = wall + self.refresh
            if self.on_refresh is not None and self.engine.now is not None:
                self.on_refresh(self)


def serve_metrics(
    port: int, engine: Engine, book: PolicyBook, lock: threading.Lock, guard: Guard
) -> tuple[PipelineMetrics, WSGIServer]:
    """/metrics on 127.0.0.1:`port`, behind the guard: the event counters and the
    open-dossier gauges, the gauges computed at the engine's simulated now so that they
    match the board."""
    from wsgiref.simple_server import make_server

    from prometheus_client import CollectorRegistry, make_wsgi_app
    from prometheus_client.core import Metric
    from prometheus_client.exposition import ThreadingWSGIServer, _SilentHandler
    from prometheus_client.registry import Collector

    from streams.metrics import OpenDossierCollector, PipelineMetrics

    class Locked(Collector):
        """Scrapes run on the server's thread: read the state only between events."""

        def __init__(self, inner: Collector) -> None:
            self.inner = inner

        def describe(self) -> Iterator[Metric]:
            return iter(())  # the inner collector's series change: nothing to check upfront

        def collect(self) -> Iterator[Metric]:
            with lock:
                families = list(self.inner.collect())
            return iter(families)

    registry = CollectorRegistry()
    metrics = PipelineMetrics(registry, book)
    registry.register(
        Locked(OpenDossierCollector(engine.open_dossiers, book, clock=lambda: engine.now or 0))
    )
    app = wsgi_guard(make_wsgi_app(registry), guard)
    server = make_server(
        "127.0.0.1", port, app, server_class=ThreadingWSGIServer, handler_class=_SilentHandler
    )
    threading.Thread(target=server.serve_forever, daemon=True, name="metrics").start()
    return metrics, server


def _guard(args: argparse.Namespace) -> tuple[Guard, str | None]:
    """The demo's guard: the token file if given, else one token made now (printed once)."""
    from streams.cli import CommandError

    if args.public_metrics:
        return Guard({}, public_metrics=True), None
    if args.token_file:
        try:
            return Guard.from_file(args.token_file), None
        except AuthConfigError as err:
            raise CommandError(str(err)) from None
    token = new_token()
    return Guard.single(token), token


def _start(text: str) -> datetime:
    """A date (arrivals from 07:30 local), an ISO date-time (local if no offset) or `now`."""
    if text == "now":
        return datetime.now(ICT).replace(microsecond=0)
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO date: {text!r}") from None
    if len(text) <= 10:
        value = value.replace(hour=7, minute=30)
    return value if value.tzinfo is not None else value.replace(tzinfo=ICT)


def register(sub: Any) -> None:
    """Add `dossierwatch demo` to the CLI's subcommands."""
    p = sub.add_parser(
        "demo",
        help="watch a simulated province live: no broker, a board in the terminal, /metrics",
        description="The simulator feeds the detection core in-process at a compressed pace;"
        " the terminal shows the per-unit board (Trong hạn / Sắp đến hạn / Quá hạn) and the"
        " latest alerts, and Prometheus metrics are served on localhost.  Ctrl-C stops it.",
    )
    p.add_argument("--seed", type=int, default=1, help="simulation seed (default: 1)")
    p.add_argument(
        "--dossiers",
        type=count,
        metavar="N",
        help="stop arrivals after N dossiers (default: unlimited)",
    )
    p.add_argument(
        "--per-day",
        type=positive,
        default=DEFAULT_PER_DAY,
        metavar="N",
        help=f"arrivals per working day (default: {DEFAULT_PER_DAY:.0f})",
    )
    p.add_argument(
        "--start",
        type=_start,
        default=DEFAULT_START,
        metavar="DATE",
        help="simulated start: a date, a date-time or 'now' (default: 2025-09-08, a Monday,"
        " so that a --seed gives the same run every time)",
    )
    p.add_argument(
        "--compression",
        type=positive,
        default=DEFAULT_COMPRESSION,
        metavar="X",
        help="simulated seconds per wall-clock second"
        f" (default: {DEFAULT_COMPRESSION:.0f}, a working month in about a minute)",
    )
    p.add_argument(
        "--duration",
        type=positive,
        metavar="SECONDS",
        help="stop after this much wall-clock time (default: until Ctrl-C)",
    )
    p.add_argument(
        "--metrics-port",
        type=port,
        default=DEFAULT_METRICS_PORT,
        metavar="PORT",
        help=f"serve /metrics on 127.0.0.1:PORT (default: {DEFAULT_METRICS_PORT}; 0: no metrics)",
    )
    p.add_argument(
        "--token-file",
        metavar="PATH",
        help="tokens (hashed) and roles for /metrics (`dossierwatch token new`); without one"
        " a token is made and its sign-in link printed once",
    )
    p.add_argument(
        "--public-metrics", action="store_true", help="serve /metrics without credentials"
    )
    p.add_argument(
        "--refresh",
        type=positive,
        default=1.0,
        metavar="SECONDS",
        help="redraw interval (default: 1.0)",
    )
    p.add_argument(
        "--no-screen",
        action="store_true",
        help="print a summary line per refresh instead of redrawing the screen",
    )
    p.set_defaults(func=cmd_demo)


def cmd_demo(args: argparse.Namespace, out: TextIO | None = None) -> int:
    # Imported here: the CLI imports this module to register the command.
    from producers.simulator import simulate
    from streams.cli import CommandError

    out = out or sys.stdout
    book = PolicyBook.builtin()
    engine = Engine(book)
    lock = threading.Lock()
    metrics: PipelineMetrics | None = None
    server: WSGIServer | None = None
    url = ""
    if args.metrics_port:
        guard, sign_in = _guard(args)
        try:
            metrics, server = serve_metrics(args.metrics_port, engine, book, lock, guard)
        except OSError as err:
            raise CommandError(
                f"cannot serve metrics on 127.0.0.1:{args.metrics_port}:"
                f" {err.strerror or err} (choose another --metrics-port, or 0 for none)",
                1,
            ) from None
        url = f"http://127.0.0.1:{args.metrics_port}/metrics"
        out.write(f"metrics: {url}\n")
        if sign_in:
            out.write(
                f"sign in (shown once): http://127.0.0.1:{args.metrics_port}/?token={sign_in}"
                f"  — or send 'Authorization: Bearer {sign_in}'\n"
            )
    out.write(
        f"simulating from {when(to_instant(args.start))}, seed {args.seed},"
        f" ~{args.per_day:,.0f} arrivals a working day, x{args.compression:,.0f};"
        " Ctrl-C to stop\n"
    )
    out.flush()
    screen = Screen.for_output(out, lines_only=args.no_screen)

    def draw(run: DemoRun) -> None:
        assert run.now is not None
        rows = unit_board(engine.states(), book, run.now)
        screen.update(rows, run.recent, run.now, _status(run, url))

    run = DemoRun(
        engine,
        compression=args.compression,
        refresh=args.refresh,
        duration=args.duration,
        metrics=metrics,
        lock=lock,
        on_refresh=draw,
    )
    events = simulate(
        seed=args.seed, start=args.start, dossiers=args.dossiers, per_working_day=args.per_day
    )
    try:
        reason = run.run(events)
    except KeyboardInterrupt:
        reason = "interrupted"
    finally:
        screen.close()
        if server is not None:
            server.shutdown()
            server.server_close()
    _final_summary(run, reason, book, out)
    return 0


def _status(run: DemoRun, url: str) -> list[str]:
    stats = run.engine.stats
    parts = [
        f"x{run.compression:,.0f}",
        f"events {stats.events:,}  dossiers {stats.dossiers:,}  alerts {run.alerts_fired:,}",
    ]
    return [*parts, url] if url else parts


def _final_summary(run: DemoRun, reason: str, book: PolicyBook, out: TextIO) -> None:
    stats = run.engine.stats
    why = {
        "duration": "time is up",
        "interrupted": "interrupted",
        "finished": "the simulation finished",
    }[reason]
    span = ""
    if run.first_event is not None and run.now is not None:
        span = f", simulated {when(run.first_event)} .. {when(run.now)}"
    out.write(
        f"\ndemo stopped ({why}) after {time.monotonic() - run.started:.1f} s{span}\n"
        f"{stats.events:,} events ({run.invalid:,} invalid, {stats.duplicates:,} duplicates),"
        f" {stats.dossiers:,} dossiers, {stats.completed:,} completed;"
        f" alerts: {run.alerts_fired:,} fired, {run.resolved:,} resolved\n"
    )
    by_rule: dict[str, list[tuple[str, int]]] = {}
    for (rule, level), n in sorted(run.fired.items()):
        by_rule.setdefault(rule, []).append((level, n))
    for rule, levels in sorted(by_rule.items(), key=lambda kv: -sum(n for _, n in kv[1])):
        detail = ", ".join(f"{lv} {n:,}" for lv, n in levels)
        out.write(f"  {rule:<20} {sum(n for _, n in levels):>7,}  ({detail})\n")
    if run.now is not None:
        out.write(summary_line(unit_board(run.engine.states(), book, run.now), run.now) + "\n")
    out.flush()
