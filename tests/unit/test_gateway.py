"""The ingest gateway without a broker: authentication, media types, size and batch
limits, all-or-nothing validation, 503 — through aiohttp's test client, with a fake sink
standing in for Kafka (here only; tests/integration/test_ingest_gateway.py uses the broker)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, TypeVar

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from producers.gateway.app import BATCH, SINGLE, authenticate, create_app, ingest, read_body
from producers.gateway.auth import SourceTokens, TokenFileError, write_token
from producers.gateway.settings import GatewaySettings
from producers.gateway.sink import Record, Unavailable
from producers.simulator import simulate
from streams import cli
from streams.contract.events import event_from_dict

T = TypeVar("T")
ICT = timezone(timedelta(hours=7))
SOURCE = "dossierwatch-simulator"


class FakeSink:
    """Keeps what it is given; `down` makes it refuse as Kafka would when unreachable."""

    connected = True

    def __init__(self) -> None:
        self.records: list[Record] = []
        self.down = False
        self.closed = False

    async def deliver(self, records: Sequence[Record]) -> None:
        if self.down:
            raise Unavailable("0 of 1 events acknowledged (fake broker down)")
        self.records.extend(records)

    async def close(self) -> None:
        self.closed = True


@pytest.fixture(scope="module")
def events() -> list[dict[str, Any]]:
    return list(simulate(seed=5, start=datetime(2025, 7, 7, tzinfo=ICT), dossiers=400))[:1200]


class Env:
    def __init__(self, tmp: Path) -> None:
        self.file = tmp / "ingest-tokens.toml"
        self.token = write_token(self.file, "simulator", source=SOURCE)
        self.other = write_token(self.file, "portal", source="dvc-portal")
        self.metrics = write_token(self.file, "prometheus", source=None, metrics=True)
        self.sink = FakeSink()

    def settings(self, **kw: Any) -> GatewaySettings:
        return GatewaySettings(token_file=str(self.file), **kw)

    def run(
        self, fn: Callable[[TestClient[Any, Any]], Awaitable[T]], app: web.Application | None = None
    ) -> T:
        app = app or create_app(self.settings(), SourceTokens.from_file(self.file), self.sink)

        async def go() -> T:
            async with TestClient(TestServer(app)) as client:
                return await fn(client)

        return asyncio.run(go())

    def post(
        self,
        body: bytes,
        content_type: str = BATCH,
        token: str | None = "mine",
        app: web.Application | None = None,
    ) -> tuple[int, dict[str, str], Any]:
        headers = {"Content-Type": content_type}
        if token is not None:
            headers["Authorization"] = f"Bearer {self.token if token == 'mine' else token}"

        async def go(client: TestClient[Any, Any]) -> tuple[int, dict[str, str], Any]:
            r = await client.post("/v1/events", data=body, headers=headers)
            text = await r.text()
            return r.status, dict(r.headers), json.loads(text) if text else None

        return self.run(go, app)


@pytest.fixture
def env(tmp_path: Path) -> Env:
    return Env(tmp_path)


def batch(items: Sequence[dict[str, Any]]) -> bytes:
    return json.dumps(list(items)).encode()


# -- authentication ------------------------------------------------------------------


def test_no_source_token_begins_with_a_dash(tmp_path: Path) -> None:
    """A source's token never begins with "-", which `--token -x…` would read as an
    option; 300 draws (each 1 in 64 before) find a regression with near certainty."""
    path = tmp_path / "sources.toml"
    assert not any(write_token(path, f"s{i}", source="src").startswith("-") for i in range(300))


def test_no_token_is_401_and_nothing_sent(env: Env, events: list[dict[str, Any]]) -> None:
    status, headers, body = env.post(batch(events[:3]), token=None)
    assert status == 401
    assert headers["WWW-Authenticate"].startswith("Bearer")
    assert body["error"] == "unauthorized"
    assert env.sink.records == []


def test_wrong_token_is_401(env: Env, events: list[dict[str, Any]]) -> None:
    status, _, body = env.post(batch(events[:3]), token="not-a-token")
    assert (status, body["error"]) == (401, "unauthorized")
    status, _, _ = env.post(batch(events[:3]), token=f"{env.token}x")
    assert status == 401
    assert env.sink.records == []


def test_token_of_another_source_is_403_and_nothing_sent(
    env: Env, events: list[dict[str, Any]]
) -> None:
    status, _, body = env.post(batch(events[:3]), token=env.other)
    assert status == 403
    assert body["error"] == "forbidden_source"
    assert [e["index"] for e in body["events"]] == [0, 1, 2]
    assert env.sink.records == []


def test_one_foreign_event_in_a_batch_refuses_the_whole_batch(
    env: Env, events: list[dict[str, Any]]
) -> None:
    items = [dict(e) for e in events[:4]]
    items[2]["source"] = "dvc-portal"
    status, _, body = env.post(batch(items))
    assert status == 403
    assert body["events"] == [{"index": 2, "id": items[2]["id"], "source": "dvc-portal"}]
    assert env.sink.records == []


def test_a_metrics_token_may_not_send(env: Env, events: list[dict[str, Any]]) -> None:
    status, _, body = env.post(batch(events[:1]), token=env.metrics)
    assert (status, body["error"]) == (403, "forbidden")


# -- media types -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "content_type",
    ["application/json", "text/plain", "application/cloudevents-batch+json; charset=latin-1"],
)
def test_other_content_types_are_415(
    env: Env, events: list[dict[str, Any]], content_type: str
) -> None:
    status, _, body = env.post(batch(events[:2]), content_type=content_type)
    assert (status, body["error"]) == (415, "unsupported_media_type")
    assert env.sink.records == []


def test_one_event_is_produced_as_sent_keyed_by_dossier(
    env: Env, events: list[dict[str, Any]]
) -> None:
    raw = json.dumps(events[0], indent=1).encode()  # bytes kept as received, spaces and all
    status, _, body = env.post(raw, content_type=f"{SINGLE}; charset=UTF-8")
    assert (status, body) == (202, {"accepted": 1})
    [record] = env.sink.records
    assert record.key == events[0]["subject"].encode()
    assert record.value == raw
    assert ("ce_id", events[0]["id"].encode()) in record.headers


def test_a_batch_is_produced_in_order_each_element_as_sent(
    env: Env, events: list[dict[str, Any]]
) -> None:
    elements = [json.dumps(e, separators=(",", ":")).encode() for e in events[:50]]
    body = b"[\n  " + b" ,\n  ".join(elements) + b"\n]"
    status, _, answer = env.post(body)
    assert (status, answer) == (202, {"accepted": 50})
    assert [r.value for r in env.sink.records] == elements
    assert [r.key.decode() for r in env.sink.records] == [e["subject"] for e in events[:50]]


# -- limits ----------------------------------------------------------------------------


def test_a_declared_body_over_the_limit_is_413(env: Env, events: list[dict[str, Any]]) -> None:
    app = create_app(env.settings(max_body=2000), SourceTokens.from_file(env.file), env.sink)
    status, headers, body = env.post(batch(events[:40]), app=app)
    assert (status, body["error"]) == (413, "too_large")
    assert headers.get("Connection") == "close"
    assert env.sink.records == []


def test_a_chunked_body_over_the_limit_is_413(env: Env, events: list[dict[str, Any]]) -> None:
    app = create_app(env.settings(max_body=2000), SourceTokens.from_file(env.file), env.sink)
    payload = batch(events[:40])

    async def chunks() -> AsyncIterator[bytes]:
        for i in range(0, len(payload), 500):
            yield payload[i : i + 500]

    async def go(client: TestClient[Any, Any]) -> int:
        headers = {"Content-Type": BATCH, "Authorization": f"Bearer {env.token}"}
        r = await client.post("/v1/events", data=chunks(), headers=headers)
        return r.status

    assert env.run(go, app) == 413
    assert env.sink.records == []


def test_a_batch_over_1000_events_is_413(env: Env, events: list[dict[str, Any]]) -> None:
    status, _, body = env.post(batch(events[:1001]))
    assert (status, body["error"]) == (413, "too_many_events")
    assert "at most 1,000" in body["message"]
    assert env.sink.records == []
    status, _, body = env.post(batch(events[:1000]))
    assert (status, body) == (202, {"accepted": 1000})


@pytest.mark.parametrize(
    ("body", "error"),
    [(b"[]", "empty_batch"), (b'{"a": 1}', "not_a_batch"), (b"[{", "not_a_batch")],
)
def test_bodies_that_are_not_a_batch_are_400(env: Env, body: bytes, error: str) -> None:
    status, _, answer = env.post(body)
    assert (status, answer["error"]) == (400, error)


# -- all or nothing --------------------------------------------------------------------


def test_a_mixed_batch_is_400_listing_each_bad_event_and_nothing_is_sent(
    env: Env, events: list[dict[str, Any]]
) -> None:
    items: list[Any] = [dict(e) for e in events[:6]]
    items[1]["time"] = "1980-01-01T00:00:00+07:00"
    del items[3]["subject"]
    items[4] = "not an event"
    status, _, body = env.post(batch(items))
    assert status == 400
    assert body["error"] == "invalid_events"
    got = {e["index"]: e for e in body["events"]}
    assert sorted(got) == [1, 3, 4]
    assert (got[1]["id"], got[1]["field"], got[1]["reason"]) == (
        items[1]["id"],
        "time",
        "time_out_of_range",
    )
    assert (got[3]["id"], got[3]["field"], got[3]["reason"]) == (
        items[3]["id"],
        "subject",
        "missing_field",
    )
    assert got[4]["id"] is None and got[4]["reason"] == "not_json"
    assert all(e["message"] for e in body["events"])
    assert env.sink.records == []


def test_a_broker_that_does_not_acknowledge_is_503_with_retry_after(
    env: Env, events: list[dict[str, Any]]
) -> None:
    env.sink.down = True
    app = create_app(env.settings(retry_after=7), SourceTokens.from_file(env.file), env.sink)
    status, headers, body = env.post(batch(events[:5]), app=app)
    assert (status, headers["Retry-After"], body["error"]) == (503, "7", "unavailable")
    assert "retry" in body["message"]


# -- the adapter path, health, metrics ----------------------------------------------------


def test_an_adapter_route_is_three_lines(env: Env, events: list[dict[str, Any]]) -> None:
    """Events built in-process take the same path: validate all, produce all."""
    built = [event_from_dict(e) for e in events[:5]]

    async def adapter(request: web.Request) -> web.Response:
        sender = authenticate(request)
        await read_body(request)
        return await ingest(request, sender, built)

    app = create_app(env.settings(), SourceTokens.from_file(env.file), env.sink)
    app.router.add_post("/v1/adapters/test", adapter)

    async def go(client: TestClient[Any, Any]) -> tuple[int, int]:
        ok = await client.post(
            "/v1/adapters/test", data=b"{}", headers={"Authorization": f"Bearer {env.token}"}
        )
        anonymous = await client.post("/v1/adapters/test", data=b"{}")
        return ok.status, anonymous.status

    assert env.run(go, app) == (202, 401)
    assert [r.key.decode() for r in env.sink.records] == [e.subject for e in built]


def test_health_is_open_and_metrics_need_a_metrics_token(
    env: Env, events: list[dict[str, Any]]
) -> None:
    env.post(batch(events[:3]))
    bad = [dict(events[0])]
    bad[0]["time"] = "1980-01-01T00:00:00+07:00"
    env_app = create_app(env.settings(), SourceTokens.from_file(env.file), env.sink)

    async def go(client: TestClient[Any, Any]) -> tuple[int, int, int, int, str]:
        headers = {"Content-Type": BATCH, "Authorization": f"Bearer {env.token}"}
        await client.post("/v1/events", data=batch(events[:3]), headers=headers)
        await client.post("/v1/events", data=batch(bad), headers=headers)
        health = await client.get("/health")
        anonymous = await client.get("/metrics")
        source_token = await client.get(
            "/metrics", headers={"Authorization": headers["Authorization"]}
        )
        scrape = await client.get("/metrics", headers={"Authorization": f"Bearer {env.metrics}"})
        return (
            health.status,
            anonymous.status,
            source_token.status,
            scrape.status,
            await scrape.text(),
        )

    health, anonymous, source_token, scrape, text = env.run(go, env_app)
    assert (health, anonymous, source_token, scrape) == (200, 401, 403, 200)
    assert 'dossierwatch_ingest_requests_total{status="202"} 1.0' in text
    assert 'dossierwatch_ingest_requests_total{status="400"} 1.0' in text
    assert "dossierwatch_ingest_events_accepted_total 3.0" in text
    assert 'dossierwatch_ingest_events_rejected_total{reason="time_out_of_range"} 1.0' in text
    assert "dossierwatch_ingest_produce_seconds_count 1.0" in text

    public = create_app(
        env.settings(public_metrics=True), SourceTokens.from_file(env.file), env.sink
    )

    async def scrape_open(client: TestClient[Any, Any]) -> int:
        return (await client.get("/metrics")).status

    assert env.run(scrape_open, public) == 200


def test_the_sink_is_closed_when_the_app_stops(env: Env) -> None:
    async def nothing(client: TestClient[Any, Any]) -> None:
        return None

    env.run(nothing)
    assert env.sink.closed


# -- the token file and the command ------------------------------------------------------


def test_the_token_file_keeps_only_hashes(env: Env) -> None:
    text = env.file.read_text()
    assert env.token not in text and env.other not in text
    tokens = SourceTokens.from_file(env.file)
    me = tokens.sender(f"Bearer {env.token}")
    assert me is not None and (me.name, me.source, me.metrics) == ("simulator", SOURCE, False)
    assert tokens.sender(f"Basic {env.token}") is None
    assert env.file.stat().st_mode & 0o777 == 0o600


def test_a_broken_token_file_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "t.toml"
    path.write_text('[[token]]\nname = "x"\nsha256 = "abc"\nsource = "s"\n')
    with pytest.raises(TokenFileError, match="64 lowercase hex"):
        SourceTokens.from_file(path)
    path.write_text(f'[[token]]\nname = "x"\nsha256 = "{"a" * 64}"\n')
    with pytest.raises(TokenFileError, match="source"):
        SourceTokens.from_file(path)


def test_the_command_refuses_to_run_open(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DOSSIERWATCH_INGEST_TOKEN_FILE", raising=False)
    assert cli.main(["ingest"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--token-file" in err
    assert cli.main(["ingest", "--token-file", str(tmp_path / "absent.toml")]) == 2
    assert capsys.readouterr().err.count("\n") == 1


def test_the_token_command_prints_the_token_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "tokens.toml"
    argv = ["ingest", "token", "--file", str(path), "--name", "portal", "--source", "dvc-portal"]
    assert cli.main(argv) == 0
    token = capsys.readouterr().out.strip()
    sender = SourceTokens.from_file(path).sender(f"Bearer {token}")
    assert sender is not None and sender.source == "dvc-portal"
    assert token not in path.read_text()


# -- the adapter and schema routes ------------------------------------------------------

DVCQG = Path(__file__).resolve().parents[1] / "fixtures" / "adapters" / "dvcqg.jsonl"


def _post_adapted(env: Env, name: str, body: bytes, token: str | None) -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}

    async def go(client: TestClient[Any, Any]) -> tuple[int, Any]:
        r = await client.post(f"/v1/adapters/{name}", data=body, headers=headers)
        text = await r.text()
        return r.status, json.loads(text) if text else None

    return env.run(go)


def test_a_portal_sync_request_is_mapped_and_produced_under_the_token_source(env: Env) -> None:
    """A national-portal record body posted to /v1/adapters/dvcqg becomes contract events
    stamped with the token's source, keyed by MaHoSo; the same body again gives the same
    event ids (downstream drops them as redeliveries)."""
    record = DVCQG.read_text("utf-8").splitlines()[0].encode()
    status, body = _post_adapted(env, "dvcqg", record, env.token)
    assert status == 202 and body["accepted"] >= 1, body
    first = [(r.key, json.loads(r.value)["id"]) for r in env.sink.records]
    assert {json.loads(r.value)["source"] for r in env.sink.records} == {SOURCE}
    assert {k for k, _ in first} == {b"G01.99-250908-0001"}
    env.sink.records.clear()
    assert _post_adapted(env, "dvcqg", record, env.token)[0] == 202
    assert [(r.key, json.loads(r.value)["id"]) for r in env.sink.records] == first


def test_an_unmappable_payload_is_400_naming_the_field_and_nothing_is_sent(env: Env) -> None:
    """An unknown portal status code is refused with its field and value, never guessed."""
    record = json.loads(DVCQG.read_text("utf-8").splitlines()[0])
    record["data"][0]["TrangThaiHoSo"] = "11"
    status, body = _post_adapted(env, "dvcqg", json.dumps(record).encode(), env.token)
    assert status == 400 and body["error"] == "invalid_payload", body
    (problem,) = body["events"]
    assert (problem["reason"], problem["value"]) == ("unknown_code", "11")
    assert "TrangThaiHoSo" in problem["field"]
    assert env.sink.records == []


def test_adapters_need_a_sender_token_and_an_existing_name(env: Env) -> None:
    """No token is 401 (even for an unknown adapter); an unknown adapter is 404."""
    assert _post_adapted(env, "nope", b"{}", None)[0] == 401
    status, body = _post_adapted(env, "nope", b"{}", env.token)
    assert status == 404 and "dvcqg" in body["message"]


def test_the_schema_is_served_to_token_holders_only(env: Env) -> None:
    """GET /v1/schema answers the contract's 2020-12 schema with a token, 401 without."""

    async def go(client: TestClient[Any, Any]) -> tuple[int, int, Any]:
        anonymous = await client.get("/v1/schema")
        ok = await client.get("/v1/schema", headers={"Authorization": f"Bearer {env.token}"})
        return anonymous.status, ok.status, await ok.json(content_type=None)

    anonymous, ok, doc = env.run(go)
    assert (anonymous, ok) == (401, 200)
    assert doc["$schema"].endswith("2020-12/schema") and len(doc["oneOf"]) == 13
