"""What every `dossierwatch` command shares: the one-line error, argument types, the
policy, catalogue, mapping and grace options.  Imported only by the command modules beside
it."""

from __future__ import annotations

import argparse
import math
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING

from streams.contract.errors import AlertDeliveryError, DossierWatchError, KafkaIOError, PolicyError
from streams.core.policy import PolicyBook, TimeLimit
from streams.eventlogs.mapping import NOBODY, Mapping

if TYPE_CHECKING:
    from streams.catalog import Catalog

EXIT_BAD_INPUT = 2


def one_line(err: BaseException) -> str:
    return " ".join(str(err).split()) or type(err).__name__


def exit_code(err: DossierWatchError) -> int:
    """1 when the environment failed (Kafka, a receiver), 2 when the input or the
    configuration is wrong."""
    return 1 if isinstance(err, KafkaIOError | AlertDeliveryError) else EXIT_BAD_INPUT


class CommandError(DossierWatchError):
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
    from streams.policy import policy_book as load

    try:
        return load(paths)
    except PolicyError as err:
        raise CommandError(str(err)) from None


def add_catalog_option(p: argparse.ArgumentParser) -> None:
    """`--catalog PATH` (repeatable): unit and procedure names, procedures' legal limits."""
    p.add_argument(
        "--catalog",
        action="append",
        metavar="PATH",
        help="catalogue of units and procedures, CSV or TOML by extension (repeatable):"
        " names shown beside the codes, legal time limits joined to the policy's procedures"
        " (docs/examples/catalog/)",
    )


def catalog(paths: Sequence[str] | None) -> Catalog | None:
    """The catalogue of the files given (None when none are); a bad file is one line."""
    if not paths:
        return None
    from streams.catalog import load_catalog

    try:
        return load_catalog(paths)
    except PolicyError as err:  # CatalogError included
        raise CommandError(str(err)) from None


def policy_book_with_catalog(
    policy_paths: Sequence[str] | None, catalog_paths: Sequence[str] | None
) -> tuple[PolicyBook, Catalog | None]:
    """The policy book (`--policy`) with the catalogue's legal limits (`--catalog`) joined
    to its procedures, and the catalogue itself (None without one) for the names."""
    from streams.catalog import apply_catalog

    book = policy_book(policy_paths)
    found = catalog(catalog_paths)
    try:
        return apply_catalog(book, found), found
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
        default=None,
        metavar="ATTR",
        help="event attribute naming the unit (default: org:group, which a log may lack;"
        " also org:role, org:resource — named, it must be in the log)",
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
        unit_attr=args.unit_attr or Mapping.unit_attr,
        unit_attr_named=args.unit_attr is not None,
        officer_attr=officer,
        due_attr=args.due_attr,
        time_limit=args.time_limit,
        procedure_attr=args.procedure_attr,
        complete_at_end=not args.no_complete,
        ignore_values=ignore,
    )


# -- argument types (one wording for one mistake) ------------------------------


def positive(text: str) -> float:
    """A number above zero (a rate, a speed-up, an interval)."""
    value = _number(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be more than 0: {text!r}")
    return value


def non_negative(text: str) -> float:
    """A number of zero or more (0 usually meaning "as fast as possible")."""
    value = _number(text)
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more: {text!r}")
    return value


def count(text: str, *, minimum: int = 0) -> int:
    """A whole number of at least `minimum`."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < minimum:
        raise argparse.ArgumentTypeError(f"must be at least {minimum}: {text!r}")
    return value


def positive_count(text: str) -> int:
    return count(text, minimum=1)


def port(text: str) -> int:
    """A TCP port, 0 allowed (meaning "off" or "any", as the option says)."""
    value = count(text)
    if value > 65535:
        raise argparse.ArgumentTypeError(f"port out of range: {value}")
    return value


def _number(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if math.isnan(value):
        raise argparse.ArgumentTypeError(f"not a number: {text!r}")
    return value


LOCAL = timezone(timedelta(hours=7))


def instant(text: str) -> int:
    """An ISO date or date-time (no offset: Viet Nam's local time) as epoch seconds; a
    bare date means its local midnight."""
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"not a date or date-time like 2025-10-01T17:00+07:00: {text!r}"
        ) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=LOCAL)
    return int(when.timestamp())


def grace(text: str) -> tuple[str, int]:
    """SOURCE=SECONDS: how late a source's events may arrive before its timers fire."""
    source, sep, seconds = text.rpartition("=")
    if not sep or not source:
        raise argparse.ArgumentTypeError(f"expected SOURCE=SECONDS, got {text!r}")
    return source, count(seconds)
