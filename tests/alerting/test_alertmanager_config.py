"""deploy/alertmanager: amtool accepts it as deployed and as rendered, and its routing
tree implements the escalation ladder."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml
from alerting_support import render_config
from services import binary

from alerts.amconfig import CREDENTIALS, ENDPOINTS, SOURCE, check, render
from alerts.webhook_auth import MAX_BODY
from alerts.zalo import ROLES


def routes(config: Path, **labels: str) -> set[str]:
    """The receivers Alertmanager would notify for an alert with these labels ("nobody",
    the receiver without integrations, notifies no one)."""
    done = subprocess.run(
        [
            binary("amtool"),
            "config",
            "routes",
            "test",
            f"--config.file={config}",
            *(f"{k}={v}" for k, v in labels.items()),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return set(done.stdout.strip().split(",")) - {"nobody"}


def test_source_config_passes_amtool() -> None:
    """amtool check-config accepts deploy/alertmanager/alertmanager.yml with its templates."""
    binary("amtool")
    assert "SUCCESS" in check(SOURCE / "alertmanager.yml")


def test_rendered_config_passes_amtool(tmp_path: Path) -> None:
    """A copy rendered with test endpoints passes amtool and keeps no deployment endpoint."""
    binary("amtool")
    config = render_config(tmp_path, "http://127.0.0.1:1", "http://127.0.0.1:2", 3)
    assert "SUCCESS" in check(config)
    text = config.read_text()
    assert not [e for e in ENDPOINTS if e in text]
    assert not [c for c in CREDENTIALS if c in text]
    assert (tmp_path / "secrets" / "zalo_webhook_token").exists()
    assert (tmp_path / "templates" / "email.tmpl").exists()


def webhook_configs() -> list[dict[str, object]]:
    config = yaml.safe_load((SOURCE / "alertmanager.yml").read_text(encoding="utf-8"))
    return [w for r in config["receivers"] for w in r.get("webhook_configs", [])]


def test_every_webhook_sends_its_receivers_own_secret() -> None:
    """Each webhook authenticates with a token file: each adapter's own (Zalo, SMS), the
    ops-hooks one for ops-hooks, three different files, no inline credentials."""
    zalo_file, sms_file, hooks_file = CREDENTIALS
    own = {"http://zalo-adapter:": zalo_file, "http://sms-adapter:": sms_file}
    hooks = webhook_configs()
    assert hooks
    for hook in hooks:
        url = str(hook["url"])
        http = hook.get("http_config")
        assert isinstance(http, dict), f"{url}: no http_config"
        assert set(http) == {"authorization"}, f"{url}: {sorted(http)}"
        auth = http["authorization"]
        assert set(auth) == {"credentials_file"}, f"{url}: credentials inline or typed"
        want = next((f for prefix, f in own.items() if url.startswith(prefix)), hooks_file)
        assert auth["credentials_file"] == want, url


def test_zalo_webhooks_use_known_roles_and_stay_under_the_body_limit() -> None:
    """Each Zalo and SMS URL names a role the adapters serve (others get 404) and caps its
    alerts, so a large group stays far below the adapters' body limit; every role that
    reaches Zalo reaches SMS too (the recipients file decides who gets which)."""
    adapters = ("http://zalo-adapter:", "http://sms-adapter:")
    zalo = [h for h in webhook_configs() if str(h["url"]).startswith(adapters)]
    roles = {
        p: {str(h["url"]).rsplit("/", 1)[1] for h in zalo if str(h["url"]).startswith(p)}
        for p in adapters
    }
    assert roles[adapters[0]] == roles[adapters[1]] == set(ROLES)
    for hook in zalo:
        role = str(hook["url"]).rsplit("/", 1)[1]
        assert role in ROLES, hook["url"]
        max_alerts = hook.get("max_alerts")
        # An alert's body is about 1.5 KB (3 KB with a long referral chain).
        assert isinstance(max_alerts, int) and 0 < max_alerts * 3 * 1024 < MAX_BODY / 2


def test_render_refuses_a_string_the_source_lacks() -> None:
    """Rendering with an endpoint that is not in the source fails instead of doing nothing."""
    with pytest.raises(ValueError, match="mail:587"):
        render((SOURCE / "alertmanager.yml").read_text(), {"mail:587": "x:1"})


LADDER = [
    # (labels, receivers that must be notified)
    (
        {"rule": "deadline", "level": "near_due_75", "severity": "warning", "escalation": "0"},
        {"ops-centre", "unit-channel-DEPT_JUSTICE"},
    ),
    (
        {"rule": "deadline", "level": "overdue", "severity": "critical", "escalation": "0"},
        {"ops-centre", "unit-channel-DEPT_JUSTICE", "unit-head-DEPT_JUSTICE"},
    ),
    (
        {"rule": "deadline", "level": "escalation_1", "severity": "critical", "escalation": "1"},
        {"ops-centre", "unit-channel-DEPT_JUSTICE", "unit-head-DEPT_JUSTICE"},
    ),
    (
        {"rule": "deadline", "level": "escalation_2", "severity": "critical", "escalation": "2"},
        {"ops-centre", "unit-channel-DEPT_JUSTICE", "unit-head-DEPT_JUSTICE", "director"},
    ),
    (
        {"rule": "deadline", "level": "escalation_3", "severity": "critical", "escalation": "3"},
        {"ops-centre", "unit-channel-DEPT_JUSTICE", "unit-head-DEPT_JUSTICE", "director"},
    ),
    (
        {"rule": "ping_pong_unit", "level": "warning", "severity": "warning", "escalation": "0"},
        {"ops-centre", "unit-channel-DEPT_JUSTICE"},
    ),
    (
        {"rule": "ping_pong_officer", "level": "critical", "severity": "critical"},
        {"ops-centre", "unit-channel-DEPT_JUSTICE", "unit-head-DEPT_JUSTICE", "inspectors"},
    ),
    (
        {"rule": "referral_chain", "level": "warning", "severity": "warning", "escalation": "0"},
        {"ops-centre", "unit-channel-DEPT_JUSTICE", "inspectors"},
    ),
    (
        {"rule": "supplement_expired", "level": "closed", "severity": "info", "escalation": "0"},
        {"ops-centre"},
    ),
]


@pytest.mark.parametrize(
    ("labels", "expected"), LADDER, ids=[f"{lb['rule']}-{lb['level']}" for lb, _ in LADDER]
)
def test_ladder_routes_each_level_to_its_people(labels: dict[str, str], expected: set[str]) -> None:
    """Each level reaches exactly its rung of the ladder (amtool config routes test)."""
    got = routes(SOURCE / "alertmanager.yml", dossier="HS-1", unit="DEPT_JUSTICE", **labels)
    assert got == expected


def test_unit_without_own_route_falls_back_to_shared_receivers() -> None:
    """A unit with no route of its own reaches the shared unit-channel and unit-head receivers."""
    got = routes(
        SOURCE / "alertmanager.yml",
        dossier="HS-1",
        unit="DEPT_TAX",
        rule="deadline",
        level="overdue",
        severity="critical",
        escalation="0",
    )
    assert got == {"ops-centre", "unit-channel", "unit-head"}


AGGREGATES = [
    # Prometheus's rules (deploy/prometheus/rules/alerts.yml) name their rung in `team`.
    ({"alertname": "DossierNearDueBacklog", "team": "unit", "unit": "DEPT_TAX"}, "unit-channel"),
    (
        {"alertname": "DossierOverdueBacklog", "team": "unit_head", "unit": "DEPT_LAND"},
        "unit-head-DEPT_LAND",
    ),
    ({"alertname": "DossierOverdueShareHigh", "team": "director"}, "director"),
    ({"alertname": "DossierPingPongSpike", "team": "inspectors"}, "inspectors"),
    ({"alertname": "DossierWatchWorkerDown", "team": "platform"}, "platform"),
]


@pytest.mark.parametrize(("labels", "rung"), AGGREGATES, ids=[lb["team"] for lb, _ in AGGREGATES])
def test_aggregate_alerts_go_to_the_rung_their_team_names(
    labels: dict[str, str], rung: str
) -> None:
    """A critical Prometheus alert reaches the operations centre and the rung in its `team`
    label only: a platform alert does not wake the unit heads."""
    assert routes(SOURCE / "alertmanager.yml", severity="critical", **labels) == {
        "ops-centre",
        rung,
    }
