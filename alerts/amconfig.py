"""Render deploy/alertmanager for another environment: same routing tree, other endpoints.

deploy/alertmanager/alertmanager.yml is the one source of truth and deploys as is with
docker-compose.  Its endpoints are plain strings (`mailrelay:25`, `http://zalo-adapter:9095`,
`http://sms-adapter:9096`, `http://ops-hooks:8080`); a staging server or a test substitutes
its own.  A string that is not in the source is refused, so renaming a host there cannot
silently leave a copy pointing at the old one.  Templates are copied next to the rendered
file, where the config's relative `templates/*.tmpl` finds them.

The webhooks' token files (CREDENTIALS) are such strings too: an environment that keeps
its secrets elsewhere than /run/secrets substitutes the path (`--set
/run/secrets/zalo_webhook_token=/etc/alertmanager/zalo.token`).  amtool does not check
that they exist; Alertmanager reads them at each notification.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path

SOURCE = Path(__file__).resolve().parents[1] / "deploy" / "alertmanager"

ENDPOINTS = {
    "http://ops-hooks:8080": "generic webhooks (operations centre, unit channels, heads …)",
    "http://zalo-adapter:9095": "the Zalo adapter (dossierwatch zalo-adapter)",
    "http://sms-adapter:9096": "the SMS adapter (dossierwatch sms-adapter)",
    "mailrelay:25": "the SMTP relay",
}

CREDENTIALS = {
    "/run/secrets/zalo_webhook_token": "the Zalo adapter's webhook token (its --secret-file)",
    "/run/secrets/sms_webhook_token": "the SMS adapter's webhook token (its --secret-file)",
    "/run/secrets/ops_hooks_webhook_token": "the ops-hooks webhooks' token",
}
"""Files whose contents Alertmanager sends as `Authorization: Bearer …` to the webhooks."""


def render(text: str, replacements: Mapping[str, str]) -> str:
    for old, new in replacements.items():
        if old not in text:
            raise ValueError(f"{old!r} does not occur in the Alertmanager config")
        text = text.replace(old, new)
    return text


def write(out_dir: Path, replacements: Mapping[str, str], source: Path = SOURCE) -> Path:
    """Write the rendered alertmanager.yml and its templates into `out_dir`."""
    out_dir.mkdir(parents=True, exist_ok=True)
    config = out_dir / "alertmanager.yml"
    text = render((source / "alertmanager.yml").read_text(encoding="utf-8"), replacements)
    config.write_text(text, encoding="utf-8")
    templates = out_dir / "templates"
    templates.mkdir(exist_ok=True)
    for t in sorted((source / "templates").glob("*.tmpl")):
        shutil.copyfile(t, templates / t.name)
    return config


def check(config: Path) -> str:
    """`amtool check-config` on a file; raises CalledProcessError with its output."""
    done = subprocess.run(
        ["amtool", "check-config", str(config)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise subprocess.CalledProcessError(done.returncode, done.args, done.stdout, done.stderr)
    return done.stdout
