"""The ingest gateway against the real local broker: 202 only for events on Kafka,
nothing of a refused request on the topic, 503 while Kafka is unreachable and exactly
once after the retry, 401/403 for the wrong credentials.

The gateway runs in-process (aiohttp's test server, the real KafkaSink).  The outage is
simulated without touching the shared broker: the gateway's bootstrap address is a port
where nothing listens; "the broker is back" is a TCP forwarder starting on that port
towards the real broker (after bootstrapping, kafka-python talks to the broker's
advertised address directly)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import socketserver
import threading
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, TypeVar

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from conftest import Topics
from kafka import KafkaConsumer

from producers.gateway.app import BATCH, create_app
from producers.gateway.auth import SourceTokens, write_token
from producers.gateway.settings import GatewaySettings
from producers.gateway.sink import KafkaSink, Unavailable
from producers.simulator import simulate

pytestmark = pytest.mark.kafka

T = TypeVar("T")
ICT = timezone(timedelta(hours=7))
SOURCE = "dossierwatch-simulator"
WAIT_S = 20.0


@pytest.fixture(scope="module")
def events() -> list[dict[str, Any]]:
    return list(simulate(seed=11, start=datetime(2025, 7, 7, tzinfo=ICT), dossiers=60))[:200]


@pytest.fixture
def token_file(tmp_path: Path) -> tuple[Path, str, str]:
    path = tmp_path / "ingest-tokens.toml"
    mine = write_token(path, "simulator", source=SOURCE)
    other = write_token(path, "portal", source="dvc-portal")
    return path, mine, other


def run_gateway(
    settings: GatewaySettings, fn: Callable[[TestClient[Any, Any], KafkaSink], Awaitable[T]]
) -> T:
    """`fn` against a gateway on a real KafkaSink (connected as the command connects it)."""

    async def go() -> T:
        sink = KafkaSink(settings)
        loop = asyncio.get_running_loop()
        with contextlib.suppress(Unavailable):  # as `serve`: start, answer 503 meanwhile
            await loop.run_in_executor(None, sink.connect)
        app: web.Application = create_app(
            settings, SourceTokens.from_file(settings.token_file), sink
        )
        async with TestClient(TestServer(app)) as client:
            return await fn(client, sink)

    return asyncio.run(go())


async def post(client: TestClient[Any, Any], token: str, items: list[Any]) -> tuple[int, Any, Any]:
    r = await client.post(
        "/v1/events",
        data=json.dumps(items).encode(),
        headers={"Content-Type": BATCH, "Authorization": f"Bearer {token}"},
    )
    return r.status, r.headers, await r.json()


def consume(bootstrap: str, topic: str, count: int) -> list[Any]:
    """Every record of `topic` once `count` are there, plus any that arrive within a
    short grace (so duplicates would show)."""
    consumer = KafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=f"test-{uuid.uuid4().hex}",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    records: list[Any] = []
    deadline = time.monotonic() + WAIT_S
    grace_until: float | None = None
    try:
        while time.monotonic() < deadline:
            for batch in consumer.poll(timeout_ms=300).values():
                records.extend(batch)
            if len(records) >= count and grace_until is None:
                grace_until = time.monotonic() + 1.0
            if grace_until is not None and time.monotonic() >= grace_until:
                break
        else:
            pytest.fail(f"{topic}: waited {WAIT_S} s, got {len(records)} of {count} records")
    finally:
        consumer.close()
    return records


def settings_for(bootstrap: str, topic: str, token_file: Path, **kw: Any) -> GatewaySettings:
    return GatewaySettings(token_file=str(token_file), bootstrap=bootstrap, topic=topic, **kw)


def test_a_valid_batch_is_202_and_on_kafka_keyed_by_dossier(
    kafka_bootstrap: str,
    topics: Topics,
    token_file: tuple[Path, str, str],
    events: list[dict[str, Any]],
) -> None:
    path, mine, _ = token_file
    sent = events[:120]

    async def go(client: TestClient[Any, Any], _sink: KafkaSink) -> int:
        status, _, body = await post(client, mine, sent)
        assert body == {"accepted": len(sent)}
        return status

    assert run_gateway(settings_for(kafka_bootstrap, topics.events, path), go) == 202
    records = consume(kafka_bootstrap, topics.events, len(sent))
    got = sorted((r.key.decode(), json.loads(r.value)["id"]) for r in records)
    assert got == sorted((e["subject"], e["id"]) for e in sent)
    # One dossier, one partition, in the order sent.
    by_partition: dict[str, set[int]] = {}
    for r in records:
        by_partition.setdefault(r.key.decode(), set()).add(r.partition)
    assert all(len(p) == 1 for p in by_partition.values())


def test_refused_requests_400_401_403_put_nothing_on_kafka(
    kafka_bootstrap: str,
    topics: Topics,
    token_file: tuple[Path, str, str],
    events: list[dict[str, Any]],
) -> None:
    path, mine, other = token_file
    mixed = [dict(e) for e in events[:10]]
    mixed[4]["time"] = "1980-01-01T00:00:00+07:00"
    marker = [events[10]]

    async def go(client: TestClient[Any, Any], _sink: KafkaSink) -> list[int]:
        statuses = []
        status, _, body = await post(client, mine, mixed)
        assert [e["index"] for e in body["events"]] == [4]
        statuses.append(status)
        statuses.append((await post(client, "wrong-token", events[:3]))[0])
        statuses.append((await post(client, other, events[:3]))[0])
        # A marker after the refused requests: once it is on the topic, anything of
        # theirs would be too.
        statuses.append((await post(client, mine, marker))[0])
        return statuses

    statuses = run_gateway(settings_for(kafka_bootstrap, topics.events, path), go)
    assert statuses == [400, 401, 403, 202]
    records = consume(kafka_bootstrap, topics.events, 1)
    assert [json.loads(r.value)["id"] for r in records] == [marker[0]["id"]]


class Forwarder(socketserver.ThreadingTCPServer):
    """A TCP forwarder to the broker: "the broker is back" on a port that was dead."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, port: int, upstream: str) -> None:
        host, _, up_port = upstream.rpartition(":")
        self.upstream = (host, int(up_port))
        super().__init__(("127.0.0.1", port), _Pipe)
        threading.Thread(target=self.serve_forever, daemon=True).start()


class _Pipe(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        server: Forwarder = self.server  # type: ignore[assignment]
        with socket.create_connection(server.upstream) as up:
            pump = threading.Thread(target=_copy, args=(up, self.request), daemon=True)
            pump.start()
            _copy(self.request, up)
            pump.join(5)


def _copy(src: socket.socket, dst: socket.socket) -> None:
    try:
        while chunk := src.recv(65536):
            dst.sendall(chunk)
    except OSError:
        pass
    finally:
        with contextlib.suppress(OSError):
            dst.shutdown(socket.SHUT_WR)


@pytest.fixture
def dead_port() -> int:
    """A port nothing listens on (bound once to pick it, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_kafka_unreachable_is_503_then_the_retry_lands_exactly_once(
    kafka_bootstrap: str,
    topics: Topics,
    token_file: tuple[Path, str, str],
    events: list[dict[str, Any]],
    dead_port: int,
) -> None:
    path, mine, _ = token_file
    sent = events[:50]
    settings = settings_for(
        f"127.0.0.1:{dead_port}",
        topics.events,
        path,
        connect_timeout=1.5,
        produce_timeout=3.0,
        retry_after=1,
    )
    forwarder: list[Forwarder] = []

    async def go(client: TestClient[Any, Any], sink: KafkaSink) -> list[int]:
        assert not sink.connected
        status, headers, body = await post(client, mine, sent)
        assert status == 503, body
        assert headers["Retry-After"] == "1" and body["error"] == "unavailable"
        forwarder.append(Forwarder(dead_port, kafka_bootstrap))  # the broker is back
        await asyncio.sleep(int(headers["Retry-After"]) + 0.1)
        statuses = [503]
        for _ in range(5):  # a client honouring Retry-After until accepted
            status, headers, body = await post(client, mine, sent)
            statuses.append(status)
            if status != 503:
                break
            await asyncio.sleep(int(headers["Retry-After"]))
        return statuses

    try:
        statuses = run_gateway(settings, go)
    finally:
        for f in forwarder:
            f.shutdown()
            f.server_close()
    assert statuses[0] == 503 and statuses[-1] == 202, statuses
    records = consume(kafka_bootstrap, topics.events, len(sent))
    ids = [json.loads(r.value)["id"] for r in records]
    assert sorted(ids) == sorted(e["id"] for e in sent)  # each exactly once
