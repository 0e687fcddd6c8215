"""`dossierwatch worker`: run a Faust worker of the live pipeline."""

from __future__ import annotations

import argparse
from typing import Any

from streams.cli import CommandError, policy_book
from streams.logs import configure_logging
from streams.worker.settings import WorkerSettings


def register(sub: Any) -> None:
    p = sub.add_parser("worker", help="run a stream worker: Kafka events → detectors → alerts")
    p.add_argument(
        "--bootstrap", help="Kafka host:port (default 127.0.0.1:9092, env KAFKA_BOOTSTRAP)"
    )
    p.add_argument("--store", help="table store: rocksdb:// (default) or memory://")
    p.add_argument("--data-dir", help="where the worker keeps its table files (.cache/worker)")
    p.add_argument("--web-port", type=int, help="port of /metrics and /health (default 6066)")
    p.add_argument("--web-host", help="address to serve on (default 127.0.0.1)")
    p.add_argument("--partitions", type=int, help="partitions of the topics (default 6)")
    p.add_argument("--app-id", help="consumer group and changelog prefix (default dossierwatch)")
    p.add_argument("--topic-prefix", default="", help="prefix for the four topic names")
    p.add_argument("--tick-interval", type=float, help="seconds between deadline scans (0.25)")
    p.add_argument("--policy", action="append", metavar="PATH", help="policy file (repeatable)")
    p.add_argument("--log-level", default="info", choices=("debug", "info", "warning", "error"))
    p.set_defaults(func=run_worker)


def settings_from(args: argparse.Namespace) -> WorkerSettings:
    prefix = args.topic_prefix
    topics = {}
    if prefix:
        topics = {
            f"{name}_topic": f"{prefix}dossier-{suffix}"
            for name, suffix in (
                ("events", "events"),
                ("alerts", "alerts"),
                ("dlq", "events-dlq"),
                ("ticks", "ticks"),
            )
        }
    return WorkerSettings.from_env(
        bootstrap=args.bootstrap,
        store=args.store,
        data_dir=args.data_dir,
        web_port=args.web_port,
        web_host=args.web_host,
        partitions=args.partitions,
        app_id=args.app_id,
        tick_interval=args.tick_interval,
        log_level=args.log_level,
        policy_paths=tuple(args.policy or ()),
        **topics,
    )


def run_worker(args: argparse.Namespace) -> int:
    from faust.worker import Worker

    from streams.worker.app import create_app

    s = settings_from(args)
    book = policy_book(s.policy_paths)
    if s.store.startswith("rocksdb"):
        try:
            import rocksdict  # noqa: F401
        except ImportError:
            raise CommandError(
                "rocksdb:// needs the rocksdict package; use --store memory://", 1
            ) from None
    configure_logging(s.log_level)
    app = create_app(s, book)
    worker = Worker(app, loglevel=s.log_level, redirect_stdouts=False)
    # Faust's start-up spinner lowers the root logger to DEBUG (to spin on every record)
    # when the level is WARN or above: every library debug line would then be built.
    worker.spinner = None
    worker.execute_from_commandline()
    return 0
