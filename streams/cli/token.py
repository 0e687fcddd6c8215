"""`dossierwatch token new`: give a person or a program access to the web pages."""

from __future__ import annotations

import argparse
import sys
from typing import Any


def register(sub: Any) -> None:
    p = sub.add_parser("token", help="make access tokens for the web pages, API and /metrics")
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    new = actions.add_parser(
        "new",
        help="add a token to a token file and print it (once: the file keeps only its hash)",
        description="Roles: centre (every unit), unit:<code> (that unit only, repeat for"
        " several), metrics (/metrics only).  Give the file to every worker"
        " (--token-file) and the token to its holder.",
    )
    new.add_argument("--file", required=True, metavar="PATH", help="token file (created if absent)")
    new.add_argument("--name", required=True, help="whose token it is (shown in the file)")
    new.add_argument(
        "--role", action="append", required=True, help="centre, metrics or unit:<code>"
    )
    new.set_defaults(func=cmd_new)


def cmd_new(args: argparse.Namespace) -> int:
    from streams.cli.common import CommandError
    from streams.web.auth import AuthConfigError, write_token

    try:
        token = write_token(args.file, args.name, args.role)
    except AuthConfigError as err:
        raise CommandError(str(err)) from None
    except OSError as err:
        raise CommandError(f"cannot write {args.file}: {err.strerror}", 1) from None
    sys.stdout.write(token + "\n")
    return 0
