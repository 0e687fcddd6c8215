"""`dossierwatch ingest`: the authenticated HTTP ingest gateway; `ingest token` gives a
handling system a token bound to its CloudEvents source."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from streams.cli.common import CommandError, port, positive, positive_count
from streams.infra.kafka_security import add_kafka_config_option

TOKEN_FILE_ENV = "DOSSIERWATCH_INGEST_TOKEN_FILE"


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "ingest",
        help="serve POST /v1/events: CloudEvents over HTTP onto Kafka, per-source tokens",
        description="An HTTP gateway onto the dossier-events topic. Each request (one"
        " CloudEvent, or a batch of up to 1,000) is checked whole by the worker's boundary"
        " and answered 202 only once Kafka acknowledged every event; otherwise nothing of"
        " it is sent (400, 403, 413, 415, 503). See docs/ingest-gateway.md.",
    )
    actions = p.add_subparsers(dest="action", metavar="ACTION")
    _register_token(actions)
    p.add_argument(
        "--token-file",
        metavar="PATH",
        help=f"tokens (hashed), each bound to one source (env {TOKEN_FILE_ENV}); required:"
        " the gateway never runs open",
    )
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    p.add_argument("--port", type=port, default=8088, help="port to listen on (8088)")
    p.add_argument(
        "--bootstrap",
        default=os.environ.get("KAFKA_BOOTSTRAP", "127.0.0.1:9092"),
        metavar="HOST:PORT",
        help="Kafka bootstrap server (default 127.0.0.1:9092, env KAFKA_BOOTSTRAP)",
    )
    p.add_argument("--topic", default="dossier-events", help="topic (default dossier-events)")
    add_kafka_config_option(p)
    p.add_argument("--policy", action="append", metavar="PATH", help="policy file (repeatable)")
    p.add_argument(
        "--max-body",
        type=positive_count,
        default=2 * 1024 * 1024,
        metavar="BYTES",
        help="largest request body (default 2 MiB): more is 413, unread",
    )
    p.add_argument(
        "--produce-timeout",
        type=positive,
        default=10.0,
        metavar="SECONDS",
        help="time Kafka has to acknowledge a request's events, else 503 (default 10)",
    )
    p.add_argument(
        "--retry-after",
        type=positive_count,
        default=5,
        metavar="SECONDS",
        help="the Retry-After of a 503 (default 5)",
    )
    p.add_argument(
        "--public-metrics",
        action="store_true",
        help="serve /metrics without a token (else a token with metrics = true)",
    )
    p.add_argument("--log-level", default="info", choices=("debug", "info", "warning", "error"))
    p.set_defaults(func=cmd_serve)


def _register_token(actions: Any) -> None:
    t: argparse.ArgumentParser = actions.add_parser(
        "token",
        help="add a token to the ingest token file and print it (once)",
        description="The file keeps only the token's SHA-256; give the token to the"
        " handling system and the file to the gateway (--token-file).",
    )
    t.add_argument("--file", required=True, metavar="PATH", help="token file (created if absent)")
    t.add_argument("--name", required=True, help="whose token it is (shown in the file, logs)")
    what = t.add_mutually_exclusive_group(required=True)
    what.add_argument("--source", help="the CloudEvents source its events must carry")
    what.add_argument("--metrics", action="store_true", help="a token for /metrics only")
    t.set_defaults(func=cmd_token)


def cmd_token(args: argparse.Namespace) -> int:
    from producers.gateway.auth import TokenFileError, write_token

    try:
        token = write_token(args.file, args.name, source=args.source, metrics=args.metrics)
    except TokenFileError as err:
        raise CommandError(str(err)) from None
    except OSError as err:
        raise CommandError(f"cannot write {args.file}: {err.strerror}", 1) from None
    sys.stdout.write(token + "\n")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from producers.gateway.auth import SourceTokens, TokenFileError
    from producers.gateway.server import serve
    from producers.gateway.settings import GatewaySettings
    from producers.gateway.sink import TopicMissing
    from streams.cli.common import policy_book
    from streams.infra.kafka_security import KafkaSecurity, KafkaSecurityError
    from streams.infra.logs import configure_logging

    token_file = args.token_file or os.environ.get(TOKEN_FILE_ENV)
    if not token_file:
        raise CommandError(
            "no --token-file: the gateway never accepts events without a token"
            " (make one with `dossierwatch ingest token --file F --name N --source S`)"
        )
    try:
        tokens = SourceTokens.from_file(token_file)
    except TokenFileError as err:
        raise CommandError(str(err)) from None
    if len(tokens) == 0:
        raise CommandError(f"{token_file}: no tokens in the file")
    try:
        security = KafkaSecurity.load(args.kafka_config)
    except KafkaSecurityError as err:
        raise CommandError(str(err)) from None
    settings = GatewaySettings(
        token_file=token_file,
        bootstrap=args.bootstrap,
        topic=args.topic,
        host=args.host,
        port=args.port,
        max_body=args.max_body,
        produce_timeout=args.produce_timeout,
        retry_after=args.retry_after,
        public_metrics=args.public_metrics,
        bounds=policy_book(args.policy).bounds,
        kafka_client_config=security.kafka_kwargs(),
    )
    configure_logging(args.log_level)
    try:
        serve(settings, tokens)
    except (KafkaSecurityError, TopicMissing) as err:
        raise CommandError(str(err), 1) from None
    except OSError as err:  # the port is taken, say
        raise CommandError(f"cannot listen on {args.host}:{args.port}: {err.strerror}", 1) from None
    return 0
