"""Send dossier events to Kafka: validated, keyed by dossier, delivery checked.

The key is the dossier id, so every event of a dossier lands on one partition and is
read in the order sent (idempotence keeps that order through retries).  The value is
the CloudEvent in structured mode (JSON); the `ce_*` headers repeat the routing
attributes, which the Kafka binding allows, so tools can filter without parsing JSON.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Mapping
from types import TracebackType
from typing import Any, Final

from streams.contract.errors import KafkaIOError
from streams.contract.events import (
    MAX_EVENT_BYTES,
    DossierEvent,
    InvalidEvent,
    encode_event,
    event_from_dict,
    type_name,
)

__all__ = [
    "CONTENT_TYPE",
    "AccessDenied",
    "BrokerUnavailable",
    "DeliveryError",
    "EventProducer",
    "ProducerError",
]

_FLUSH_ATTEMPTS: Final = 10

CONTENT_TYPE: Final = b"application/cloudevents+json; charset=UTF-8"
"""The Kafka binding's structured-mode marker: consumers know the value is a CloudEvent."""


class ProducerError(KafkaIOError):
    """Kafka, not the event, is the problem; `str()` is one line for the user."""


class BrokerUnavailable(ProducerError):
    """No broker answered at the bootstrap address, or the topic does not exist."""


class AccessDenied(ProducerError):
    """The broker refused the credentials, or TLS/SASL does not match its listener."""


class DeliveryError(ProducerError):
    """Events handed to the client were not acknowledged by the broker."""

    def __init__(self, failed: int, first: BaseException | None, detail: str = "") -> None:
        self.failed = failed
        self.first = first
        text = f"{failed:,} event{'s' if failed != 1 else ''} not delivered"
        if detail:
            text += f" ({detail})"
        if first is not None:
            text += f"; first error: {_one_line(first)}"
        super().__init__(text)


def _one_line(err: BaseException) -> str:
    text = " ".join(str(err).split())
    name = type(err).__name__
    return text if name in text else f"{name}: {text}" if text else name


def _check_access(bootstrap: str, client_config: Mapping[str, Any], timeout: float) -> None:
    # kafka-python reports refused credentials only as "Unable to bootstrap" once the
    # timeout is over; one login of our own names the cause at once.
    from streams.infra.kafka_probe import check
    from streams.infra.kafka_security import KafkaSecurity, KafkaSecurityError

    try:
        check(KafkaSecurity.from_kafka_kwargs(client_config), bootstrap, timeout)
    except KafkaSecurityError as err:
        raise AccessDenied(str(err)) from None


def ce_headers(event: DossierEvent) -> list[tuple[str, bytes]]:
    """The CloudEvents binding's `ce_*` headers (and the content type) every producer writes."""
    return [
        ("content-type", CONTENT_TYPE),
        ("ce_specversion", event.specversion.encode()),
        ("ce_id", event.id.encode()),
        ("ce_type", type_name(event).encode()),
        ("ce_source", event.source.encode()),
        ("ce_subject", event.subject.encode()),
        ("ce_time", event.time.isoformat().encode()),
    ]


class EventProducer:
    """A kafka-python producer for `dossier-events` with acks=all and idempotence.

    `send` validates and queues; delivery is asynchronous, and failures are collected
    by errbacks and raised by `flush` (or on leaving the `with` block), so a run never
    ends quietly with events lost.  `sent` counts acknowledged events, `failed` events
    the broker did not take.  Constructing one connects, and checks that the topic
    exists, within `timeout` seconds.  `client_config` holds kafka-python's security
    settings (`KafkaSecurity.kafka_kwargs()`); with them the credentials are checked
    first, so that a wrong password is an `AccessDenied` at once, not a timeout.
    """

    def __init__(
        self,
        bootstrap: str,
        topic: str = "dossier-events",
        *,
        client_id: str = "dossierwatch-producer",
        linger_ms: int = 5,
        timeout: float = 10.0,
        client_config: Mapping[str, Any] | None = None,
    ) -> None:
        from kafka import KafkaProducer
        from kafka.errors import KafkaError, KafkaTimeoutError

        self.bootstrap = bootstrap
        self.topic = topic
        self.sent = 0
        self.failed = 0
        self.queued = 0
        self._first_error: BaseException | None = None
        self._reported = 0
        self._lock = threading.Lock()
        _check_access(bootstrap, client_config or {}, timeout)
        # api_version is never set: kafka-python 3 negotiates it with the broker, and
        # pinned values were seen to fail against the project's Kafka 4 broker.
        # Retries are left at kafka-python's default (unbounded within
        # delivery_timeout_ms); with idempotence they cannot duplicate or reorder.
        try:
            self._producer: Any = KafkaProducer(
                bootstrap_servers=bootstrap,
                client_id=client_id,
                acks="all",
                enable_idempotence=True,
                linger_ms=linger_ms,
                bootstrap_timeout_ms=int(timeout * 1000),
                max_block_ms=int(timeout * 1000),
                **(client_config or {}),
            )
        except ValueError as err:  # e.g. a port that is not a number
            raise BrokerUnavailable(f"bad bootstrap address {bootstrap!r}: {err}") from None
        except KafkaError as err:
            # kafka-python 3 reports an unreachable bootstrap as KafkaTimeoutError
            # ("Unable to bootstrap from ...", which only restates the address; 2.x
            # raised NoBrokersAvailable, gone in 3.0); any other error may say more.
            plain = isinstance(err, KafkaTimeoutError)
            raise BrokerUnavailable(
                f"no Kafka broker answers at {bootstrap} within {timeout:g} s"
                + ("" if plain else f" ({_one_line(err)})")
            ) from None
        try:
            # Asked now, not at the first send: an unknown topic is then an error at
            # start-up, not after the input has been read (brokers here do not
            # auto-create topics, and the client waits for metadata until max_block_ms).
            self._producer.partitions_for(topic)
        except KafkaError:
            self._producer.close(timeout=0)
            raise BrokerUnavailable(
                f"topic {topic!r} not found at {bootstrap} (no metadata within {timeout:g} s)"
            ) from None

    # -- sending -------------------------------------------------------------------------

    def send(self, event: DossierEvent | Mapping[str, object]) -> None:
        """Validate `event` and queue it; raise InvalidEvent (nothing sent) when it is bad.

        A dict goes through the same validation as bytes read off the topic, so a
        producer can never put on the topic what a consumer would reject.
        """
        from kafka.errors import KafkaError

        if isinstance(event, Mapping):
            event = event_from_dict(dict(event))
        value = encode_event(event)
        if len(value) > MAX_EVENT_BYTES:
            raise InvalidEvent(
                "too_large",
                f"event {event.id!r} is {len(value):,} bytes, limit {MAX_EVENT_BYTES:,}",
            )
        try:
            future = self._producer.send(
                self.topic, value=value, key=event.subject.encode(), headers=ce_headers(event)
            )
        except KafkaError as err:
            raise DeliveryError(1, err, f"event {event.id!r} could not be queued") from None
        with self._lock:
            self.queued += 1
        future.add_callback(self._delivered)
        future.add_errback(self._undelivered)

    def _delivered(self, _metadata: object) -> None:
        with self._lock:
            self.sent += 1

    def _undelivered(self, err: BaseException) -> None:
        with self._lock:
            self.failed += 1
            if self._first_error is None:
                self._first_error = err

    @property
    def pending(self) -> int:
        """Queued events the broker has neither acknowledged nor refused yet."""
        with self._lock:
            return self.queued - self.sent - self.failed

    # -- completion ----------------------------------------------------------------------

    def flush(self, timeout: float | None = None) -> None:
        """Wait for every queued event; raise DeliveryError for failures not yet raised."""
        from kafka.errors import KafkaError, KafkaTimeoutError

        deadline = None if timeout is None else time.monotonic() + timeout
        for _ in range(_FLUSH_ATTEMPTS):
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            try:
                self._producer.flush(left)
                break
            except KafkaTimeoutError:
                raise DeliveryError(
                    self.pending, self._first_error, f"not acknowledged within {timeout or 0:g} s"
                ) from None
            except KafkaError as err:
                # kafka-python 3.0.12's flush raises UnknownError("Future not done")
                # after the broker refused a batch as too large and the client split
                # and re-queued it; flushing again waits for the split batches.
                stuck = err
        else:
            raise DeliveryError(self.pending, stuck, "flush kept failing")
        with self._lock:
            new_failures = self.failed - self._reported
            self._reported = self.failed
            first = self._first_error
        if new_failures:
            raise DeliveryError(new_failures, first)

    def close(self, timeout: float | None = None) -> None:
        """Deliver what is queued (up to `timeout` s) and disconnect; no error raised."""
        with contextlib.suppress(DeliveryError):
            self.flush(timeout)
        self._producer.close(timeout=timeout)

    def __enter__(self) -> EventProducer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if exc_type is None:
                self.flush()
        finally:
            self.close()
