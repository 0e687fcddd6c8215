"""`dossierwatch report`: the monthly (quarterly, yearly) report of a Public
Administration Service Centre, per unit with a total row, as xlsx, pdf or html.

The figures come from a log replayed through the detection core (the same reading as
`dossierwatch replay`, stopped at the period's end) or from a running worker's or the
demo's API (GET /api/report); both compute them with `streams.reports.figures`.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import TYPE_CHECKING, Any

from streams.cli.common import CommandError, catalog, mapping_from, policy_book_with_catalog
from streams.cli.replay import add_log_options, log_errors
from streams.reports.periods import Period, PeriodError, parse_period

if TYPE_CHECKING:
    from streams.reports.figures import Report
    from streams.reports.pdf import Fonts

FORMATS = ("xlsx", "pdf", "html")
API_TIMEOUT = 60.0
"""Seconds to wait for the API: a worker computes the report over its whole table."""


def register(sub: Any) -> None:
    p = sub.add_parser(
        "report",
        help="the period's report per unit (xlsx, pdf, html) from a log or a running API",
        description="Per unit and in total: Số đầu kỳ, Tiếp nhận trong kỳ, finished Sớm /"
        " Đúng / Trễ hạn, open at the end Chưa đến hạn / Quá hạn, Trả lại, Rút, the on-time"
        " rate of Decision 766, ping-pong and consultations, and a chart (docs/reports.md)."
        "  Give a LOG, or --api with a token.",
    )
    p.add_argument(
        "file",
        nargs="?",
        metavar="LOG",
        help="an event log, read as `dossierwatch replay` reads it (JSONL, CSV, XES, a"
        " source's payloads); or give --api",
    )
    p.add_argument(
        "--period",
        required=True,
        type=_period,
        help="YYYY-MM (a month), YYYY-Qn (a quarter) or YYYY (a year), in local days"
        " (Asia/Ho_Chi_Minh)",
    )
    p.add_argument(
        "--format",
        dest="output_format",
        choices=FORMATS,
        help="default: the --output file's extension, else xlsx",
    )
    p.add_argument(
        "--output", metavar="PATH", help="where to write (default: report-<period>.<format>)"
    )
    p.add_argument(
        "--font",
        metavar="PATH",
        help="pdf: a Unicode TrueType font (default: DejaVu Sans from fonts-dejavu-core;"
        " its -Bold sibling is used for bold when there is one)",
    )
    api = p.add_argument_group("from a running worker or demo")
    api.add_argument("--api", metavar="URL", help="its web address, e.g. http://127.0.0.1:6066")
    api.add_argument("--token", help="an access token (a unit token sees its units only)")
    api.add_argument(
        "--token-file", metavar="PATH", help="a file holding the token (kept out of `ps`)"
    )
    add_log_options(p, format_flag="--log-format")
    p.set_defaults(func=cmd_report)


def _period(text: str) -> Period:
    try:
        return parse_period(text)
    except PeriodError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def cmd_report(args: argparse.Namespace) -> int:
    fmt = _output_format(args.output_format, args.output)
    period: Period = args.period
    output = args.output or f"report-{period.label}.{fmt}"
    fonts = _fonts(args.font) if fmt == "pdf" else None  # before the work, not after
    if args.file is not None and args.api is not None:
        raise CommandError("give a LOG to replay or --api URL, not both")
    if args.file is None and args.api is None:
        raise CommandError("give a LOG to replay, or --api URL with a token")
    report = _from_api(args, period) if args.api else _from_log(args, period)
    _write(report, fmt, output, fonts)
    t = report.total
    rate = "–" if t.rate is None else f"{t.rate:.1%}"
    sys.stdout.write(
        f"wrote {output}: {period.label}, {len(report.rows):,} units,"
        f" {t.counts['received']:,} received, {t.counts['handled']:,} handled,"
        f" on-time rate (Decision 766) {rate}\n"
    )
    return 0


def _output_format(given: str | None, output: str | None) -> str:
    if given:
        return given
    suffix = Path(output).suffix.lower().lstrip(".") if output else ""
    if suffix in FORMATS:
        return suffix
    if output and suffix:
        raise CommandError(f"cannot tell the format from {output!r}: give --format xlsx|pdf|html")
    return "xlsx"


def _fonts(path: str | None) -> Fonts:
    from streams.reports.pdf import FontMissing, find_fonts

    try:
        return find_fonts(path)
    except FontMissing as err:
        raise CommandError(str(err)) from None


# -- the sources ------------------------------------------------------------------


def _from_log(args: argparse.Namespace, period: Period) -> Report:
    """Replay the log up to the period's end, judge what is open then, count."""
    from streams.core.calendar import to_iso
    from streams.core.clock import graces
    from streams.eventlogs.formats import guess_format
    from streams.eventlogs.logs import LogFormatError
    from streams.replay.period import replay_period
    from streams.reports.figures import build_report

    book, names = policy_book_with_catalog(args.policy, args.catalog)
    try:
        fmt = args.log_format or guess_format(args.file)
    except LogFormatError:
        raise CommandError(f"{args.file}: cannot tell its format; give --log-format") from None
    with log_errors(args.file):
        found = replay_period(
            args.file,
            period.start,
            period.end,
            book=book,
            fmt=fmt,
            mapping=mapping_from(args),
            skip_invalid=args.skip_invalid,
            grace=graces(dict(args.grace or ()), args.default_grace),
            timezone=args.timezone,
        )
    if found.first is None or found.last is None:
        raise CommandError(f"{args.file}: no events")
    if not found.covers(period.start, period.end):
        raise CommandError(
            f"{args.file}: its events run from {to_iso(found.first)} to {to_iso(found.last)},"
            f" outside the period {period.label}"
        )
    return build_report(found.counts, period, found.as_of, source=args.file, catalog=names)


def _from_api(args: argparse.Namespace, period: Period) -> Report:
    from streams.reports.figures import ReportDataError, report_from_json

    base = args.api.rstrip("/")
    parts = urllib.parse.urlsplit(base)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise CommandError(f"--api must be an http(s) address, got {args.api!r}")
    token = _token(args)
    url = f"{base}/api/report?{urllib.parse.urlencode({'period': period.label})}"
    request = urllib.request.Request(
        url, headers={"Authorization": f"Bearer {token}", "Accept": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=API_TIMEOUT) as r:
            body = json.loads(r.read())
    except urllib.error.HTTPError as err:
        raise CommandError(
            f"{url}: {err.code} {_reason(err)}", 1 if err.code >= 500 else 2
        ) from None
    except (urllib.error.URLError, OSError) as err:
        why = getattr(err, "reason", None) or err
        raise CommandError(f"{base}: cannot reach the API: {why}", 1) from None
    except ValueError:
        raise CommandError(f"{url}: the answer is not JSON", 1) from None
    try:
        return report_from_json(body, source=base, catalog=catalog(args.catalog))
    except ReportDataError as err:
        raise CommandError(f"{url}: {err}", 1) from None


def _token(args: argparse.Namespace) -> str:
    if args.token and args.token_file:
        raise CommandError("give --token or --token-file, not both")
    if args.token_file:
        try:
            text = Path(args.token_file).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as err:
            raise CommandError(f"cannot read {args.token_file}: {err}") from None
        lines = [line.strip() for line in text.splitlines() if line.strip()]
        if not lines:
            raise CommandError(f"{args.token_file} holds no token")
        return lines[0]
    if not args.token:
        raise CommandError("--api needs --token or --token-file (every page is authenticated)")
    token: str = args.token
    return token


def _reason(err: urllib.error.HTTPError) -> str:
    """The API's own `{"error": …}` when it gave one, else the status's phrase."""
    try:
        said = json.loads(err.read()).get("error")
    except (ValueError, AttributeError, OSError):
        said = None
    return " ".join(str(said or err.reason).split())


# -- the file ---------------------------------------------------------------------


def _write(report: Report, fmt: str, output: str, fonts: Fonts | None) -> None:
    """Write next to the target and rename: a failed run leaves no half file behind,
    and an existing report is replaced only by a whole one."""
    target = Path(output)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    except OSError as err:
        raise CommandError(f"cannot write {output}: {err.strerror}", 1) from None
    try:
        with os.fdopen(fd, "wb") as out:
            if fmt == "xlsx":
                from streams.reports.xlsx import write_xlsx

                write_xlsx(report, out)
            elif fmt == "pdf":
                from streams.reports.pdf import FontMissing, write_pdf

                assert fonts is not None
                try:
                    write_pdf(report, out, fonts)
                except FontMissing as err:
                    raise CommandError(str(err)) from None
            else:
                from streams.reports.html import render_html

                out.write(render_html(report).encode("utf-8"))
        os.chmod(tmp, 0o644)  # mkstemp's 0600 would hide a report meant to be passed on
        os.replace(tmp, target)
    except OSError as err:
        raise CommandError(f"cannot write {output}: {err.strerror}", 1) from None
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
