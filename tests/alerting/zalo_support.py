"""Helpers of the Zalo adapter tests: the adapter as a process, the webhook body
Alertmanager posts, and a webhook receiver that records the Authorization header."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from alerting_support import ZALO_WEBHOOK_TOKEN, alert, write_token
from fake_zalo import FakeZalo
from services import free_port, wait_http

from alerts.labels import alert_annotations, alert_labels, dossier_url

RECIPIENTS = """
[unit_channel]
"*" = ["zuid-onestop-desk"]
DEPT_LAND = ["zuid-land-desk"]

[unit_head]
"*" = ["zuid-onestop-head"]
DEPT_JUSTICE = ["zuid-justice-head", "zuid-justice-deputy"]
DEPT_LAND = ["zuid-land-head"]

[director]
"*" = ["zuid-director"]

[inspectors]
"*" = ["zuid-inspector"]
"""

BACKOFF = 0.5

_DEFAULT = object()


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class AdapterProcess:
    """`python -m streams.cli.alerts zalo-adapter` (= `dossierwatch zalo-adapter`), given the
    webhook secret in a file (`secret`), or run with --insecure-no-auth (`secret` None)."""

    prefix = "zalo"
    """The first part of the adapter's webhook paths."""

    def __init__(
        self,
        zalo: FakeZalo,
        workdir: Path,
        *,
        configured: bool = True,
        seed: bool = False,
        secret: str | None = ZALO_WEBHOOK_TOKEN,
        extra: Sequence[str] = (),
        recipients: str = RECIPIENTS,
    ) -> None:
        self.tokens = workdir / "zalo-tokens.json"
        self.secret = secret
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        env.pop("DOSSIERWATCH_WEBHOOK_SECRET_FILE", None)
        if configured:
            env["ZALO_APP_SECRET"] = zalo.secret_key
        if seed:  # first start: the tokens come from the environment
            env |= {"ZALO_OA_ACCESS_TOKEN": "AT-1", "ZALO_OA_REFRESH_TOKEN": "RT-1"}
        else:
            self.tokens.write_text(json.dumps({"access_token": "AT-1", "refresh_token": "RT-1"}))
        recipients_file = workdir / "zalo-recipients.toml"
        recipients_file.write_text(recipients)
        self.secret_file = workdir / "webhook-token"
        if secret is not None:
            write_token(self.secret_file, secret)
        auth = ["--secret-file", str(self.secret_file)] if secret is not None else []
        self.log = workdir / "zalo-adapter.log"
        # A free port can be taken by another test process before the adapter binds it
        # (seen in CI: "address already in use"): then another port, not a failure.
        for attempt in range(3):
            self.port = free_port()
            self.url = f"http://127.0.0.1:{self.port}"
            cmd = [
                sys.executable,
                "-m",
                "streams.cli.alerts",
                "zalo-adapter",
                "--port",
                str(self.port),
                "--recipients",
                str(recipients_file),
                "--token-file",
                str(self.tokens),
                "--app-id",
                zalo.app_id if configured else "",
                "--api-base",
                zalo.url,
                "--oauth-base",
                zalo.url,
                "--backoff",
                str(BACKOFF),
                *(auth or ["--insecure-no-auth"]),
                *extra,
            ]
            with open(self.log, "ab") as out:
                self.proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env)
            try:
                wait_http(f"{self.url}/health", proc=self.proc, log=self.log)
                return
            except AssertionError as err:
                if attempt == 2 or "address already in use" not in str(err):
                    raise

    def post(
        self,
        path: str,
        body: bytes | Iterable[bytes],
        *,
        token: object = _DEFAULT,
        headers: dict[str, str] | None = None,
        method: str = "POST",
    ) -> Answer:
        """One request; `token` defaults to the adapter's secret, None sends no header."""
        sent = {"Content-Type": "application/json", **(headers or {})}
        if token is _DEFAULT:
            token = self.secret
        if token is not None:
            sent["Authorization"] = f"Bearer {token}"
        request = urllib.request.Request(
            f"{self.url}{path}", data=body, headers=sent, method=method
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as r:
                return Answer(int(r.status), dict(r.headers), r.read())
        except urllib.error.HTTPError as err:
            return Answer(err.code, dict(err.headers), err.read())

    def notify(self, role: str, group: dict[str, Any], *, token: object = _DEFAULT) -> int:
        return self.post(f"/{self.prefix}/{role}", json.dumps(group).encode(), token=token).status

    def metric(self, name: str, **labels: str) -> float:
        """The value of one sample on /metrics (0 when absent)."""
        with urllib.request.urlopen(f"{self.url}/metrics", timeout=10) as r:
            text = r.read().decode()
        want = name + (
            "{" + ",".join(f'{k}="{v}"' for k, v in sorted(labels.items())) + "}" if labels else ""
        )
        for line in text.splitlines():
            sample, _, value = line.rpartition(" ")
            if sample == want:
                return float(value)
        return 0.0

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(20)


def start_error(workdir: Path, command: str, *args: str) -> str:
    """What `dossierwatch <command>` says on stderr when it refuses to start (it must)."""
    secret = write_token(workdir / "start-secret", ZALO_WEBHOOK_TOKEN)
    cmd = [sys.executable, "-m", "streams.cli.alerts", command, "--secret-file", str(secret)]
    done = subprocess.run(
        [*cmd, *args, "--port", "0"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode != 0, done.stderr
    return done.stderr


def webhook_group(
    unit: str, dossier: str, level: str, *, fingerprint: str = "0123456789abcdef"
) -> dict[str, Any]:
    """The body Alertmanager posts to a webhook receiver (version 4) for one alert."""
    a = alert(dossier, level, unit=unit)
    labels = alert_labels(a)
    notes = alert_annotations(a, dossier_url("http://dossiers.test", dossier))
    return {
        "version": "4",
        "groupKey": f'{{}}/{{severity="critical"}}:{{alertname="DossierDeadline", unit="{unit}"}}',
        "truncatedAlerts": 0,
        "status": "firing",
        "receiver": f"unit-head-{unit}",
        "groupLabels": {"alertname": "DossierDeadline", "unit": unit},
        "commonLabels": labels,
        "commonAnnotations": notes,
        "externalURL": "http://alertmanager.test",
        "alerts": [
            {
                "status": "firing",
                "labels": labels,
                "annotations": notes,
                "startsAt": "2025-07-10T02:00:00Z",
                "endsAt": "0001-01-01T00:00:00Z",
                "generatorURL": notes["dossier_url"],
                "fingerprint": fingerprint,
            }
        ],
    }


def many_alerts(
    n: int, summary: str, url: str, *, unit: str = "DEPT_LAND", level: str = "overdue"
) -> dict[str, Any]:
    """One notification of `n` alerts; `summary` and `url` are formatted with {i}."""
    group = webhook_group(unit, "HS-0", level)
    template = group["alerts"][0]
    group["alerts"] = []
    for i in range(n):
        a = copy.deepcopy(template)
        a["labels"]["dossier"] = f"HS-{i}"
        a["annotations"]["summary"] = summary.format(i=i)
        a["annotations"]["dossier_url"] = url.format(i=i)
        a["fingerprint"] = f"f{i}"
        group["alerts"].append(a)
    return group


class HeaderRecorder:
    """A webhook receiver that keeps (path, Authorization header) of each POST."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str | None]] = []
        self._lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with outer._lock:
                    outer.seen.append((self.path, self.headers.get("Authorization")))
                self.send_response(200)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def snapshot(self) -> list[tuple[str, str | None]]:
        with self._lock:
            return list(self.seen)

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
