"""Helpers of the alerting tests: the rendered config, alerts, a bridge process, offsets."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from helpers.processes import LoggedProcess
from kafka import KafkaConsumer
from kafka.structs import TopicPartition

from alerts.amconfig import write
from streams.contract.alerts import Alert, Severity, Status, encode_alert

FAST = {
    "group_wait: 30s": "group_wait: 1s",
    "group_interval: 5m": "group_interval: 1s",
    "group_interval: 30m": "group_interval: 1s",
}
"""Test timings: a notification a second after its alert, not half a minute."""

NEVER_QUIET = {
    "mute_time_intervals: [quiet-unit-channels]": "mute_time_intervals: []",
    "mute_time_intervals: [quiet-inspectors]": "mute_time_intervals: []",
}
"""The quiet hours switched off, so a test sees warnings delivered whatever the hour."""

ALWAYS_QUIET = {
    "{start_time: '13:00', end_time: '24:00'}": "{start_time: '00:00', end_time: '24:00'}"
}
"""The quiet hours stretched over the whole day, so a test runs inside them at any hour."""


ZALO_WEBHOOK_TOKEN = "test-zalo-webhook-token-7f3a9c1e5d"
"""What the rendered config's Alertmanager sends the Zalo adapter (and the adapter expects)."""
HOOKS_WEBHOOK_TOKEN = "test-ops-hooks-token-52b8d4a0e6"
SMS_WEBHOOK_TOKEN = "test-sms-webhook-token-91c0e7d2f4"
"""What the rendered config's Alertmanager sends the SMS adapter."""
"""What the rendered config's Alertmanager sends the ops-hooks webhooks."""


def write_token(path: Path, token: str) -> Path:
    """A token file as an operator writes it: a trailing newline both sides ignore."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(token + "\n")
    path.chmod(0o600)
    return path


def render_config(
    out: Path,
    hooks_url: str,
    zalo_url: str,
    smtp_port: int,
    *,
    zalo_token: str = ZALO_WEBHOOK_TOKEN,
    hooks_token: str = HOOKS_WEBHOOK_TOKEN,
    quiet: bool = False,
    sms_url: str | None = None,
) -> Path:
    """deploy/alertmanager with local endpoints, fast group timings, and the webhooks'
    token files written under `out`/secrets (in place of /run/secrets).  The quiet hours
    never hold a warning back, or, with `quiet`, always do: a test does not depend on the
    hour it runs at.  The SMS webhooks go to `sms_url`, by default where the Zalo ones go."""
    secrets = out / "secrets"
    zalo_file = write_token(secrets / "zalo_webhook_token", zalo_token)
    hooks_file = write_token(secrets / "ops_hooks_webhook_token", hooks_token)
    sms_file = write_token(secrets / "sms_webhook_token", SMS_WEBHOOK_TOKEN)
    return write(
        out,
        {
            "http://ops-hooks:8080": hooks_url,
            "http://zalo-adapter:9095": zalo_url,
            "http://sms-adapter:9096": sms_url or zalo_url,
            "mailrelay:25": f"127.0.0.1:{smtp_port}",
            "/run/secrets/zalo_webhook_token": str(zalo_file),
            "/run/secrets/ops_hooks_webhook_token": str(hooks_file),
            "/run/secrets/sms_webhook_token": str(sms_file),
            **FAST,
            **(ALWAYS_QUIET if quiet else NEVER_QUIET),
        },
    )


def alert(
    dossier: str,
    level: str,
    severity: Severity = "critical",
    *,
    rule: str = "deadline",
    unit: str | None = "DEPT_JUSTICE",
    status: Status = "firing",
    anchor: str = "a",
    at: str = "2025-07-10T09:00:00+07:00",
) -> Alert:
    return Alert(
        id=f"{dossier}/{rule}/{level}/{anchor}",
        status=status,
        rule=rule,
        level=level,
        severity=severity,
        dossier=dossier,
        at=at,
        unit=unit,
        officer="O-DEPT_JUSTICE-2",
        procedure="1.005120",
        procedure_group="justice",
        due="2025-07-09T17:00:00+07:00",
        evidence=f"test evidence for {dossier}",
    )


def keyed(alerts: list[Alert]) -> list[tuple[bytes | None, bytes]]:
    return [(a.dossier.encode(), encode_alert(a)) for a in alerts]


def notified(received: list[dict[str, Any]], paths: list[str]) -> dict[str, set[tuple[str, str]]]:
    """path → {(dossier, level)} of the firing alerts each webhook path was told about."""
    out: dict[str, set[tuple[str, str]]] = {}
    # Not strict: `paths` is the receiver's live list, and a POST may have landed since
    # `received` was copied; both only grow, together, so the pairs of the copy still match.
    for path, body in zip(paths, received, strict=False):
        for a in body.get("alerts", []):
            if a["status"] == "firing":
                out.setdefault(path, set()).add((a["labels"]["dossier"], a["labels"]["level"]))
    return out


def active(am_alerts: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """alert_id → alert, of what Alertmanager holds unresolved."""
    return {a["labels"]["alert_id"]: a for a in am_alerts}


class BridgeProcess(LoggedProcess):
    """`python -m streams.cli.alerts bridge` (= `dossierwatch bridge`), JSON log to a file."""

    tail_lines = 40

    def __init__(
        self,
        bootstrap: str,
        topic: str,
        group: str,
        alertmanager: str,
        log: Path,
        *,
        resend_interval: float = 2.0,
    ) -> None:
        self.log = log
        cmd = [
            sys.executable,
            "-m",
            "streams.cli.alerts",
            "bridge",
            "--bootstrap",
            bootstrap,
            "--topic",
            topic,
            "--group",
            group,
            "--alertmanager",
            alertmanager,
            "--link-base",
            "http://dossiers.test",
            "--resend-interval",
            str(resend_interval),
        ]
        with open(log, "ab") as out:
            self.proc = subprocess.Popen(
                cmd,
                stdout=out,
                stderr=subprocess.STDOUT,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )

    def events(self) -> list[dict[str, Any]]:
        out = []
        for line in self.log.read_text(errors="replace").splitlines():
            if line.startswith("{"):
                try:
                    out.append(json.loads(line))
                except ValueError:
                    continue
        return out

    def wait_for(
        self, predicate: Callable[[list[dict[str, Any]]], bool], timeout: float = 60.0
    ) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"bridge exited {self.proc.returncode}:\n{self.tail()}")
            events = self.events()
            if predicate(events):
                return events
            time.sleep(0.2)
        raise AssertionError(f"bridge: condition not met in {timeout}s:\n{self.tail()}")

    def wait_assigned(self, timeout: float = 60.0) -> None:
        self.wait_for(lambda ev: any(e["event"] == "partitions_assigned" for e in ev), timeout)


def received_messages(events: list[dict[str, Any]]) -> int:
    return sum(e.get("messages", 0) for e in events if e["event"] == "batch_received")


def offsets(bootstrap: str, topic: str, group: str, partitions: int) -> tuple[int, int]:
    """(committed by the group, written to the topic), summed over the partitions."""
    tps = [TopicPartition(topic, p) for p in range(partitions)]
    c = KafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False)
    try:
        committed = sum(c.committed(tp) or 0 for tp in tps)
        end = sum(c.end_offsets(tps).values())
    finally:
        c.close(autocommit=False)
    return committed, end
