"""`dossierwatch replay`: the detection core over a log file (streams/replay)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import tzinfo
from typing import IO, Any

from streams.cli.common import (
    CommandError,
    add_catalog_option,
    add_grace_options,
    add_mapping_options,
    instant,
    mapping_from,
    policy_book_with_catalog,
)
from streams.contract.alerts import Alert, encode_alert, with_url
from streams.core.clock import graces
from streams.eventlogs.csvlog import DEFAULT_ZONE, zone
from streams.eventlogs.formats import FORMATS
from streams.eventlogs.logs import LogFormatError
from streams.policy import BUILTIN_POLICIES


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

    # The catalogue's legal limits judge the receipts' stated due dates; names are for screens.
    book, _ = policy_book_with_catalog(args.policy, args.catalog)
    sink = _open_output(args.alerts) if args.alerts else None
    text_out = sys.stderr if args.alerts == "-" else sys.stdout
    show_lines = not args.quiet and args.alerts != "-"

    def emit(a: Alert) -> None:
        if args.link_base:
            a = with_url(a, args.link_base)
        if sink is not None:
            sink.write(encode_alert(a) + b"\n")
        if show_lines and (a.status == "firing" or args.show_resolved):
            # Looked up at each line: while the progress bar draws on a terminal, rich
            # stands in for stdout and prints the line above the bar.
            (sys.stderr if args.alerts == "-" else sys.stdout).write(format_alert(a) + "\n")

    try:
        with log_errors(args.file):
            result = run_replay(
                args.file,
                fmt=args.format,
                mapping=mapping_from(args),
                book=book,
                emit=emit,
                skip_invalid=args.skip_invalid,
                until=args.until,
                grace=graces(dict(args.grace or ()), args.default_grace),
                timezone=args.timezone,
            )
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


def time_zone(text: str) -> tzinfo:
    """--timezone: an IANA zone or a UTC offset."""
    try:
        return zone(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def add_format_options(p: argparse.ArgumentParser, *, flag: str = "--format") -> None:
    """--format (or `flag`) and --timezone, shared with `publish` and `report`."""
    p.add_argument(
        flag,
        choices=FORMATS,
        help="default: by file extension; a source's name (dvcqg, opencps, bhxh) reads JSON"
        " Lines of that system's payloads, one request body a line (docs/adapters.md)",
    )
    p.add_argument(
        "--timezone",
        type=time_zone,
        default=time_zone(DEFAULT_ZONE),
        metavar="ZONE",
        help=f"CSV: the time zone of timestamps without an offset (default: {DEFAULT_ZONE};"
        " e.g. +07:00, UTC)",
    )


def add_log_options(p: argparse.ArgumentParser, *, format_flag: str = "--format") -> None:
    """How a log file is read and judged: its format and time zone, the policies, what
    to do with invalid events, allowed lateness, the mapping of XES/CSV attributes and the
    catalogue (`replay`, and `report` over a log, which names its format `--log-format`)."""
    add_format_options(p, flag=format_flag)
    p.add_argument(
        "--policy",
        action="append",
        metavar="PATH",
        help="policy file (repeat for several effective dates; default: built-in "
        f"{', '.join(BUILTIN_POLICIES)})",
    )
    p.add_argument(
        "--skip-invalid",
        action="store_true",
        help="count and skip invalid events (with their reason) instead of stopping at the first",
    )
    add_grace_options(p)
    add_mapping_options(p)
    add_catalog_option(p)


@contextmanager
def log_errors(path: str) -> Iterator[None]:
    """A bad or unreadable log as one line (exit 2)."""
    try:
        yield
    except LogFormatError as err:
        raise CommandError(str(err)) from None
    except OSError as err:
        raise CommandError(f"{path}: {err.strerror or err}") from None


def register(sub: Any) -> None:
    p = sub.add_parser("replay", help="run the detection rules over a log file (JSONL, CSV, XES)")
    p.add_argument(
        "file",
        help="JSONL (CloudEvents or a source's payloads), CSV or XES event log, plain or gzip",
    )
    add_log_options(p)
    p.add_argument("--alerts", metavar="PATH", help="write alerts as JSON Lines ('-' for stdout)")
    p.add_argument("--report", metavar="PATH", help="write the JSON report here")
    p.add_argument(
        "--link-base",
        metavar="URL",
        help="put each alert's dossier page, <URL>/dossiers/<id>, in its `url` (as the worker"
        " does), e.g. the centre's DossierWatch address, so an audit's alerts link to the pages",
    )
    p.add_argument("--quiet", action="store_true", help="no alert lines, only the summary")
    p.add_argument("--show-resolved", action="store_true", help="print resolutions too")
    p.add_argument(
        "--until",
        type=instant,
        metavar="INSTANT",
        help="judge dossiers still open as of this instant (default: the last event's time;"
        " the report says which it used)",
    )
    p.set_defaults(func=cmd_replay)
