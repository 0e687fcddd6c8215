"""`dossierwatch worker`: run a Faust worker of the live pipeline."""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from typing import Any

from streams.cli.common import (
    CommandError,
    add_catalog_option,
    add_grace_options,
    count,
    policy_book_with_catalog,
    positive,
)
from streams.infra.kafka_security import KafkaSecurityError, add_kafka_config_option
from streams.infra.logs import configure_logging
from streams.web.auth import AuthConfigError, Guard, TrustedProxy, new_token
from streams.worker.rocksdb_budget import RocksDBBudget
from streams.worker.settings import WorkerSettings


def register(sub: Any) -> None:
    p = sub.add_parser("worker", help="run a stream worker: Kafka events → detectors → alerts")
    p.add_argument(
        "--bootstrap", help="Kafka host:port (default 127.0.0.1:9092, env KAFKA_BOOTSTRAP)"
    )
    add_kafka_config_option(p)
    p.add_argument("--store", help="table store: rocksdb:// (default) or memory://")
    p.add_argument("--data-dir", help="where the worker keeps its table files (.cache/worker)")
    p.add_argument("--web-port", type=int, help="port of /metrics and /health (default 6066)")
    p.add_argument("--web-host", help="address to serve on (default 127.0.0.1)")
    p.add_argument("--partitions", type=int, help="partitions of the topics (default 6)")
    p.add_argument("--app-id", help="consumer group and changelog prefix (default dossierwatch)")
    p.add_argument("--topic-prefix", default="", help="prefix for the four topic names")
    p.add_argument("--tick-interval", type=float, help="seconds between deadline scans (0.25)")
    p.add_argument("--policy", action="append", metavar="PATH", help="policy file (repeatable)")
    add_catalog_option(p)
    p.add_argument("--log-level", default="info", choices=("debug", "info", "warning", "error"))
    add_grace_options(p)
    web = p.add_argument_group("web access (every page but /health needs credentials)")
    web.add_argument(
        "--token-file",
        metavar="PATH",
        help="tokens (hashed) and their roles, written by `dossierwatch token new`"
        " (env DOSSIERWATCH_TOKEN_FILE); without one a start-up token is made and its"
        " sign-in link printed once",
    )
    web.add_argument(
        "--public-metrics",
        action="store_true",
        help="serve /metrics without credentials (a scrape inside a closed network)",
    )
    web.add_argument(
        "--trusted-proxy",
        action="append",
        metavar="ADDRESS",
        help="a reverse proxy that signs people in (oauth2-proxy): its X-Forwarded-User and"
        " X-Forwarded-Groups headers are believed from this address only (repeatable)",
    )
    web.add_argument(
        "--officer-key-file",
        metavar="PATH",
        help="a secret key (any bytes, at least 16): officers' ids are replaced at ingest by"
        " keyed pseudonyms, so no page, metric, log or alert shows them"
        " (env DOSSIERWATCH_OFFICER_KEY_FILE)",
    )
    web.add_argument(
        "--link-base",
        metavar="URL",
        help="the workers' public address, for the dossier page link on every alert"
        " (`<URL>/dossiers/<id>`; env DOSSIERWATCH_LINK_BASE; default this worker's address)",
    )
    web.add_argument(
        "--alertmanager-url",
        metavar="URL",
        help="Alertmanager, for acknowledging an alert from its dossier page (a silence with"
        " its author and comment; env DOSSIERWATCH_ALERTMANAGER_URL; default none: no button)",
    )
    web.add_argument(
        "--faust-pages",
        action="store_true",
        help="also serve Faust's /router and /table pages (they show table contents)",
    )
    p.add_argument(
        "--settle",
        type=lambda t: count(t),
        metavar="SECONDS",
        help="stream time held back from judging on every source, for a transport that"
        " delivers events seconds late (default 0)",
    )
    add_takeover_options(p)
    add_rocksdb_options(p)
    p.set_defaults(func=run_worker)


def add_takeover_options(p: argparse.ArgumentParser) -> None:
    group = p.add_argument_group(
        "takeover (how soon a dead worker's partitions move; docs/operations.md)"
    )
    group.add_argument(
        "--standby-replicas",
        type=count,
        metavar="N",
        help="standby copies of each table partition on other workers, so that a takeover"
        " needs no restore (default 1; env DOSSIERWATCH_STANDBY_REPLICAS)",
    )
    group.add_argument(
        "--session-timeout",
        type=positive,
        metavar="SECONDS",
        help="silence after which the broker declares a worker dead (default 6, the"
        " broker's group.min.session.timeout.ms; env DOSSIERWATCH_SESSION_TIMEOUT)",
    )
    group.add_argument(
        "--heartbeat-interval",
        type=positive,
        metavar="SECONDS",
        help="seconds between heartbeats, at most a third of the session timeout"
        " (default 1.5; env DOSSIERWATCH_HEARTBEAT_INTERVAL)",
    )
    group.add_argument(
        "--rebalance-timeout",
        type=positive,
        metavar="SECONDS",
        help="how long the broker waits for every worker to rejoin a rebalance"
        " (default 20; env DOSSIERWATCH_REBALANCE_TIMEOUT)",
    )
    group.add_argument(
        "--group-instance-id",
        metavar="ID",
        help="static group membership, unique per worker and stable across its restarts"
        " (a StatefulSet pod's name): a restart within the session timeout keeps the"
        " partitions without a rebalance, a death is noticed only after it"
        " (default off; env DOSSIERWATCH_GROUP_INSTANCE_ID)",
    )


def add_rocksdb_options(p: argparse.ArgumentParser) -> None:
    group = p.add_argument_group(
        "RocksDB memory, shared by every table partition of the worker"
        " (defaults: 80 MiB of a 1 GiB worker; docs/operations.md)"
    )
    for flag, dest, default, text in (
        (
            "--rocksdb-block-cache",
            "block_cache_mb",
            RocksDBBudget.block_cache_mb,
            "block cache, MiB (index and filters in it)",
        ),
        ("--rocksdb-memtables", "memtables_mb", RocksDBBudget.memtables_mb, "all memtables, MiB"),
        ("--rocksdb-write-buffer", "write_buffer_mb", 16, "one memtable, MiB"),
        ("--rocksdb-write-buffers", "max_write_buffers", 2, "memtables per partition at once"),
    ):
        group.add_argument(
            flag,
            type=count,
            metavar="N",
            dest=f"rocksdb_{dest}",
            help=f"{text} (default {default})",
        )
    group.add_argument(
        "--rocksdb-max-open-files",
        type=lambda t: count(t, minimum=-1),
        metavar="N",
        dest="rocksdb_max_open_files",
        help="files each partition's database keeps open, -1 for all (default 64)",
    )


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
        kafka_config=args.kafka_config,
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
        catalog_paths=tuple(args.catalog) if args.catalog else None,
        settle_seconds=args.settle,
        token_file=args.token_file,
        officer_key_file=args.officer_key_file,
        public_metrics=args.public_metrics or None,
        trusted_proxies=tuple(args.trusted_proxy) if args.trusted_proxy else None,
        faust_pages=args.faust_pages or None,
        link_base=args.link_base,
        alertmanager_url=args.alertmanager_url,
        default_grace=args.default_grace or None,
        source_grace=dict(args.grace) if args.grace else None,
        standby_replicas=args.standby_replicas,
        session_timeout=args.session_timeout,
        heartbeat_interval=args.heartbeat_interval,
        rebalance_timeout=args.rebalance_timeout,
        group_instance_id=args.group_instance_id,
        rocksdb=_rocksdb_budget(args),
        **topics,
    )


def _rocksdb_budget(args: argparse.Namespace) -> RocksDBBudget | None:
    """The defaults with the flags given over them; None when no flag was given."""
    given = {
        name: getattr(args, f"rocksdb_{name}")
        for name in (
            "block_cache_mb",
            "memtables_mb",
            "write_buffer_mb",
            "max_write_buffers",
            "max_open_files",
        )
        if getattr(args, f"rocksdb_{name}") is not None
    }
    return replace(RocksDBBudget(), **given) if given else None


def _guard(s: WorkerSettings) -> Guard:
    """Who may read the worker's pages: the token file, else one token made now, whose
    sign-in link is printed once (as Jupyter does)."""
    proxy = TrustedProxy(frozenset(s.trusted_proxies)) if s.trusted_proxies else None
    options: dict[str, object] = {"public_metrics": s.public_metrics, "proxy": proxy}
    try:
        if s.token_file:
            return Guard.from_file(s.token_file, **options)
    except AuthConfigError as err:
        raise CommandError(str(err)) from None
    token = new_token()
    host = "127.0.0.1" if s.web_host in ("0.0.0.0", "::") else s.web_host
    sys.stderr.write(
        "dossierwatch worker: no --token-file: sign in with this link (shown once; give"
        f" Prometheus and other workers a token file instead):\n"
        f"    http://{host}:{s.web_port}/?token={token}\n"
    )
    sys.stderr.flush()
    return Guard.single(token, **options)


def _officer_key(s: WorkerSettings) -> bytes | None:
    if not s.officer_key_file:
        return None
    try:
        with open(s.officer_key_file, "rb") as secret:
            key = secret.read().strip()
    except OSError as err:
        raise CommandError(f"cannot read {s.officer_key_file}: {err.strerror}", 1) from None
    if len(key) < 16:
        raise CommandError(f"{s.officer_key_file}: the officer key must be 16 bytes or more")
    return key


def run_worker(args: argparse.Namespace) -> int:
    from streams.core.layouts import NewerLayoutError
    from streams.infra.logs import quieted
    from streams.worker.allocator import keep_large_blocks_mapped
    from streams.worker.app import create_app
    from streams.worker.runner import DossierWatchWorker
    from streams.worker.topics import TopicSetupError, ensure_topics, worker_topics
    from streams.worker.vitals import EXIT_SOFTWARE

    try:
        s = settings_from(args)
    except KafkaSecurityError as err:
        raise CommandError(str(err)) from None
    errors = s.membership_errors()
    if errors:
        raise CommandError("; ".join(errors))
    book, catalog = policy_book_with_catalog(s.policy_paths, s.catalog_paths)
    s = replace(s, catalog=catalog)
    if s.store.startswith("rocksdb"):
        try:
            import rocksdict  # noqa: F401
        except ImportError:
            raise CommandError(
                "rocksdb:// needs the rocksdict package; use --store memory://", 1
            ) from None
    configure_logging(s.log_level)
    # Before RocksDB allocates a memtable: RSS must follow what it frees (allocator.py).
    keep_large_blocks_mapped()
    # Every topic, the tables' changelogs included, exists with its partitions led before
    # Faust subscribes: Faust creating a changelog while its consumer joins races.
    # kafka-python's own lines about a failure are left out: the error says it in one.
    try:
        with quieted("kafka"):
            ensure_topics(s.bootstrap, worker_topics(s), client_config=s.kafka_client_config())
    except TopicSetupError as err:
        raise CommandError(str(err), 1) from None
    guard = _guard(s)
    app = create_app(s, book, guard, _officer_key(s))
    worker = DossierWatchWorker(app, loglevel=s.log_level, redirect_stdouts=False)
    # Faust's start-up spinner lowers the root logger to DEBUG (to spin on every record)
    # when the level is WARN or above: every library debug line would then be built.
    worker.spinner = None
    try:
        worker.execute_from_commandline()
    except SystemExit as done:
        # A worker that stopped because a part of it died exits non-zero, whatever mode's
        # shutdown said: its supervisor (systemd, Kubernetes, compose) must restart it.
        vitals = app.dossierwatch_vitals  # type: ignore[attr-defined]
        fatal = vitals.fatal
        if isinstance(vitals.cause, NewerLayoutError):
            # State written by a newer version: restarting will not help, upgrading will.
            raise CommandError(str(vitals.cause), EXIT_SOFTWARE) from None
        if fatal is not None:
            raise CommandError(f"stopped: {fatal}", EXIT_SOFTWARE) from None
        raise done
    return 0
