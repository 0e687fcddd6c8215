"""`dossierwatch demo`: the embedded default — the simulator feeding the core in-process,
a live board in the terminal, /metrics on localhost (the run itself: streams/demo.py)."""

from __future__ import annotations

import argparse
import sys
import threading
import time
from datetime import datetime
from typing import TYPE_CHECKING, Any, TextIO

from streams.cli.common import (
    CommandError,
    add_catalog_option,
    count,
    policy_book_with_catalog,
    port,
    positive,
)
from streams.core.calendar import to_instant
from streams.core.engine import Engine
from streams.core.policy import PolicyBook
from streams.dashboard.summary import unit_board
from streams.dashboard.terminal import Screen, summary_line, when
from streams.demo import (
    DEFAULT_COMPRESSION,
    DEFAULT_METRICS_PORT,
    DEFAULT_PER_DAY,
    DEFAULT_START,
    ICT,
    DemoRun,
    serve_metrics,
)
from streams.web.auth import AuthConfigError, Guard, new_token

if TYPE_CHECKING:
    from wsgiref.simple_server import WSGIServer

    from streams.catalog import Catalog
    from streams.metrics import PipelineMetrics


def _guard(args: argparse.Namespace) -> tuple[Guard, str | None]:
    """The demo's guard: the token file if given, else one token made now (printed once)."""

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
    add_catalog_option(p)
    p.set_defaults(func=cmd_demo)


def cmd_demo(args: argparse.Namespace, out: TextIO | None = None) -> int:
    # Imported here: the CLI imports this module to register the command.
    from producers.simulator import simulate

    out = out or sys.stdout
    book, catalog = policy_book_with_catalog(None, getattr(args, "catalog", None))
    names = catalog.unit_label if catalog is not None else None
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
    screen = Screen.for_output(out, lines_only=args.no_screen, names=names)

    def draw(run: DemoRun) -> None:
        if run.now is None:  # nothing read yet: nothing to draw
            return
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
    if catalog is not None:
        _unknown_codes(catalog, out)
    return 0


def _unknown_codes(catalog: Catalog, out: TextIO) -> None:
    """The codes the board showed that the catalogue does not name (to add to it)."""
    for kind, n in catalog.unknown_counts().items():
        if n:
            codes = catalog.unknown_codes(kind)
            shown = ", ".join(codes[:10]) + (", …" if n > 10 else "")
            out.write(f"catalogue: {n:,} {kind} codes without a name ({shown})\n")
    out.flush()


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
