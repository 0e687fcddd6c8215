"""Argument types shared by the `dossierwatch` subcommands: one wording for one mistake."""

from __future__ import annotations

import argparse
import math


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
