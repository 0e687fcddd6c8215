"""`dossierwatch`: one console script, one subcommand per job.

Commands import their machinery lazily, so `dossierwatch replay` never loads Faust or
Kafka clients.  A command that fails on bad input prints one line to stderr and exits
non-zero (2 for bad usage or input, 1 for a failure of the environment).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from typing import IO, Any

from streams.cliargs import count, grace, instant
from streams.core.alerts import Alert, encode_alert
from streams.core.clock import graces
from streams.core.policy import BUILTIN_POLICIES, PolicyBook, PolicyError, TimeLimit
from streams.replay.logs import LogFormatError
from streams.replay.mapping import NOBODY, Mapping

EXIT_BAD_INPUT = 2


class CommandError(Exception):
    """A one-line message for the user; the command exits non-zero."""

    def __init__(self, message: str, code: int = EXIT_BAD_INPUT) -> None:
        super().__init__(message)
        self.code = code


def _time_limit(text: str) -> str:
    try:
        return str(TimeLimit.parse(text))
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def policy_book(paths: Sequence[str] | None) -> PolicyBook:
    try:
        return PolicyBook.from_paths(paths) if paths else PolicyBook.builtin()
    except PolicyError as err:
        raise CommandError(str(err)) from None


def add_grace_options(p: argparse.ArgumentParser) -> None:
    """Allowed lateness per source (replay and worker judge on the same stream clocks)."""
    p.add_argument(
        "--grace",
        type=grace,
        action="append",
        metavar="SOURCE=SECONDS",
        help="a source's allowed lateness: its dossiers' timers fire this much later (repeatable)",
    )
    p.add_argument(
        "--default-grace",
        type=lambda t: count(t),
        default=0,
        metavar="SECONDS",
        help="allowed lateness of the other sources (default 0)",
    )


def add_mapping_options(p: argparse.ArgumentParser) -> None:
    """Options that map an XES/CSV event log onto dossier events (replay and publish)."""
    g = p.add_argument_group("event-log mapping (XES, CSV)")
    g.add_argument(
        "--unit-attr",
        default="org:group",
        metavar="ATTR",
        help="event attribute naming the unit (default: org:group; also org:role, org:resource)",
    )
    g.add_argument(
        "--officer-attr",
        default="org:resource",
        metavar="ATTR",
        help="event attribute naming the officer (default: org:resource; 'none' to ignore)",
    )
    g.add_argument(
        "--due-attr", metavar="ATTR", help="trace attribute holding the due date (e.g. deadline)"
    )
    g.add_argument(
        "--time-limit",
        type=_time_limit,
        metavar="LIMIT",
        help="time limit when a case has no due date: 15wd, 30d, 8wh (default: the policy's)",
    )
    g.add_argument("--procedure-attr", metavar="ATTR", help="trace attribute naming the procedure")
    g.add_argument(
        "--ignore-values",
        metavar="LIST",
        help="comma-separated values that mean 'nobody' (default: "
        f"{','.join(sorted(NOBODY - {''}))} and empty)",
    )
    g.add_argument(
        "--no-complete",
        action="store_true",
        help="do not treat a case's last event as its completion",
    )


def mapping_from(args: argparse.Namespace) -> Mapping:
    ignore = NOBODY
    if args.ignore_values is not None:
        ignore = frozenset({""} | {v.strip() for v in args.ignore_values.split(",")})
    officer = None if (args.officer_attr or "").lower() in ("", "none") else args.officer_attr
    return Mapping(
        unit_attr=args.unit_attr,
        officer_attr=officer,
        due_attr=args.due_attr,
        time_limit=args.time_limit,
        procedure_attr=args.procedure_attr,
        complete_at_end=not args.no_complete,
        ignore_values=ignore,
    )


def format_alert(a: Alert) -> str:
    """One readable line: when, severity, rule/level, dossier, unit, evidence."""
    when = a.at[:16].replace("T", " ")
    mark = "RESOLVED" if a.status == "resolved" else a.severity.upper()
    unit = f"[{a.unit}]" if a.unit else ""
    return f"{when}  {mark:<8}  {a.rule}/{a.level:<13} {a.dossier} {unit}  {a.evidence}"


def _open_output(path: str) -> IO[bytes]:
    if path == "-":
        return sys.stdout.buffer
    try:
        return open(path, "wb")
    except OSError as err:
        raise CommandError(f"cannot write {path}: {err.strerror}", 1) from None


def cmd_replay(args: argparse.Namespace) -> int:
    from streams.replay.run import run_replay

    book = policy_book(args.policy)
    sink = _open_output(args.alerts) if args.alerts else None
    text_out = sys.stderr if args.alerts == "-" else sys.stdout
    show_lines = not args.quiet and args.alerts != "-"

    def emit(a: Alert) -> None:
        if sink is not None:
            sink.write(encode_alert(a) + b"\n")
        if show_lines and (a.status == "firing" or args.show_resolved):
            text_out.write(format_alert(a) + "\n")

    try:
        result = run_replay(
            args.file,
            fmt=args.format,
            mapping=mapping_from(args),
            book=book,
            emit=emit,
            skip_invalid=args.skip_invalid,
            until=args.until,
            grace=graces(dict(args.grace or ()), args.default_grace),
        )
    except LogFormatError as err:
        raise CommandError(str(err)) from None
    except OSError as err:
        raise CommandError(f"{args.file}: {err.strerror or err}") from None
    finally:
        if sink is not None and sink is not sys.stdout.buffer:
            sink.close()
        elif sink is not None:
            sink.flush()
    if args.report:
        try:
            with open(args.report, "w", encoding="utf-8") as out:
                json.dump(result, out, ensure_ascii=False, indent=2)
                out.write("\n")
        except OSError as err:
            raise CommandError(f"cannot write {args.report}: {err.strerror}", 1) from None
    _print_summary(result, text_out)
    return 0


def _print_summary(r: dict[str, Any], out: IO[str]) -> None:
    rate = r["on_time_rate"]
    out.write(
        f"\n{r['events']:,} events, {r['dossiers']:,} dossiers"
        f" ({r['first_event'] or '-'} .. {r['last_event'] or '-'}),"
        f" {r['seconds']:.1f} s ({r['events_per_second'] or 0:,} events/s)\n"
        f"alerts: {r['alerts_total']:,} fired, {r['alerts_resolved']:,} resolved;"
        f" on-time rate (Decision 766): {'-' if rate is None else f'{rate:.1%}'};"
        f" open at end: {r['open_at_end']:,} ({r['overdue_at_end']:,} overdue)\n"
    )
    for rule, n in r["dossiers_flagged"].items():
        levels = ", ".join(f"{lv} {c:,}" for lv, c in r["alerts"][rule].items())
        out.write(f"  {rule:<20} {n:>8,} dossiers  ({levels})\n")
    if r["invalid_events"]:
        out.write(f"  skipped {r['invalid_events']:,} invalid events\n")
    if r.get("judged_at"):
        out.write(f"open dossiers judged as of {r['judged_at']} ({r['judged_at_source']})\n")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dossierwatch",
        description="Real-time watchdog for administrative procedures: deadlines, stalls,"
        " ping-pong referrals and rule breaches.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("replay", help="run the detection rules over a log file (JSONL, CSV, XES)")
    p.add_argument("file", help="JSONL (CloudEvents), CSV or XES event log, plain or gzip")
    p.add_argument("--format", choices=("jsonl", "xes", "csv"), help="default: by file extension")
    p.add_argument(
        "--policy",
        action="append",
        metavar="PATH",
        help="policy file (repeat for several effective dates; default: built-in "
        f"{', '.join(BUILTIN_POLICIES)})",
    )
    p.add_argument("--alerts", metavar="PATH", help="write alerts as JSON Lines ('-' for stdout)")
    p.add_argument("--report", metavar="PATH", help="write the JSON report here")
    p.add_argument("--quiet", action="store_true", help="no alert lines, only the summary")
    p.add_argument("--show-resolved", action="store_true", help="print resolutions too")
    p.add_argument(
        "--skip-invalid",
        action="store_true",
        help="count and skip invalid events (with their reason) instead of stopping at the first",
    )
    p.add_argument(
        "--until",
        type=instant,
        metavar="INSTANT",
        help="judge dossiers still open as of this instant (default: the last event's time;"
        " the report says which it used)",
    )
    add_grace_options(p)
    add_mapping_options(p)
    p.set_defaults(func=cmd_replay)

    for register in _EXTRA_COMMANDS:
        register(sub)
    return parser


def _register_worker(sub: Any) -> None:
    from streams.worker.command import register

    register(sub)


def _register_demo(sub: Any) -> None:
    from streams.demo import register

    register(sub)


def _register_producers(sub: Any) -> None:
    from producers.commands import register

    register(sub)


def _register_alerts(sub: Any) -> None:
    from alerts.commands import register

    register(sub)


def _register_tokens(sub: Any) -> None:
    from streams.web.token_command import register

    register(sub)


_EXTRA_COMMANDS: list[Callable[[Any], None]] = [
    _register_tokens,
    _register_worker,
    _register_demo,
    _register_producers,
    _register_alerts,
]


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code: int = args.func(args)
        return code
    except CommandError as err:
        sys.stderr.write(f"dossierwatch {args.command}: {err}\n")
        return err.code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
