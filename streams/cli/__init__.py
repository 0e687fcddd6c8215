"""`dossierwatch`: one console script, one subcommand per job, one module per command.

Commands import their machinery lazily, so `dossierwatch replay` never loads Faust or
Kafka clients.  A command that fails on bad input prints one line to stderr and exits
non-zero (2 for bad usage or input, 1 for a failure of the environment): every error
DossierWatch raises on purpose has its line (`common.one_line`), never a traceback.
Nothing imports this package: it imports the rest.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from importlib import import_module, metadata
from typing import Any

from streams.cli.common import CommandError, exit_code, one_line
from streams.contract.errors import DossierWatchError

COMMANDS = (
    "streams.cli.replay",
    "streams.cli.token",
    "streams.cli.worker",
    "streams.cli.demo",
    "streams.cli.producers",
    "streams.cli.alerts",
    "streams.cli.ingest",
    "streams.cli.report",
)
"""The modules that each register their subcommands (`register(subparsers)`)."""


def _version() -> str:
    """The installed distribution's version (pyproject's), or say it is not installed."""
    try:
        return metadata.version("dossierwatch")
    except metadata.PackageNotFoundError:
        return "(not installed: run from a source tree)"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dossierwatch",
        description="Real-time watchdog for administrative procedures: deadlines, stalls,"
        " ping-pong referrals and rule breaches.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS:
        register: Callable[[Any], None] = import_module(name).register
        register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code: int = args.func(args)
        return code
    except CommandError as err:
        sys.stderr.write(f"dossierwatch {args.command}: {err}\n")
        return err.code
    except DossierWatchError as err:  # raised on purpose deeper down: still one line
        sys.stderr.write(f"dossierwatch {args.command}: {one_line(err)}\n")
        return exit_code(err)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
