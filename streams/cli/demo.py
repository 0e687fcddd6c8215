"""`dossierwatch demo`: the embedded default — the simulator feeding the core in-process,
a live board in the terminal, the wallboard and dossier pages and /metrics on localhost
(the run itself: streams/demo.py; its web pages: streams/web/demo_server.py)."""

from __future__ import annotations

import argparse
import sys
import threading
import time
from datetime import datetime
from typing import IO, TYPE_CHECKING, Any, TextIO

from streams.cli.common import (
    CommandError,
    add_catalog_option,
    count,
    policy_book_with_catalog,
    port,
    positive,
)
from streams.contract.alerts import Alert, encode_alert, with_url
from streams.core.calendar import to_instant
from streams.core.engine import Engine
from streams.core.policy import PolicyBook
from streams.dashboard.summary import unit_board
from streams.dashboard.terminal import Screen, summary_line, when
from streams.demo import (
    DEFAULT_COMPRESSION,
    DEFAULT_METRICS_PORT,
    DEFAULT_PER_DAY,
    DEFAULT_STALE_AFTER,
    DEFAULT_START,
    DEFAULT_WEB_PORT,
    ICT,
    DemoRun,
    serve_metrics,
    serve_web,
)
from streams.web.auth import AuthConfigError, Guard, new_token

if TYPE_CHECKING:
    from wsgiref.simple_server import WSGIServer

    from streams.catalog import Catalog
    from streams.metrics import PipelineMetrics


def _guard(args: argparse.Namespace) -> tuple[Guard, str | None]:
    """The demo's guard (/metrics and the web pages): the token file if given, else one
    centre token made now, its sign-in link printed once.  --public-metrics opens /metrics
    only: the pages still ask for the token."""
    public = bool(args.public_metrics)
    if args.token_file:
        try:
            return Guard.from_file(args.token_file, public_metrics=public), None
        except AuthConfigError as err:
            raise CommandError(str(err)) from None
    if public and not args.web_port:
        return Guard({}, public_metrics=True), None
    token = new_token()
    return Guard.single(token, public_metrics=public), token


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
        "--web-port",
        type=port,
        default=DEFAULT_WEB_PORT,
        metavar="PORT",
        help="serve the wallboard (/wallboard, kiosk: /wallboard?kiosk=1), its API and the"
        f" dossier pages on 127.0.0.1:PORT (default: {DEFAULT_WEB_PORT}; 0: none)",
    )
    p.add_argument(
        "--stale-after",
        type=positive,
        metavar="SECONDS",
        help="the wallboard greys its figures after this long without an event or a clock"
        f" tick (default: {DEFAULT_STALE_AFTER:.0f})",
    )
    p.add_argument(
        "--alerts",
        metavar="PATH",
        help="write the alerts as JSON Lines, each with its dossier page's URL when the web"
        " pages are served",
    )
    p.add_argument(
        "--token-file",
        metavar="PATH",
        help="tokens (hashed) and roles for the pages and /metrics (`dossierwatch token new`);"
        " without one a token is made and its sign-in link printed once",
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
    servers: list[WSGIServer] = []
    url = ""
    guard, sign_in = _guard(args) if args.metrics_port or args.web_port else (None, None)
    if args.metrics_port and guard is not None:
        try:
            metrics, server = serve_metrics(args.metrics_port, engine, book, lock, guard)
        except OSError as err:
            message = _port_taken("metrics", "--metrics-port", args.metrics_port, err)
            raise CommandError(message, 1) from None
        servers.append(server)
        url = f"http://127.0.0.1:{args.metrics_port}/metrics"
        out.write(f"metrics: {url}\n")
    sink = _alert_sink(args.alerts, servers)
    link = f"http://127.0.0.1:{args.web_port}" if args.web_port else None

    def write_alert(a: Alert) -> None:
        if sink is not None:
            sink.write(encode_alert(with_url(a, link) if link else a) + b"\n")
            sink.flush()

    run = DemoRun(
        engine,
        compression=args.compression,
        refresh=args.refresh,
        duration=args.duration,
        metrics=metrics,
        lock=lock,
        on_alert=write_alert,
    )
    if args.web_port and guard is not None:
        try:
            servers.append(
                serve_web(
                    args.web_port,
                    run,
                    book,
                    guard,
                    catalog=catalog,
                    stale_after=args.stale_after,
                )
            )
        except OSError as err:
            _stop(servers, sink)
            message = _port_taken("the web pages", "--web-port", args.web_port, err)
            raise CommandError(message, 1) from None
        out.write(
            f"wallboard: {link}/wallboard  (for a wall: {link}/wallboard?kiosk=1)\n"
            f"dossier pages: {link}/dossiers/<id>  (each alert's url in --alerts)\n"
        )
    if sign_in:
        home = link or f"http://127.0.0.1:{args.metrics_port}"
        out.write(
            f"sign in (shown once): {home}/?token={sign_in}"
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
        screen.update(rows, run.recent, run.now, _status(run, board, url))

    board = f"{link}/wallboard" if link else ""
    run.on_refresh = draw
    events = simulate(
        seed=args.seed, start=args.start, dossiers=args.dossiers, per_working_day=args.per_day
    )
    try:
        reason = run.run(events)
    except KeyboardInterrupt:
        reason = "interrupted"
    finally:
        screen.close()
        _stop(servers, sink)
    _final_summary(run, reason, book, out)
    if catalog is not None:
        _unknown_codes(catalog, out)
    return 0


def _port_taken(what: str, option: str, number: int, err: OSError) -> str:
    return (
        f"cannot serve {what} on 127.0.0.1:{number}:"
        f" {err.strerror or err} (choose another {option}, or 0 for none)"
    )


def _alert_sink(path: str | None, servers: list[WSGIServer]) -> IO[bytes] | None:
    if not path:
        return None
    try:
        return open(path, "wb")  # closed by _stop, after the run
    except OSError as err:
        _stop(servers, None)
        raise CommandError(f"cannot write {path}: {err.strerror}", 1) from None


def _stop(servers: list[WSGIServer], sink: IO[bytes] | None) -> None:
    for server in servers:
        server.shutdown()
        server.server_close()
    if sink is not None:
        sink.close()


def _unknown_codes(catalog: Catalog, out: TextIO) -> None:
    """The codes the board showed that the catalogue does not name (to add to it)."""
    for kind, n in catalog.unknown_counts().items():
        if n:
            codes = catalog.unknown_codes(kind)
            shown = ", ".join(codes[:10]) + (", …" if n > 10 else "")
            out.write(f"catalogue: {n:,} {kind} codes without a name ({shown})\n")
    out.flush()


def _status(run: DemoRun, *urls: str) -> list[str]:
    stats = run.engine.stats
    parts = [
        f"x{run.compression:,.0f}",
        f"events {stats.events:,}  dossiers {stats.dossiers:,}  alerts {run.alerts_fired:,}",
    ]
    return [*parts, *(u for u in urls if u)]


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
