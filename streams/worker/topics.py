"""The worker's topics, created and checked before Faust starts.

Faust creates a table's changelog topic itself, but while its consumer is already
subscribing: when workers start together on a fresh broker, the changelog is often seen
with 0 partitions (`PartitionsMismatch`) and the agent dies.  So the worker creates every
topic it needs first, waits until the broker reports each with its partitions and their
leaders, and refuses to start on a layout that cannot work (a changelog or the ticks not
co-partitioned with the events), with one line that says what to do.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from streams.contract.errors import KafkaIOError
from streams.worker.settings import WorkerSettings

BIG_MESSAGES = {"max.message.bytes": str(8 * 1024 * 1024)}
"""Topics that must carry an oversized event whole (to reach the DLQ with its reason)."""

COMPACTED = {"cleanup.policy": "compact"}
"""A changelog only needs the latest state of each key to rebuild its table."""

TABLES = ("dossiers", "clocks")
"""The worker's Faust tables (each has a changelog topic)."""

BROKER_DEFAULT = -1
"""Replication factor -1: the broker's default.replication.factor (KIP-464)."""

TOPIC_ALREADY_EXISTS = 36
"""CreateTopics error code when another worker created the topic first: fine."""

UNKNOWN_TOPIC = 3
"""Metadata error code of a topic that does not exist (yet)."""

_POLL = 0.2  # seconds between two looks at the metadata while topics settle


class TopicSetupError(KafkaIOError):
    """The worker's topics could not be made ready; the message is one line for the user."""


class TopicLayoutError(TopicSetupError):
    """A topic exists with a partition count the worker cannot run with."""


class KafkaUnavailable(TopicSetupError):
    """No broker answered at the bootstrap address."""


class KafkaAccessDenied(TopicSetupError):
    """The broker refused the worker's credentials, or the TLS or SASL set-up does not
    match its listener: a setting to fix, so start-up stops at once instead of retrying."""


@dataclass(frozen=True)
class TopicSpec:
    name: str
    partitions: int
    configs: Mapping[str, str] = field(default_factory=dict)
    kind: str = "topic"
    """How messages name it: "topic", "changelog"."""
    copartitioned: bool = True
    """Must have exactly `partitions` partitions (read with the events, or a table's
    changelog); the output topics only get that count when they are created."""
    replication: int = BROKER_DEFAULT
    at_least: bool = False
    """Not co-partitioned, but needs at least as many partitions as the events: the dead
    letters of events partition p go to partition p, where a restarted worker looks for
    the last one it sent (streams/worker/dead_letters.py)."""


def changelog_topic(app_id: str, table: str) -> str:
    """The name Faust gives a table's changelog (faust.tables.base._changelog_topic_name)."""
    return f"{app_id}-{table}-changelog"


def worker_topics(s: WorkerSettings, tables: Iterable[str] = TABLES) -> list[TopicSpec]:
    """What a worker with settings `s` reads, writes and keeps its tables in; events first,
    the topic everything else is co-partitioned with."""
    n = s.partitions
    return [
        TopicSpec(s.events_topic, n, BIG_MESSAGES),
        TopicSpec(s.ticks_topic, n),
        TopicSpec(s.alerts_topic, n, copartitioned=False),
        TopicSpec(s.dlq_topic, n, BIG_MESSAGES, copartitioned=False, at_least=True),
        *(
            TopicSpec(changelog_topic(s.app_id, table), n, COMPACTED, kind="changelog")
            for table in tables
        ),
    ]


def ensure_topics(
    bootstrap: str,
    specs: Sequence[TopicSpec],
    *,
    timeout: float = 30.0,
    client_config: Mapping[str, Any] | None = None,
) -> None:
    """Create the missing topics of `specs`, then wait until all are usable.

    Usable: the broker's metadata has every topic with its partition count and a leader
    for each partition.  The first spec is the reference the co-partitioned ones are
    compared with.  Safe to run by several workers at once.  Raises `TopicLayoutError`
    on a wrong partition count, `KafkaUnavailable` when no broker answers,
    `KafkaAccessDenied` when it refuses the credentials, and `TopicSetupError` for
    anything else, all within about `timeout` seconds.  `client_config` goes to
    kafka-python's `KafkaAdminClient` (security settings)."""
    from kafka.errors import KafkaConnectionError, KafkaError, KafkaTimeoutError

    deadline = time.monotonic() + timeout
    _check_access(bootstrap, client_config or {}, timeout)
    admin = _admin(bootstrap, timeout, client_config)
    try:
        # Check what exists before creating anything, so that a wrong layout is refused
        # without adding more topics to it.
        counts, _ = _describe(admin, specs)
        _check_layout(specs, counts)
        _create(admin, [s for s in specs if s.name not in counts], timeout)
        _wait_ready(admin, specs, deadline, timeout)
    except (KafkaTimeoutError, KafkaConnectionError) as err:
        raise KafkaUnavailable(f"Kafka at {bootstrap} stopped answering: {_short(err)}") from None
    except KafkaError as err:
        raise TopicSetupError(f"cannot set up the topics at {bootstrap}: {_short(err)}") from None
    finally:
        admin.close()


def _check_access(bootstrap: str, client_config: Mapping[str, Any], timeout: float) -> None:
    # kafka-python reports refused credentials only as a bootstrap timeout, after the
    # whole `timeout`: one login of our own says it at once (streams/infra/kafka_probe.py).
    from streams.infra.kafka_probe import check
    from streams.infra.kafka_security import KafkaSecurity, KafkaSecurityError

    try:
        check(KafkaSecurity.from_kafka_kwargs(client_config), bootstrap, timeout)
    except KafkaSecurityError as err:
        raise KafkaAccessDenied(str(err)) from None


def _admin(bootstrap: str, timeout: float, client_config: Mapping[str, Any] | None) -> Any:
    from kafka.admin import KafkaAdminClient
    from kafka.errors import KafkaConnectionError, KafkaError, KafkaTimeoutError

    ms = max(int(timeout * 1000), 1000)
    config: dict[str, Any] = {
        "bootstrap_servers": bootstrap,
        "client_id": "dossierwatch-topics",
        # kafka-python waits up to bootstrap_timeout_ms for a first broker, and each
        # request up to request_timeout_ms: both within the caller's budget.
        "bootstrap_timeout_ms": ms,
        "request_timeout_ms": ms,
        # A broker that comes up while we wait is seen within a second (the default
        # backoff grows to 30 s, longer than the whole wait).
        "reconnect_backoff_max_ms": 1000,
        **(client_config or {}),
    }
    try:
        return KafkaAdminClient(**config)
    except (KafkaTimeoutError, KafkaConnectionError) as err:
        raise KafkaUnavailable(
            f"no Kafka broker answers at {bootstrap} (waited {timeout:g}s)"
        ) from err
    except KafkaError as err:  # e.g. a bad client_config, or failed authentication
        raise TopicSetupError(f"cannot connect to Kafka at {bootstrap}: {_short(err)}") from None


def _describe(admin: Any, specs: Sequence[TopicSpec]) -> tuple[dict[str, int], dict[str, str]]:
    """(partition count of each existing topic, why each topic is not usable yet)."""
    counts: dict[str, int] = {}
    pending: dict[str, str] = {}
    by_name = {t.get("name"): t for t in admin.describe_topics([s.name for s in specs])}
    for spec in specs:
        meta = by_name.get(spec.name)
        if meta is None or meta.get("error_code", 0) == UNKNOWN_TOPIC:
            pending[spec.name] = "missing"
            continue
        if meta.get("error_code", 0):
            pending[spec.name] = f"error {meta['error_code']}"
            continue
        partitions = meta.get("partitions") or []
        if partitions:
            counts[spec.name] = len(partitions)
        leaderless = [p for p in partitions if p.get("error_code", 0) or p.get("leader_id", -1) < 0]
        if not partitions:
            pending[spec.name] = "no partitions yet"
        elif leaderless:
            pending[spec.name] = f"{len(leaderless)} of {len(partitions)} partitions lack a leader"
    return counts, pending


def _check_layout(specs: Sequence[TopicSpec], counts: Mapping[str, int]) -> None:
    problem = layout_problem(specs, counts)
    if problem is not None:
        raise TopicLayoutError(problem)


def layout_problem(specs: Sequence[TopicSpec], counts: Mapping[str, int]) -> str | None:
    """Why the existing topics (`counts`: name → partitions) cannot be used, or None."""
    if not specs:
        return None
    ref = specs[0]
    ref_actual = counts.get(ref.name)
    if ref_actual is not None and ref_actual != ref.partitions:
        return (
            f"{ref.kind} {ref.name} has {ref_actual} partitions but the worker runs with"
            f" --partitions {ref.partitions}: run with --partitions {ref_actual}"
        )
    for spec in specs[1:]:
        actual = counts.get(spec.name)
        need = ref_actual if ref_actual is not None else ref.partitions
        if spec.at_least and actual is not None and actual < need:
            return (
                f"{spec.kind} {spec.name} has {actual} partitions but {ref.name} has {need}:"
                f" it needs at least as many (add partitions to {spec.name})"
            )
        if not spec.copartitioned or actual is None or actual == spec.partitions:
            continue
        what = "the tables" if spec.kind == "changelog" else spec.name
        if ref_actual is None:
            where = f"the worker runs with --partitions {ref.partitions}"
            fix = f"recreate {spec.name} or run with --partitions {actual}"
        else:
            where = f"{ref.name} has {ref_actual}"
            fix = f"recreate the {spec.kind} {spec.name} with {ref_actual} partitions"
        return (
            f"{spec.kind} {spec.name} has {actual} partitions but {where}: {what} must be"
            f" co-partitioned with {ref.name} ({fix})"
        )
    return None


def _create(admin: Any, missing: Sequence[TopicSpec], timeout: float) -> None:
    if not missing:
        return
    request = {
        s.name: {
            "num_partitions": s.partitions,
            "replication_factor": s.replication,
            "configs": dict(s.configs),
        }
        for s in missing
    }
    result = admin.create_topics(request, timeout_ms=int(timeout * 1000), raise_errors=False)
    for topic in result.get("topics", []):
        code = topic.get("error_code", 0)
        if code not in (0, TOPIC_ALREADY_EXISTS):  # another worker was first: fine
            reason = topic.get("error_message") or f"error code {code}"
            raise TopicSetupError(f"cannot create topic {topic.get('name')}: {reason}")


def _wait_ready(admin: Any, specs: Sequence[TopicSpec], deadline: float, timeout: float) -> None:
    from kafka.errors import KafkaError

    while True:
        try:
            counts, pending = _describe(admin, specs)
        except KafkaError as err:  # the broker went away meanwhile: retry until the deadline
            counts, pending = {}, {"*": _short(err)}
        # Another worker may have created a topic meanwhile, with another partition count.
        _check_layout(specs, counts)
        if not pending:
            return
        if time.monotonic() >= deadline:
            waiting = "; ".join(f"{name}: {why}" for name, why in sorted(pending.items()))
            raise TopicSetupError(f"topics not ready after {timeout:g}s ({waiting})")
        time.sleep(_POLL)


def _short(err: BaseException) -> str:
    """The first line of an exception's text, or its class name."""
    text = str(err).strip().splitlines()
    return text[0] if text else type(err).__name__
