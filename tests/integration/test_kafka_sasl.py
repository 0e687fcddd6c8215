"""Kafka with SASL/SCRAM-SHA-512: with the right password the producer, the worker and the
bridge all work; with a wrong one each command stops at once with one line, no traceback.

A broker of its own (other ports, other data): kafkactl.sh with KAFKA_EXTRA_PROPERTIES adds
a SASL_PLAINTEXT and a SASL_SSL listener next to the PLAINTEXT one it talks to itself, and
KAFKA_SCRAM_CREDENTIALS creates the user when the storage is formatted (the broker's own
kafka-storage tool).  The TLS certificates are made here with openssl."""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from conftest import KAFKACTL, REPO, Topics
from helpers.story import Story
from live import firing, judged, pulses
from services import WebhookReceiver
from workers import BIN, WorkerProcess, free_port

from streams.contract.events import DossierEvent, encode_event

pytestmark = pytest.mark.kafka

USER = "dossierwatch"
MECHANISM = "SCRAM-SHA-512"


@dataclass(frozen=True)
class SecureBroker:
    plain: str
    """PLAINTEXT listener (kafkactl.sh itself)."""
    sasl: str
    """SASL_PLAINTEXT listener."""
    sasl_ssl: str
    """SASL_SSL listener, its certificate signed by `ca`."""
    password: str
    ca: Path
    config: Path
    """Client config (TOML) for the SASL_PLAINTEXT listener."""
    tls_config: Path
    """Client config (TOML) for the SASL_SSL listener."""


def _certificates(root: Path) -> tuple[Path, Path]:
    """A CA and a server certificate for 127.0.0.1 signed by it: (CA file, server PEM
    with key and certificate, as Kafka's PEM key store wants it)."""
    if shutil.which("openssl") is None:
        pytest.fail("openssl is needed to make the test certificates")
    ca_key, ca, key, csr, crt, ext = (
        root / n for n in ("ca.key", "ca.pem", "server.key", "server.csr", "server.crt", "ext")
    )
    ext.write_text(
        "subjectAltName=IP:127.0.0.1\nsubjectKeyIdentifier=hash\n"
        "authorityKeyIdentifier=keyid,issuer\n"
    )
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    for cmd in (
        ["req", "-x509", *ec, "-keyout", ca_key, "-out", ca, "-days", "2", "-subj", "/CN=test-ca"],
        ["req", *ec, "-keyout", key, "-out", csr, "-subj", "/CN=127.0.0.1"],
        ["x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key, "-CAcreateserial",
         "-out", crt, "-days", "2", "-extfile", ext],
    ):  # fmt: skip
        subprocess.run(["openssl", *map(str, cmd)], check=True, capture_output=True)
    server = root / "server.pem"
    server.write_text(key.read_text() + crt.read_text())
    return ca, server


def _listeners(sasl: int, sasl_ssl: int, server_pem: Path) -> str:
    jaas = "org.apache.kafka.common.security.scram.ScramLoginModule required;"
    return "\n".join(
        [
            "listeners=PLAINTEXT://127.0.0.1:@KAFKA_PORT@,"
            f"SASL_PLAINTEXT://127.0.0.1:{sasl},SASL_SSL://127.0.0.1:{sasl_ssl},"
            "CONTROLLER://127.0.0.1:@KAFKA_CONTROLLER_PORT@",
            "advertised.listeners=PLAINTEXT://127.0.0.1:@KAFKA_PORT@,"
            f"SASL_PLAINTEXT://127.0.0.1:{sasl},SASL_SSL://127.0.0.1:{sasl_ssl}",
            "listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,"
            "SASL_PLAINTEXT:SASL_PLAINTEXT,SASL_SSL:SASL_SSL",
            f"sasl.enabled.mechanisms={MECHANISM}",
            f"listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config={jaas}",
            f"listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config={jaas}",
            "listener.name.sasl_ssl.ssl.keystore.type=PEM",
            f"listener.name.sasl_ssl.ssl.keystore.location={server_pem}",
            "",
        ]
    )


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecureBroker]:
    root = tmp_path_factory.mktemp("sasl-broker")
    lib = Path(os.environ.get("DOSSIERWATCH_CACHE", REPO / ".cache")) / "kafka" / "lib"
    if not lib.is_dir():
        pytest.fail(f"no Kafka jars in {lib}: run deploy/kafka/kafkactl.sh install")
    (root / "kafka").mkdir()
    (root / "kafka" / "lib").symlink_to(lib.resolve())
    ca, server_pem = _certificates(root)
    plain, controller, sasl, sasl_ssl = (free_port() for _ in range(4))
    (root / "extra.properties").write_text(_listeners(sasl, sasl_ssl, server_pem))
    password = secrets.token_urlsafe(12)
    env = {
        **os.environ,
        "DOSSIERWATCH_CACHE": str(root),
        "KAFKA_PORT": str(plain),
        "KAFKA_CONTROLLER_PORT": str(controller),
        "KAFKA_HEAP_OPTS": "-Xms128m -Xmx384m",
        "KAFKA_EXTRA_PROPERTIES": str(root / "extra.properties"),
        "KAFKA_SCRAM_CREDENTIALS": f"{MECHANISM}=[name={USER},password={password}]",
    }
    # The password in a file, as a Docker secret would give it (with its newline).
    (root / "password").write_text(password + "\n")
    config = root / "kafka-client.toml"
    config.write_text(
        f'security_protocol = "SASL_PLAINTEXT"\nsasl_username = "{USER}"\n'
        'sasl_password_file = "password"\n'
    )
    tls_config = root / "kafka-client-tls.toml"
    tls_config.write_text(
        f'security_protocol = "SASL_SSL"\nsasl_username = "{USER}"\n'
        f'sasl_password_file = "password"\nssl_cafile = "{ca.name}"\n'
    )
    kafkactl = ["bash", str(KAFKACTL)]
    subprocess.run([*kafkactl, "up"], env=env, check=True, timeout=180, stdout=subprocess.DEVNULL)
    try:
        yield SecureBroker(
            f"127.0.0.1:{plain}",
            f"127.0.0.1:{sasl}",
            f"127.0.0.1:{sasl_ssl}",
            password,
            ca,
            config,
            tls_config,
        )
    finally:
        subprocess.run(
            [*kafkactl, "down"], env=env, check=True, timeout=60, stdout=subprocess.DEVNULL
        )


def _topics() -> Topics:
    tag = uuid.uuid4().hex[:6]
    events, alerts, dlq, ticks = (
        f"s{tag}-dossier-{s}" for s in ("events", "alerts", "events-dlq", "ticks")
    )
    return Topics(events, alerts, dlq, ticks, 6, f"s{tag}-")


def _story(topics: Topics) -> tuple[list[DossierEvent], set[str]]:
    """A ping-pong dossier and a pulse on every partition: the alerts a worker must fire."""
    end = datetime(2025, 9, 20, tzinfo=UTC)
    s = (
        Story("SASL-PP")
        .received("2025-09-08T09:00", time_limit="30wd")
        .transfer("2025-09-08T10:00", "A")
        .transfer("2025-09-09T10:00", "B")
        .back("2025-09-10T10:00", "A")
    )
    events = s.events + pulses(end, topics.partitions)
    want = {i for i in firing(judged(events, int(end.timestamp()))) if i.startswith("SASL-")}
    assert "SASL-PP/ping_pong_unit/warning/1" in want
    return events, want


def _run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN), *args],
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=60,
    )


def _bridge(broker: SecureBroker, topic: str, alertmanager: str, log: Path) -> Any:
    with open(log, "ab") as out:
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "streams.cli.alerts",
                "bridge",
                "--bootstrap",
                broker.sasl_ssl,
                "--kafka-config",
                str(broker.tls_config),
                "--topic",
                topic,
                "--group",
                f"bridge-{uuid.uuid4().hex[:6]}",
                "--alertmanager",
                alertmanager,
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )


def _posted_ids(bodies: list[Any]) -> set[str]:
    return {a["labels"]["alert_id"] for body in bodies for a in body}


def test_the_right_password_carries_events_to_alerts_and_alertmanager(
    broker: SecureBroker, tmp_path: Path
) -> None:
    """Over SASL_PLAINTEXT the worker creates its topics and gets its partitions, `publish`
    sends a story, the worker fires its alerts, and the bridge reads them over SASL_SSL
    (certificate checked against the test CA) and posts them to Alertmanager."""
    topics = _topics()
    events, want = _story(topics)
    story = tmp_path / "story.jsonl"
    story.write_bytes(b"".join(encode_event(e) + b"\n" for e in events))
    worker = WorkerProcess(
        broker.sasl,
        topics,
        tmp_path / "w",
        app_id=f"sasl-{topics.prefix}",
        log=tmp_path / "worker.log",
        args=["--kafka-config", str(broker.config)],
    )
    alertmanager = WebhookReceiver()
    bridge = None
    try:
        worker.wait_assigned(timeout=60)
        sent = _run(
            "publish", str(story), "--bootstrap", broker.sasl, "--topic", topics.events,
            "--kafka-config", str(broker.config),
        )  # fmt: skip
        assert sent.returncode == 0, sent.stderr
        assert f"{len(events)} events sent" in sent.stderr
        bridge = _bridge(broker, topics.alerts, alertmanager.url, tmp_path / "bridge.log")
        got = alertmanager.wait_for(lambda b: _posted_ids(b) >= want, timeout=60)
        assert _posted_ids(got) >= want
    finally:
        if bridge is not None:
            bridge.terminate()
            bridge.wait(30)
        alertmanager.stop()
        worker.stop()


def test_a_wrong_password_stops_every_command_at_once_in_one_line(
    broker: SecureBroker, tmp_path: Path
) -> None:
    """With the file's password overridden by a wrong KAFKA_SASL_PASSWORD, `publish`,
    `simulate --bootstrap`, `worker` and `bridge` each exit 1 within seconds, saying on one
    stderr line that Kafka refused the user's credentials: no traceback, no retrying."""
    story = tmp_path / "one.jsonl"
    story.write_bytes(encode_event(_story(_topics())[0][0]) + b"\n")
    common = ["--bootstrap", broker.sasl, "--kafka-config", str(broker.config)]
    commands = {
        "publish": ["publish", str(story), *common],
        "simulate": ["simulate", "--dossiers", "2", *common],
        "worker": [
            "worker",
            *common,
            "--store",
            "memory://",
            "--data-dir",
            str(tmp_path / "w"),
            "--web-port",
            str(free_port()),
        ],
        "bridge": ["bridge", *common],
    }
    env = {**os.environ, "KAFKA_SASL_PASSWORD": "not-" + broker.password}
    began = time.monotonic()
    running = {
        name: subprocess.Popen(
            [str(BIN), *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for name, args in commands.items()
    }
    results = {name: (p.communicate(timeout=60), p.returncode) for name, p in running.items()}
    elapsed = time.monotonic() - began
    for name, ((out, err), code) in results.items():
        assert code == 1, f"{name}: exit {code}\n{out}{err}"
        assert err.splitlines() == [
            f"dossierwatch {name}: Kafka refused the credentials for user {USER!r} at"
            f" {broker.sasl} (SASL {MECHANISM} authentication failed)"
        ], f"{name}:\n{err}"
        assert "Traceback" not in out + err
    assert elapsed < 20, f"the commands took {elapsed:.1f} s to give up"


def test_an_untrusted_broker_certificate_is_one_line(broker: SecureBroker, tmp_path: Path) -> None:
    """SASL_SSL without the broker's CA (the system's CAs only): `simulate` stops at once
    saying the certificate is not trusted, before any password is sent."""
    config = tmp_path / "no-ca.toml"
    config.write_text(
        f'security_protocol = "SASL_SSL"\nsasl_username = "{USER}"\n'
        f'sasl_password = "{broker.password}"\n'
    )
    done = _run(
        "simulate", "--dossiers", "1", "--bootstrap", broker.sasl_ssl,
        "--kafka-config", str(config),
    )  # fmt: skip
    assert done.returncode == 1, done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    assert f"the certificate of Kafka at {broker.sasl_ssl} is not trusted" in lines[0]
