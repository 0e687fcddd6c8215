"""The gateway's Kafka producer: a request's events out, and every acknowledgement back.

kafka-python 3.0.12 (the pinned version) supports the idempotent producer, so the
gateway uses `enable_idempotence=True` with `acks="all"` (its retries are then safe:
no duplicate and no reordering within a partition).  `deliver` hands one request's
records to the producer in a worker thread (`send` may block on metadata), then waits on
the event loop, without holding a thread, until the broker has acknowledged or refused
each of them.  Anything short of an acknowledgement for every record is `Unavailable`:
the request is answered 503.

The producer's own `delivery_timeout_ms` is the produce timeout, and the wait is a little
longer, so a record the gateway answered 503 for has in all but rare cases been given up
by the producer too (not sent later behind the client's back).  In the rare case it was
written but its acknowledgement lost, the client's retry writes it again with the same
(source, id), which the worker drops as an exact redelivery.

The producer is built lazily: a gateway started while the broker is down serves, answers
503, and connects at the first request after the broker is back (at most one attempt per
`retry_after` seconds).
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Final, Protocol

from producers.gateway.settings import GatewaySettings
from producers.kafka_producer import ce_headers
from streams.contract.errors import KafkaIOError
from streams.contract.events import DossierEvent

CLIENT_ID: Final = "dossierwatch-ingest"
_MARGIN_S: Final = 2.0
"""How much longer than the producer's delivery timeout a request waits for its acks."""


class Unavailable(KafkaIOError):
    """Kafka did not acknowledge every event of a request: answer 503, a retry is safe."""


class TopicMissing(KafkaIOError):
    """The broker answers but has no such topic (the gateway never creates topics)."""


@dataclass(frozen=True, slots=True)
class Record:
    key: bytes
    value: bytes
    headers: list[tuple[str, bytes]]

    @classmethod
    def of(cls, event: DossierEvent, raw: bytes) -> Record:
        """Key = the dossier id; value = the bytes as received; `ce_*` headers as the
        other producers write them (producers/kafka_producer.py)."""
        headers = ce_headers(event)
        return cls(event.subject.encode(), raw, headers)


class Sink(Protocol):
    """Where accepted records go (a Kafka producer; a fake in unit tests)."""

    @property
    def connected(self) -> bool: ...

    async def deliver(self, records: Sequence[Record]) -> None:
        """Return once every record is acknowledged; raise Unavailable otherwise."""

    async def close(self) -> None:
        """Deliver what is queued (bounded) and disconnect."""


class _Acks:
    """Counts one request's acknowledgements (called from kafka-python's sender thread)
    and resolves `done` on the event loop when none is outstanding."""

    def __init__(self, total: int, loop: asyncio.AbstractEventLoop) -> None:
        self.total = total
        self.acked = 0
        self.failed = 0
        self.first_error: BaseException | None = None
        self.done: asyncio.Future[None] = loop.create_future()
        self._loop = loop
        self._lock = threading.Lock()

    @property
    def pending(self) -> int:
        with self._lock:
            return self.total - self.acked - self.failed

    def ok(self, _metadata: object) -> None:
        self._count(1, 0, None)

    def error(self, err: BaseException) -> None:
        self._count(0, 1, err)

    def give_up(self, unsent: int, err: BaseException) -> None:
        """`unsent` records never reached the producer."""
        self._count(0, unsent, err)

    def _count(self, acked: int, failed: int, err: BaseException | None) -> None:
        with self._lock:
            self.acked += acked
            self.failed += failed
            if err is not None and self.first_error is None:
                self.first_error = err
            finished = self.acked + self.failed >= self.total
        if finished:
            self._loop.call_soon_threadsafe(self._resolve)

    def _resolve(self) -> None:
        if not self.done.done():
            self.done.set_result(None)


def _one_line(err: BaseException) -> str:
    text = " ".join(str(err).split())
    return f"{type(err).__name__}: {text}" if text else type(err).__name__


class KafkaSink:
    """An idempotent, acks=all kafka-python producer for one topic."""

    def __init__(self, settings: GatewaySettings, *, client_id: str = CLIENT_ID) -> None:
        self._s = settings
        self._client_id = client_id
        self._producer: Any = None
        self._lock = asyncio.Lock()
        self._next_attempt = 0.0
        # kafka-python's blocking calls (build, send, close) run here, off the event loop.
        self._pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="ingest-kafka")

    @property
    def connected(self) -> bool:
        return self._producer is not None

    # -- connecting ----------------------------------------------------------------------

    def connect(self) -> None:
        """At start-up (blocking): check the credentials, connect, find the topic.

        Raises KafkaAuthError/KafkaSecurityError (wrong settings: do not start),
        TopicMissing (do not start) or Unavailable (no broker yet: serve, answer 503)."""
        from kafka.errors import KafkaError

        from streams.infra.kafka_probe import check
        from streams.infra.kafka_security import KafkaSecurity

        s = self._s
        check(
            KafkaSecurity.from_kafka_kwargs(s.kafka_client_config), s.bootstrap, s.connect_timeout
        )
        producer = self._build()
        try:
            producer.partitions_for(s.topic)
        except KafkaError:
            producer.close(timeout=0)
            raise TopicMissing(
                f"topic {s.topic!r} not found at {s.bootstrap}"
                f" (no metadata within {s.connect_timeout:g} s)"
            ) from None
        self._producer = producer

    def _build(self) -> Any:
        from kafka import KafkaProducer
        from kafka.errors import KafkaError

        s = self._s
        delivery_ms = int(s.produce_timeout * 1000)
        linger_ms = 5
        try:
            return KafkaProducer(
                bootstrap_servers=s.bootstrap,
                client_id=self._client_id,
                acks="all",
                enable_idempotence=True,
                linger_ms=linger_ms,
                # kafka-python requires delivery >= linger + request timeout.
                request_timeout_ms=max(1000, int(delivery_ms * 0.8) - linger_ms),
                delivery_timeout_ms=max(delivery_ms, 1000 + linger_ms),
                max_block_ms=int(s.connect_timeout * 1000),
                bootstrap_timeout_ms=int(s.connect_timeout * 1000),
                **dict(s.kafka_client_config),
            )
        except ValueError as err:  # e.g. a port that is not a number
            raise Unavailable(f"bad bootstrap address {s.bootstrap!r}: {err}") from None
        except KafkaError as err:
            raise Unavailable(
                f"no Kafka broker answers at {s.bootstrap} within {s.connect_timeout:g} s"
                f" ({_one_line(err)})"
            ) from None

    async def _ready(self) -> Any:
        producer = self._producer
        if producer is not None:
            return producer
        async with self._lock:
            if self._producer is not None:
                return self._producer
            if time.monotonic() < self._next_attempt:
                raise Unavailable(f"no Kafka broker answers at {self._s.bootstrap}")
            loop = asyncio.get_running_loop()
            try:
                self._producer = await loop.run_in_executor(self._pool, self._build)
            except Unavailable:
                self._next_attempt = time.monotonic() + self._s.retry_after
                raise
            return self._producer

    # -- delivering ----------------------------------------------------------------------

    async def deliver(self, records: Sequence[Record]) -> None:
        if not records:
            return
        producer = await self._ready()
        loop = asyncio.get_running_loop()
        acks = _Acks(len(records), loop)
        await loop.run_in_executor(self._pool, self._send_all, producer, records, acks)
        wait = self._s.produce_timeout + _MARGIN_S
        try:
            await asyncio.wait_for(asyncio.shield(acks.done), wait)
        except TimeoutError:
            raise Unavailable(
                f"{acks.pending:,} of {len(records):,} events not acknowledged within {wait:g} s"
            ) from None
        if acks.failed:
            first = acks.first_error
            if first is not None and not getattr(first, "retriable", True):
                await self._drop(producer)
            raise Unavailable(
                f"{acks.failed:,} of {len(records):,} events not acknowledged"
                + (f": {_one_line(first)}" if first is not None else "")
            )

    def _send_all(self, producer: Any, records: Sequence[Record], acks: _Acks) -> None:
        for i, r in enumerate(records):
            try:
                future = producer.send(self._s.topic, value=r.value, key=r.key, headers=r.headers)
            except Exception as err:  # metadata or buffer timeout, producer closed
                acks.give_up(len(records) - i, err)
                return
            future.add_callback(acks.ok)
            future.add_errback(acks.error)

    async def _drop(self, producer: Any) -> None:
        """Forget a producer in a state it cannot leave (a fatal error): the next request
        builds a new one."""
        async with self._lock:
            if self._producer is producer:
                self._producer = None
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._pool, lambda: producer.close(timeout=0))

    async def close(self) -> None:
        producer, self._producer = self._producer, None
        if producer is not None:
            timeout = self._s.produce_timeout
            loop = asyncio.get_running_loop()

            def flush_and_close() -> None:
                with contextlib.suppress(Exception):
                    producer.flush(timeout)
                producer.close(timeout=timeout)

            await loop.run_in_executor(self._pool, flush_and_close)
        self._pool.shutdown(wait=False)
