"""Worker settings: typed, with defaults for the local broker, overridable by environment."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from streams.infra.kafka_security import KafkaSecurity
from streams.worker.rocksdb_budget import RocksDBBudget

if TYPE_CHECKING:
    from streams.catalog import Catalog


@dataclass(frozen=True)
class WorkerSettings:
    bootstrap: str = "127.0.0.1:9092"
    app_id: str = "dossierwatch"
    events_topic: str = "dossier-events"
    alerts_topic: str = "dossier-alerts"
    dlq_topic: str = "dossier-events-dlq"
    ticks_topic: str = "dossier-ticks"
    partitions: int = 6
    store: str = "rocksdb://"
    data_dir: str = ".cache/worker"
    web_host: str = "127.0.0.1"
    web_port: int = 6066
    tick_interval: float = 0.25
    """How often the timer looks for dossiers whose deadline passed (seconds)."""
    batch_size: int = 500
    batch_window: float = 0.02
    """A batch closes at this many events or after this many seconds, whichever first."""
    retention_days: int = 30
    """How long a finished dossier stays in the table for late events."""
    policy_paths: tuple[str, ...] = field(default_factory=tuple)
    catalog_paths: tuple[str, ...] = field(default_factory=tuple)
    """Catalogue files (units, procedures): CSV or TOML."""
    catalog: Catalog | None = None
    """The catalogue read from `catalog_paths` by the command, for the pages' names."""
    log_level: str = "info"
    settle_seconds: int = 0
    """Stream time held back from judging on a live source, for a transport that delivers
    a dossier's next event seconds after its time (streams/core/clock.py); a source
    known to be late is better given its own grace."""
    default_grace: int = 0
    """Allowed lateness of a source (seconds) unless `source_grace` names it."""
    source_grace: Mapping[str, int] = field(default_factory=dict)
    """Per-source allowed lateness: a portal that syncs in batches an hour late."""

    token_file: str | None = None
    """Hashed tokens and their roles (streams/web/auth.py); none: a start-up token is made
    and its sign-in link printed once."""
    public_metrics: bool = False
    """/metrics without credentials (a scrape inside a closed network)."""
    trusted_proxies: tuple[str, ...] = ()
    """Addresses of a reverse proxy whose user/groups headers are believed (off: none)."""
    officer_key_file: str | None = None
    """A secret key: officers' ids are replaced by keyed pseudonyms at ingest."""
    faust_pages: bool = False
    """Faust's own /router and /table pages (they show table contents): off by default."""
    link_base: str | None = None
    """The public URL the dossier pages are reached at, as the bridge's --link-base (same
    environment variable, DOSSIERWATCH_LINK_BASE): alerts carry `<link_base>/dossiers/<id>`.
    None: this worker's own address (`public_url`), which is the bridge's default too."""
    alertmanager_url: str | None = None
    """Alertmanager's base URL, for acknowledging alerts from a dossier page (a silence) and
    showing who did; None: the pages show no acknowledge button."""

    @property
    def public_url(self) -> str:
        """The base of the links put on alerts: `link_base`, else where this worker serves."""
        if self.link_base:
            return self.link_base.rstrip("/")
        host = "127.0.0.1" if self.web_host in ("0.0.0.0", "::", "") else self.web_host
        return f"http://{host}:{self.web_port}"

    standby_replicas: int = 1
    """Standby copies of each table partition kept by other workers (Faust's
    `table_standby_replicas`): the worker that takes a dead one's partitions over already
    holds their state and only reads the changelog's last records, not all of it."""
    session_timeout: float = 6.0
    """Seconds without a heartbeat before the broker declares a worker dead and gives its
    partitions to the others: the bulk of the takeover time after a kill -9.  6 s is the
    broker's default floor (group.min.session.timeout.ms); Faust's own default is 60 s."""
    heartbeat_interval: float = 1.5
    """Seconds between heartbeats; at most a third of the session timeout, so that one
    lost heartbeat is not a death.  The survivor learns of a rebalance at its next one."""
    rebalance_timeout: float = 20.0
    """Seconds the broker waits for every member to rejoin a rebalance (the survivor's
    revoke: a flush and a commit) before it drops a slow member from the group."""
    group_instance_id: str | None = None
    """Static group membership (KIP-345), off by default: a member restarted with the same
    id within the session timeout gets its partitions back without a rebalance, but a dead
    or stopped one is only replaced after the session timeout (docs/operations.md)."""
    rocksdb: RocksDBBudget = field(default_factory=RocksDBBudget)
    """Memory of the RocksDB stores, shared by every table partition of the worker."""

    kafka_security: KafkaSecurity = field(default_factory=KafkaSecurity)
    """TLS and SASL of every Kafka client (streams/infra/kafka_security.py); PLAINTEXT if unset."""

    def kafka_client_config(self) -> dict[str, Any]:
        """Extra settings for kafka-python clients (security, when configured)."""
        return self.kafka_security.kafka_kwargs()

    def faust_client_config(self) -> dict[str, Any]:
        """Extra settings for the Faust app's Kafka clients (security, when configured)."""
        return faust_credentials(self.kafka_security)

    @classmethod
    def from_env(cls, kafka_config: str | None = None, **overrides: object) -> WorkerSettings:
        """Defaults, then DOSSIERWATCH_* environment variables, then explicit overrides.

        Kafka security comes from the file `kafka_config` (else $KAFKA_CONFIG_FILE) and the
        KAFKA_* variables over it; a mistake there raises KafkaSecurityError."""
        env = os.environ
        s = cls(kafka_security=KafkaSecurity.load(kafka_config, env))
        mapping = {
            "bootstrap": "KAFKA_BOOTSTRAP",
            "app_id": "DOSSIERWATCH_APP_ID",
            "events_topic": "DOSSIERWATCH_EVENTS_TOPIC",
            "alerts_topic": "DOSSIERWATCH_ALERTS_TOPIC",
            "dlq_topic": "DOSSIERWATCH_DLQ_TOPIC",
            "ticks_topic": "DOSSIERWATCH_TICKS_TOPIC",
            "store": "DOSSIERWATCH_STORE",
            "data_dir": "DOSSIERWATCH_DATA_DIR",
            "web_host": "DOSSIERWATCH_WEB_HOST",
            "token_file": "DOSSIERWATCH_TOKEN_FILE",
            "officer_key_file": "DOSSIERWATCH_OFFICER_KEY_FILE",
            "link_base": "DOSSIERWATCH_LINK_BASE",
            "group_instance_id": "DOSSIERWATCH_GROUP_INSTANCE_ID",
            "alertmanager_url": "DOSSIERWATCH_ALERTMANAGER_URL",
        }
        changes: dict[str, object] = {k: env[v] for k, v in mapping.items() if env.get(v)}
        for name, var, kind in (
            ("partitions", "DOSSIERWATCH_PARTITIONS", int),
            ("web_port", "DOSSIERWATCH_WEB_PORT", int),
            ("tick_interval", "DOSSIERWATCH_TICK_INTERVAL", float),
            ("batch_size", "DOSSIERWATCH_BATCH_SIZE", int),
            ("batch_window", "DOSSIERWATCH_BATCH_WINDOW", float),
            ("settle_seconds", "DOSSIERWATCH_SETTLE_SECONDS", int),
            ("default_grace", "DOSSIERWATCH_GRACE_SECONDS", int),
            ("standby_replicas", "DOSSIERWATCH_STANDBY_REPLICAS", int),
            ("session_timeout", "DOSSIERWATCH_SESSION_TIMEOUT", float),
            ("heartbeat_interval", "DOSSIERWATCH_HEARTBEAT_INTERVAL", float),
            ("rebalance_timeout", "DOSSIERWATCH_REBALANCE_TIMEOUT", float),
        ):
            if env.get(var):
                changes[name] = kind(env[var])
        changes.update({k: v for k, v in overrides.items() if v is not None})
        return replace(s, **changes)  # type: ignore[arg-type]

    def membership_errors(self) -> list[str]:
        """What is wrong with the group-membership timings, in the flags' words."""
        errors = []
        if self.standby_replicas < 0:
            errors.append("--standby-replicas must be 0 or more")
        if self.heartbeat_interval <= 0:
            errors.append("--heartbeat-interval must be more than 0 seconds")
        elif self.session_timeout < 3 * self.heartbeat_interval:
            errors.append(
                f"--session-timeout ({self.session_timeout:g} s) must be at least three"
                f" heartbeat intervals ({3 * self.heartbeat_interval:g} s)"
            )
        if self.session_timeout > REQUEST_TIMEOUT:
            # Faust refuses a session longer than a request may take.
            errors.append(f"--session-timeout must be at most {REQUEST_TIMEOUT:g} seconds")
        if self.rebalance_timeout < self.session_timeout:
            errors.append("--rebalance-timeout must be at least the session timeout")
        if self.group_instance_id is not None and not self.group_instance_id.strip():
            errors.append("--group-instance-id must not be empty")
        return errors + self.rocksdb.errors()


REQUEST_TIMEOUT = 90.0
"""Faust's broker_request_timeout (its default), which bounds the session timeout."""


def faust_credentials(security: KafkaSecurity) -> dict[str, Any]:
    """Keyword arguments for `faust.App(...)`: `broker_credentials` (empty for PLAINTEXT)."""
    if security.protocol == "PLAINTEXT":
        return {}
    import faust

    context = security.ssl_context()
    if not security.sasl:
        return {"broker_credentials": faust.SSLCredentials(context)}
    return {
        "broker_credentials": faust.SASLCredentials(
            mechanism=security.mechanism,
            username=security.username,
            password=security.password,
            # With a context Faust speaks SASL_SSL, without one SASL_PLAINTEXT.
            ssl_context=context,
        )
    }
