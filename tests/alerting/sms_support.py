"""Helpers of the SMS adapter tests: the adapter as a process, a gateway file."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from alerting_support import SMS_WEBHOOK_TOKEN, write_token
from services import free_port, wait_http
from zalo_support import AdapterProcess

SMS_PEOPLE = """
[unit_head]
"*" = ["zuid-onestop-head", "head-by-sms"]
DEPT_LAND = ["land-head", "zuid-land-deputy"]

[director]
"*" = ["head-by-sms"]

[people.land-head]
zalo_user_id = "zuid-land-head"
phone = "0912 345 678"
channels = ["zalo", "sms"]

[people.head-by-sms]
phone = "+84 98 765 43 21"
channels = ["sms"]
"""

GATEWAY_TOKEN = "gw-token-5f2e"


def gateway_file(path: Path, url: str, *, fmt: str = "json", extra: str = "") -> Path:
    """A gateway file in the documented form; the token comes from SMS_GATEWAY_TOKEN."""
    path.write_text(
        f"""
[request]
url = "{url}/api/send"
format = "{fmt}"
timeout = 2
headers = {{ Authorization = "Bearer ${{SMS_GATEWAY_TOKEN}}" }}
[request.body]
to = "{{phone_local}}"
msisdn = "{{phone}}"
message = "{{text}}"
ref = "{{message_id}}"
brandname = "TTHC-TINH"
[response]
field = "code"
ok = ["0"]
[retry]
attempts = 3
backoff = 0.2
{extra}
"""
    )
    return path


class SmsProcess(AdapterProcess):
    """`python -m streams.cli.alerts sms-adapter` (= `dossierwatch sms-adapter`)."""

    prefix = "sms"

    def __init__(self, workdir: Path, gateway: Path | None, extra: Sequence[str] = ()) -> None:
        workdir.mkdir(parents=True, exist_ok=True)
        # The token the rendered Alertmanager config sends the SMS adapter.
        self.secret = SMS_WEBHOOK_TOKEN
        secret_file = write_token(workdir / "sms-webhook-token", self.secret)
        recipients = workdir / "recipients.toml"
        recipients.write_text(SMS_PEOPLE)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = workdir / "sms-adapter.log"
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "SMS_GATEWAY_TOKEN": GATEWAY_TOKEN}
        cmd = [sys.executable, "-m", "streams.cli.alerts", "sms-adapter", "--port"]
        cmd += [str(self.port), "--recipients", str(recipients), "--secret-file"]
        cmd += [str(secret_file), "--state-file", str(workdir / "sms-sent.log"), *extra]
        if gateway is not None:
            cmd += ["--gateway", str(gateway)]
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env)
        wait_http(f"{self.url}/health", proc=self.proc, log=self.log)
