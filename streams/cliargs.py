"""Argument types shared by the `dossierwatch` subcommands: one wording for one mistake."""

from __future__ import annotations

import argparse
import math
from datetime import datetime, timedelta, timezone


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


def start_time(text: str) -> datetime | None:
    """`now` (None: the caller takes the wall clock at start) or an ISO date-time."""
    if text == "now":
        return None
    return datetime.fromtimestamp(instant(text), LOCAL)


def grace(text: str) -> tuple[str, int]:
    """SOURCE=SECONDS: how late a source's events may arrive before its timers fire."""
    source, sep, seconds = text.rpartition("=")
    if not sep or not source:
        raise argparse.ArgumentTypeError(f"expected SOURCE=SECONDS, got {text!r}")
    return source, count(seconds)
