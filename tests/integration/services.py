"""Real Prometheus and Alertmanager processes, a webhook receiver and an SMTP server,
each on a free loopback port, for the monitoring tests.

The binaries are Debian's (deploy/ensure-tools.sh installs them); a test that needs
one and does not find it fails, saying so, rather than skipping.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Callable
from email import message_from_bytes
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def binary(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(
            f"{name} not found: run deploy/ensure-tools.sh (Debian packages)", pytrace=False
        )
    return path


def wait_http(
    url: str,
    timeout: float = 30.0,
    proc: subprocess.Popen[bytes] | None = None,
    log: Path | None = None,
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            tail = log.read_text(errors="replace")[-2000:] if log else ""
            raise AssertionError(f"{url}: process exited {proc.returncode}\n{tail}")
        try:
            with urllib.request.urlopen(url, timeout=1) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"{url} not ready in {timeout}s")


class _Process:
    def __init__(self, cmd: list[str], log: Path, ready_url: str) -> None:
        self.log = log
        with open(log, "ab") as out:
            self.proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)
        wait_http(ready_url, proc=self.proc, log=log)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


class PrometheusServer(_Process):
    """`prometheus` with the given config file; `query()` runs instant PromQL."""

    def __init__(self, config: Path, workdir: Path, port: int | None = None) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        workdir.mkdir(parents=True, exist_ok=True)
        cmd = [
            binary("prometheus"),
            f"--config.file={config}",
            f"--storage.tsdb.path={workdir / 'data'}",
            f"--web.listen-address=127.0.0.1:{self.port}",
            "--web.enable-lifecycle",
        ]
        super().__init__(cmd, workdir / "prometheus.log", f"{self.url}/-/ready")

    def query(self, promql: str) -> list[dict[str, Any]]:
        url = f"{self.url}/api/v1/query?" + urllib.parse.urlencode({"query": promql})
        with urllib.request.urlopen(url, timeout=10) as r:
            body = json.loads(r.read())
        assert body["status"] == "success", body
        result: list[dict[str, Any]] = body["data"]["result"]
        return result

    def api(self, path: str) -> Any:
        with urllib.request.urlopen(f"{self.url}{path}", timeout=10) as r:
            return json.loads(r.read())


class AlertmanagerServer(_Process):
    """`prometheus-alertmanager` (Alertmanager) with the given config, no clustering."""

    def __init__(self, config: Path, workdir: Path, port: int | None = None) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.config = config
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        self._start()

    def _start(self) -> None:
        cmd = [
            binary("prometheus-alertmanager"),
            f"--config.file={self.config}",
            f"--storage.path={self.workdir / 'data'}",
            f"--web.listen-address=127.0.0.1:{self.port}",
            "--cluster.listen-address=",
        ]
        super().__init__(cmd, self.workdir / "alertmanager.log", f"{self.url}/-/ready")

    def restart(self) -> None:
        self.stop()
        self._start()

    def alerts(self) -> list[dict[str, Any]]:
        with urllib.request.urlopen(f"{self.url}/api/v2/alerts", timeout=10) as r:
            result: list[dict[str, Any]] = json.loads(r.read())
            return result


class WebhookReceiver:
    """Collects the JSON bodies POSTed to it (Alertmanager's webhook receiver)."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self.paths: list[str] = []
        self._lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                with outer._lock:
                    outer.paths.append(self.path)
                    outer.received.append(json.loads(body or b"{}"))
                self.send_response(200)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def wait_for(
        self, predicate: Callable[[list[dict[str, Any]]], bool], timeout: float = 60.0
    ) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                snapshot = list(self.received)
            if predicate(snapshot):
                return snapshot
            time.sleep(0.2)
        raise AssertionError(f"webhook: condition not met in {timeout}s; got {len(self.received)}")

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class SmtpServer:
    """A real SMTP server (aiosmtpd) that keeps every message it receives."""

    def __init__(self) -> None:
        from aiosmtpd.controller import Controller

        self.messages: list[Message] = []
        outer = self

        class Handler:
            async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
                outer.messages.append(message_from_bytes(envelope.content))
                return "250 OK"

        self.port = free_port()
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def wait_for(
        self, predicate: Callable[[list[Message]], bool], timeout: float = 60.0
    ) -> list[Message]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate(list(self.messages)):
                return list(self.messages)
            time.sleep(0.2)
        raise AssertionError(f"smtp: condition not met in {timeout}s; got {len(self.messages)}")

    def stop(self) -> None:
        self.controller.stop()
