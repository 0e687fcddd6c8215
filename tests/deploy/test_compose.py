"""docker-compose.yml, the Dockerfile and Grafana's provisioning, checked without a daemon.

The compose file is read with PyYAML and its `${VAR:-default}` references are replaced
the way Compose does with an empty environment, so these tests see what `docker compose
up` would run by default.  Commands of the project image are parsed by the real
`dossierwatch` argument parser.  When the `docker compose` plugin is installed, Compose's
own parser checks the file too (`docker compose config -q`, no daemon needed).
"""

from __future__ import annotations

import argparse
import contextlib
import fnmatch
import io
import json
import os
import re
import shlex
import shutil
import subprocess
import tomllib
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import Any, cast
from urllib.parse import urlsplit

import pytest
import yaml

from streams.cli import build_parser
from streams.worker.settings import WorkerSettings

REPO = Path(__file__).resolve().parents[2]
COMPOSE_FILE = REPO / "docker-compose.yml"
DOCKERFILE = REPO / "Dockerfile"
DOCKERIGNORE = REPO / ".dockerignore"
GRAFANA = REPO / "deploy" / "grafana" / "provisioning"
KAFKACTL = REPO / "deploy" / "kafka" / "kafkactl.sh"

EIGHT_MIB = 8 * 1024 * 1024

# Services that must report their health (depends_on ... service_healthy relies on it).
MUST_HAVE_HEALTHCHECK = ("kafka", "prometheus", "alertmanager", "grafana")
# Subcommands the compose file runs from the project image.
SUBCOMMANDS_RUN = ("worker", "simulate", "bridge", "zalo-adapter", "sms-adapter")

_VARIABLE = re.compile(
    r"\$(?:(?P<escaped>\$)"
    r"|\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?+])(?P<arg>[^}]*))?\}"
    r"|(?P<named>[A-Za-z_][A-Za-z0-9_]*))"
)


def interpolate(value: Any) -> Any:
    """Compose's variable substitution with every variable unset: defaults apply."""
    if isinstance(value, dict):
        return {k: interpolate(v) for k, v in value.items()}
    if isinstance(value, list):
        return [interpolate(v) for v in value]
    if not isinstance(value, str):
        return value

    def substitute(m: re.Match[str]) -> str:
        if m["escaped"]:
            return "$"
        op = m["op"] or ""
        if op.endswith("?"):
            raise AssertionError(f"${{{m['braced']}}} is required: {m['arg']}")
        if op.endswith("-"):
            return m["arg"]
        return ""  # unset: ${VAR}, $VAR and ${VAR:+alt} are empty

    return _VARIABLE.sub(substitute, value)


def _load(path: Path) -> dict[str, Any]:
    with path.open(encoding="utf-8") as f:
        data = yaml.safe_load(f)
    assert isinstance(data, dict), f"{path.name}: not a YAML mapping"
    return cast(dict[str, Any], data)


RAW = _load(COMPOSE_FILE)
COMPOSE: dict[str, Any] = interpolate(RAW)
SERVICES: dict[str, dict[str, Any]] = COMPOSE["services"]
PROJECT_SERVICES = sorted(name for name, s in SERVICES.items() if "build" in s)


def command_of(service: dict[str, Any]) -> list[str]:
    command = service.get("command", [])
    if isinstance(command, str):
        return shlex.split(command)
    return [str(part) for part in command]


def environment_of(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        return dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {str(k): "" if v is None else str(v) for k, v in env.items()}


def depends_on(service: dict[str, Any]) -> dict[str, str]:
    """Target service -> condition (a plain list means service_started)."""
    deps = service.get("depends_on") or {}
    if isinstance(deps, list):
        return dict.fromkeys(deps, "service_started")
    return {name: (spec or {}).get("condition", "service_started") for name, spec in deps.items()}


def mounts(service: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(type, source, target) of each volume entry: type 'bind' or 'volume'."""
    out = []
    for entry in service.get("volumes", []):
        if isinstance(entry, dict):
            out.append((entry["type"], str(entry.get("source", "")), entry["target"]))
            continue
        source, target = entry.split(":")[:2] if ":" in entry else ("", entry)
        kind = "bind" if source.startswith((".", "/", "~")) else "volume"
        out.append((kind, source, target))
    return out


def published_ports(service: dict[str, Any]) -> Iterator[tuple[int, str, int]]:
    """(host port, protocol, container port) of each published port."""
    for entry in service.get("ports", []):
        if isinstance(entry, dict):
            if entry.get("published"):
                proto = entry.get("protocol", "tcp")
                yield int(entry["published"]), proto, int(entry["target"])
            continue
        spec, _, proto = str(entry).partition("/")
        parts = spec.rsplit(":", 2)
        if len(parts) >= 2 and parts[-2]:
            yield int(parts[-2]), proto or "tcp", int(parts[-1])


def worker_services() -> list[str]:
    return [n for n in PROJECT_SERVICES if command_of(SERVICES[n])[:1] == ["worker"]]


def option(argv: list[str], name: str) -> str | None:
    for i, arg in enumerate(argv):
        if arg == name and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith(name + "="):
            return arg.split("=", 1)[1]
    return None


def subcommands() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return cast(dict[str, argparse.ArgumentParser], action.choices)
    raise AssertionError("dossierwatch has no subcommands")


def parse_command(argv: list[str]) -> argparse.Namespace:
    """The real CLI's parse of a container command, or a failure with argparse's message."""
    err = io.StringIO()
    try:
        with contextlib.redirect_stderr(err):
            return build_parser().parse_args(argv)
    except SystemExit:
        pytest.fail(f"`dossierwatch {shlex.join(argv)}` does not parse: {err.getvalue().strip()}")


def worker_settings(name: str, monkeypatch: pytest.MonkeyPatch) -> WorkerSettings:
    """The settings a worker container starts with: its command and its environment."""
    from streams.cli.worker import settings_from

    for var in [v for v in os.environ if v == "KAFKA_BOOTSTRAP" or v.startswith("DOSSIERWATCH_")]:
        monkeypatch.delenv(var)
    for key, value in environment_of(SERVICES[name]).items():
        monkeypatch.setenv(key, value)
    return settings_from(parse_command(command_of(SERVICES[name])))


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    text = DOCKERFILE.read_text(encoding="utf-8")
    joined = re.sub(r"\\\n(\s*#.*\n)*", " ", text)
    out = []
    for line in joined.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def image_is_pinned(image: str) -> bool:
    name, _, digest = image.partition("@")
    if digest:
        return digest.startswith("sha256:")
    last = name.rsplit("/", 1)[-1]
    return ":" in last and last.rsplit(":", 1)[1] not in ("", "latest")


# -- structure -------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_every_service_has_an_image_or_a_buildable_context(name: str) -> None:
    """Each service names an image or builds from a context that holds its Dockerfile."""
    service = SERVICES[name]
    assert "image" in service or "build" in service, f"{name}: neither image nor build"
    build = service.get("build")
    if build is not None:
        spec = {"context": build} if isinstance(build, str) else build
        context = (REPO / spec.get("context", ".")).resolve()
        dockerfile = context / spec.get("dockerfile", "Dockerfile")
        assert dockerfile.is_file(), f"{name}: no {dockerfile.relative_to(REPO)}"


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_every_image_is_pinned(name: str) -> None:
    """Each image carries an explicit tag (or digest), never `latest` or none."""
    image = SERVICES[name].get("image")
    if image is None:
        return
    assert image_is_pinned(image), f"{name}: image {image!r} is not pinned to a version"


def test_the_project_image_is_tagged_with_the_project_version() -> None:
    """All services built from the repository share one image tagged with pyproject's version."""
    version = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]
    images = {SERVICES[n].get("image") for n in PROJECT_SERVICES}
    assert images == {f"dossierwatch:{version}"}, images


def test_every_bind_mount_exists_in_the_repository() -> None:
    """Host paths mounted into containers are relative paths that exist in the repo."""
    declared = set(COMPOSE.get("volumes") or {})
    for name, service in SERVICES.items():
        for kind, source, target in mounts(service):
            if kind == "volume":
                assert not source or source in declared, f"{name}: volume {source} undeclared"
                continue
            assert source.startswith("."), f"{name}: {source} is not relative to the repository"
            path = (REPO / source).resolve()
            assert path.is_relative_to(REPO), f"{name}: {source} leaves the repository"
            assert path.exists(), f"{name}: {source} (mounted at {target}) does not exist"


def test_published_host_ports_are_unique() -> None:
    """No two services publish the same host port."""
    seen: dict[tuple[int, str], str] = {}
    for name, service in SERVICES.items():
        for host, proto, _ in published_ports(service):
            assert (host, proto) not in seen, f"{name} and {seen[(host, proto)]} publish {host}"
            seen[(host, proto)] = name


def test_dependencies_exist_and_their_conditions_can_be_met() -> None:
    """depends_on names real services; `healthy` targets have a healthcheck, and
    `completed_successfully` targets are one-shot jobs."""
    for name, service in SERVICES.items():
        for target, condition in depends_on(service).items():
            assert target in SERVICES, f"{name} depends on unknown service {target}"
            assert condition in (
                "service_started",
                "service_healthy",
                "service_completed_successfully",
            ), f"{name}: unknown condition {condition}"
            if condition == "service_healthy":
                assert "healthcheck" in SERVICES[target], f"{name} waits for {target}'s health"
            if condition == "service_completed_successfully":
                assert SERVICES[target].get("restart", "no") == "no", f"{target} is no one-shot"


def test_core_services_have_healthchecks() -> None:
    """Kafka, each worker, Prometheus, Alertmanager and Grafana define a live healthcheck."""
    names = [*MUST_HAVE_HEALTHCHECK, *worker_services()]
    for name in names:
        check = SERVICES[name].get("healthcheck")
        assert check, f"{name}: no healthcheck"
        assert not check.get("disable"), f"{name}: healthcheck disabled"
        test = check.get("test")
        assert test and test != ["NONE"], f"{name}: empty healthcheck"


def test_long_running_services_restart_and_one_shot_jobs_do_not() -> None:
    """Every service has a restart policy; only jobs others wait to complete use `no`."""
    one_shot = {
        target
        for s in SERVICES.values()
        for target, condition in depends_on(s).items()
        if condition == "service_completed_successfully"
    }
    for name, service in SERVICES.items():
        policy = str(service.get("restart", ""))
        if name in one_shot:
            assert policy == "no", f"{name}: a one-shot job must not restart"
        else:
            assert policy in ("always", "unless-stopped") or policy.startswith("on-failure"), (
                f"{name}: restart policy {policy!r}"
            )


def test_no_secret_is_written_in_the_compose_file() -> None:
    """Secret-looking variables are `${VAR:-}` placeholders filled from the environment."""
    secretish = re.compile(r"SECRET|TOKEN|PASSWORD|PASSWD|API_KEY|PRIVATE_KEY|CREDENTIAL")
    placeholder = re.compile(r"^\$\{[A-Za-z_][A-Za-z0-9_]*(:?-)?\}$")
    for name, service in RAW["services"].items():
        for key, value in environment_of(service).items():
            if secretish.search(key.upper()):
                assert placeholder.match(value), f"{name}: {key} must be an empty placeholder"


# -- the project image's commands ------------------------------------------------------


def test_the_compose_file_runs_the_expected_subcommands() -> None:
    """Two or more workers, a simulator, the bridge and the Zalo and SMS adapters run from
    the image."""
    used = [command_of(SERVICES[n])[0] for n in PROJECT_SERVICES]
    for sub in SUBCOMMANDS_RUN:
        assert sub in used, f"no service runs `dossierwatch {sub}`"
    assert len(worker_services()) >= 2, "the workers should be two, to split the partitions"


@pytest.mark.parametrize("name", PROJECT_SERVICES)
def test_project_image_commands_are_real_dossierwatch_subcommands(name: str) -> None:
    """Each command given to the project image parses with the `dossierwatch` CLI."""
    argv = command_of(SERVICES[name])
    assert argv, f"{name}: no command (the image would only print --help)"
    registered = sorted(subcommands())
    assert argv[0] in registered, (
        f"{name}: `{argv[0]}` is not a dossierwatch subcommand (registered: "
        f"{', '.join(registered)})"
    )
    parse_command(argv)


@pytest.mark.parametrize("name", PROJECT_SERVICES)
def test_kafka_clients_use_the_compose_broker(name: str) -> None:
    """Services given --bootstrap point at the broker's compose-network listener."""
    bootstrap = option(command_of(SERVICES[name]), "--bootstrap")
    if bootstrap is None:
        return
    host, _, port = bootstrap.rpartition(":")
    assert host in SERVICES, f"{name}: bootstrap host {host} is no service"
    advertised = environment_of(SERVICES[host])["KAFKA_ADVERTISED_LISTENERS"]
    assert f"://{host}:{port}" in advertised, f"{host} does not advertise {bootstrap}"
    assert "kafka" in depends_on(SERVICES[name]) or "kafka-init" in depends_on(SERVICES[name])


def test_workers_serve_health_on_all_interfaces_and_keep_tables_apart(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Workers run rocksdb tables in their own /data volume and serve /health where the
    healthcheck and the published port look for it."""
    data_volumes = []
    for name in worker_services():
        s = worker_settings(name, monkeypatch)
        service = SERVICES[name]
        assert s.bootstrap == "kafka:9092"
        assert s.web_host == "0.0.0.0", f"{name}: /metrics unreachable from other containers"
        assert s.store.startswith("rocksdb://")
        volume = [
            src for kind, src, tgt in mounts(service) if tgt == s.data_dir and kind == "volume"
        ]
        assert volume, f"{name}: {s.data_dir} is not a named volume"
        data_volumes.append(volume[0])
        health = " ".join(command_of({"command": service["healthcheck"]["test"]}))
        assert f"127.0.0.1:{s.web_port}/health" in health, f"{name}: healthcheck misses /health"
        for _, _, container_port in published_ports(service):
            assert container_port == s.web_port
    assert len(set(data_volumes)) == len(data_volumes), "workers share a table volume"


def test_kafka_init_creates_the_topics_the_worker_expects(monkeypatch: pytest.MonkeyPatch) -> None:
    """kafka-init creates the worker's four topics with its partition count, 8 MiB messages
    on the events and dead-letter topics, as deploy/kafka/kafkactl.sh does locally."""
    from streams.worker.topology import MAX_MESSAGE_BYTES

    init = SERVICES["kafka-init"]
    env = environment_of(init)
    script = " ".join(command_of(init))
    assert depends_on(init) == {"kafka": "service_healthy"}
    for needle in ("kafka-topics.sh", "--create", "--if-not-exists", "$TOPICS", "$PARTITIONS"):
        assert needle in script, f"kafka-init's script lacks {needle}"
    assert "max.message.bytes=$MAX_MESSAGE_BYTES" in script

    defaults = WorkerSettings()
    expected = {defaults.events_topic, defaults.alerts_topic, defaults.dlq_topic}
    expected.add(defaults.ticks_topic)
    assert set(env["TOPICS"].split()) == expected
    assert set(env["BIG_MESSAGE_TOPICS"].split()) == {defaults.events_topic, defaults.dlq_topic}
    assert int(env["MAX_MESSAGE_BYTES"]) == MAX_MESSAGE_BYTES == EIGHT_MIB
    assert int(env["PARTITIONS"]) == defaults.partitions

    for name in worker_services():
        s = worker_settings(name, monkeypatch)
        topics = {s.events_topic, s.alerts_topic, s.dlq_topic, s.ticks_topic}
        assert topics == expected, f"{name} reads and writes other topics"
        assert s.partitions == int(env["PARTITIONS"]), f"{name}: partition count differs"
        assert depends_on(SERVICES[name]).get("kafka-init") == "service_completed_successfully"

    local = re.search(r"^TOPICS=\((.*)\)$", KAFKACTL.read_text(), re.MULTILINE)
    assert local is not None and set(local[1].split()) == expected, "kafkactl.sh differs"


def test_simulator_feeds_the_events_topic() -> None:
    """The simulator sends to the topic the workers read, endlessly in compressed time."""
    args = parse_command(command_of(SERVICES["simulator"]))
    assert args.topic == WorkerSettings().events_topic
    assert args.compression is not None and args.compression > 1


def test_bridge_and_zalo_adapter_talk_to_compose_services() -> None:
    """The bridge posts to Alertmanager's port and the Zalo adapter serves the port it exposes."""
    url = urlsplit(option(command_of(SERVICES["bridge"]), "--alertmanager") or "")
    assert url.hostname == "alertmanager" and url.port == 9093
    assert any(tgt == 9093 for _, _, tgt in published_ports(SERVICES["alertmanager"]))
    port = option(command_of(SERVICES["zalo-adapter"]), "--port")
    assert port is not None and port in {str(p) for p in SERVICES["zalo-adapter"].get("expose", [])}


# -- Prometheus, Alertmanager, Grafana -------------------------------------------------


def _flag(service: dict[str, Any], name: str) -> str:
    value = option(command_of(service), name)
    assert value is not None, f"no {name}"
    return value


def _mounted_at(service: dict[str, Any], source: str) -> str:
    found = [tgt for kind, src, tgt in mounts(service) if kind == "bind" and _same(src, source)]
    assert found, f"{source} is not mounted"
    return found[0]


def _same(a: str, b: str) -> bool:
    return PurePosixPath(a.removeprefix("./")) == PurePosixPath(b.removeprefix("./"))


def test_prometheus_reads_the_repository_config_and_rules() -> None:
    """Prometheus's --config.file is deploy/prometheus/prometheus.yml, with rules/ beside it."""
    prom = SERVICES["prometheus"]
    config = _mounted_at(prom, "deploy/prometheus/prometheus.yml")
    assert _flag(prom, "--config.file") == config
    rules = _mounted_at(prom, "deploy/prometheus/rules")
    assert PurePosixPath(rules) == PurePosixPath(config).parent / "rules"


def test_alertmanager_reads_the_repository_config_and_templates() -> None:
    """Alertmanager's --config.file is deploy/alertmanager/alertmanager.yml, templates beside."""
    am = SERVICES["alertmanager"]
    folder = _mounted_at(am, "deploy/alertmanager")
    assert _flag(am, "--config.file") == f"{folder}/alertmanager.yml"
    templates = REPO / "deploy" / "alertmanager" / "templates"
    assert templates.is_dir(), f"no {templates.relative_to(REPO)} beside alertmanager.yml"


def test_alertmanagers_credential_files_are_its_compose_secrets() -> None:
    """Every credentials_file in alertmanager.yml is a secret the Alertmanager service is
    given (compose mounts secret `x` at /run/secrets/x), and every such secret is defined."""
    config = _load(REPO / "deploy" / "alertmanager" / "alertmanager.yml")
    wanted: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "credentials_file":
                    wanted.add(str(value))
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(config)
    assert wanted, "alertmanager.yml reads no credentials file"
    given = {f"/run/secrets/{name}" for name in SERVICES["alertmanager"].get("secrets", [])}
    assert wanted <= given, f"not given to Alertmanager: {sorted(wanted - given)}"
    defined = set(COMPOSE.get("secrets", {}))
    assert {path.rsplit("/", 1)[1] for path in wanted} <= defined


def listening_ports(name: str) -> set[int]:
    """Container ports a service is known to listen on: published, exposed, or given to
    the project image as --port / --web-port."""
    service = SERVICES[name]
    ports = {target for _, _, target in published_ports(service)}
    ports |= {int(str(p).split("/")[0]) for p in service.get("expose", [])}
    argv = command_of(service)
    for flag in ("--port", "--web-port"):
        value = option(argv, flag)
        if value is not None:
            ports.add(int(value))
    return ports


def test_prometheus_scrapes_every_worker_and_sends_to_alertmanager() -> None:
    """prometheus.yml's targets that are compose services use ports those services listen
    on, every worker is scraped, and alerts go to the Alertmanager service."""
    config = _load(REPO / "deploy" / "prometheus" / "prometheus.yml")
    scraped = [
        target
        for job in config.get("scrape_configs", [])
        for static in job.get("static_configs", [])
        for target in static.get("targets", [])
    ]
    alerting = [
        target
        for am in config.get("alerting", {}).get("alertmanagers", [])
        for static in am.get("static_configs", [])
        for target in static.get("targets", [])
    ]
    for target in scraped + alerting:
        host, _, port = target.rpartition(":")
        if host in SERVICES:
            assert int(port) in listening_ports(host), f"{target}: {host} listens elsewhere"
    hosts = {target.rpartition(":")[0] for target in scraped}
    missing = set(worker_services()) - hosts
    assert not missing, f"Prometheus does not scrape {sorted(missing)}"
    assert [t.rpartition(":")[0] for t in alerting] == ["alertmanager"]


def test_alertmanager_endpoints_on_compose_services_use_their_ports() -> None:
    """Webhook URLs in alertmanager.yml that name a compose service (the Zalo adapter) use
    the port that service listens on."""
    text = (REPO / "deploy" / "alertmanager" / "alertmanager.yml").read_text(encoding="utf-8")
    endpoints = re.findall(r"https?://([A-Za-z0-9.-]+):(\d+)", text)
    for host, port in endpoints:
        if host in SERVICES:
            assert int(port) in listening_ports(host), f"{host}:{port}: {host} listens elsewhere"
    hosts = {host for host, _ in endpoints}
    assert "zalo-adapter" in hosts, "no receiver uses the Zalo adapter"
    assert "sms-adapter" in hosts, "no receiver uses the SMS adapter"


def test_grafana_is_provisioned_with_prometheus_and_the_dashboards_folder() -> None:
    """Grafana's datasource (uid prometheus) reaches the Prometheus service, and its
    dashboard provider reads the folder deploy/grafana/dashboards is mounted on."""
    grafana = SERVICES["grafana"]
    assert _mounted_at(grafana, "deploy/grafana/provisioning") == "/etc/grafana/provisioning"
    dashboards_at = _mounted_at(grafana, "deploy/grafana/dashboards")

    sources = _load(GRAFANA / "datasources" / "prometheus.yml")["datasources"]
    prometheus = [d for d in sources if d["type"] == "prometheus"]
    assert [d["uid"] for d in prometheus] == ["prometheus"]
    url = urlsplit(prometheus[0]["url"])
    assert url.hostname == "prometheus"
    assert any(tgt == url.port for _, _, tgt in published_ports(SERVICES["prometheus"]))

    providers = _load(GRAFANA / "dashboards" / "dashboards.yml")["providers"]
    assert [p["options"]["path"] for p in providers if p["type"] == "file"] == [dashboards_at]
    for path in (REPO / "deploy" / "grafana" / "dashboards").glob("**/*.json"):
        json.loads(path.read_text(encoding="utf-8"))  # a broken dashboard stops nothing else


# -- the image -------------------------------------------------------------------------


def test_dockerfile_installs_the_package_as_a_non_root_user() -> None:
    """The image is python:3.11-slim based, pip-installs the package, runs as a non-root
    user and has `dossierwatch` as its entrypoint."""
    steps = dockerfile_instructions()
    args: dict[str, str] = {}
    for instruction, rest in steps:
        if instruction == "ARG" and "=" in rest:
            key, value = rest.split("=", 1)
            args[key] = value
    bases = [
        re.sub(r"\$\{?(\w+)\}?", lambda m: args.get(m[1], m[0]), rest.split()[0])
        for instruction, rest in steps
        if instruction == "FROM"
    ]
    assert bases and all(b.startswith("python:3.11-slim") for b in bases), bases
    assert all(image_is_pinned(b) for b in bases)

    runs = " && ".join(rest for instruction, rest in steps if instruction == "RUN")
    assert re.search(r"pip install\b[^&;|]*\s\.(\s|$|&|;)", runs), "no `pip install .`"
    copied = " ".join(rest for instruction, rest in steps if instruction == "COPY")
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    for pattern in pyproject["tool"]["setuptools"]["packages"]["find"]["include"]:
        package = pattern.rstrip("*")
        assert re.search(rf"(^|\s){package}(/|\s)", copied), f"{package} is not copied"

    users = [rest for instruction, rest in steps if instruction == "USER"]
    assert users and users[-1].split(":")[0] not in ("root", "0"), "the image runs as root"
    entrypoints = [rest for instruction, rest in steps if instruction == "ENTRYPOINT"]
    assert entrypoints and json.loads(entrypoints[-1]) == ["dossierwatch"]


def test_dockerignore_keeps_local_state_out_of_the_build_context() -> None:
    """.dockerignore excludes .venv, .cache and .git but not what the image is built from."""
    patterns = [
        line.strip().strip("/")
        for line in DOCKERIGNORE.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]

    def ignored(path: str) -> bool:
        result = False
        for p in patterns:
            negate = p.startswith("!")
            p = p.lstrip("!").removeprefix("**/")
            if fnmatch.fnmatch(path, p) or any(
                fnmatch.fnmatch(parent.as_posix(), p) for parent in PurePosixPath(path).parents
            ):
                result = not negate
        return result

    for path in (".venv", ".venv/bin/python", ".cache", ".cache/kafka/data", ".git/HEAD"):
        assert ignored(path), f"{path} would be sent to the Docker daemon"
    for path in (
        "pyproject.toml",
        "requirements.lock",
        "streams/cli/__init__.py",
        "producers/simulator.py",
        "alerts/__init__.py",
    ):
        assert not ignored(path), f"{path} is needed by the build but ignored"


# -- Compose's own parser --------------------------------------------------------------


def _compose_cli() -> list[str] | None:
    docker = shutil.which("docker")
    if docker is None:
        return None
    probe = subprocess.run(
        [docker, "compose", "version"], capture_output=True, text=True, timeout=60, check=False
    )
    return [docker, "compose"] if probe.returncode == 0 else None


def test_docker_compose_accepts_the_file() -> None:
    """`docker compose config -q` parses and validates the file (no daemon involved)."""
    cli = _compose_cli()
    if cli is None:
        pytest.skip(
            "the `docker compose` plugin is not installed here; the YAML checks above stand"
        )
    done = subprocess.run(
        [*cli, "-f", str(COMPOSE_FILE), "config", "-q"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr


# What docker-compose 1.29 (the last Python Compose, still shipped by Debian and Ubuntu
# LTS) accepts at the top level and in `depends_on` conditions: its Compose-spec schema,
# docker/compose 1.29.x compose/config/config_schema_compose_spec.json (top-level
# properties and `^x-` extensions; `service_completed_successfully` arrived in 1.29.0).
# Compose v2 accepts all of it too; the reverse is not true (`name:`, `develop:`, …).
COMPOSE_129_TOP_LEVEL = {"version", "services", "networks", "volumes", "secrets", "configs"}
COMPOSE_129_CONDITIONS = {"service_started", "service_healthy", "service_completed_successfully"}


def test_the_compose_file_is_also_valid_for_docker_compose_1_29() -> None:
    """Only the top-level keys and dependency conditions docker-compose 1.29 knows: a
    top-level `name:` made it refuse the whole file."""
    top = {k for k in RAW if not str(k).startswith("x-")}
    assert top <= COMPOSE_129_TOP_LEVEL, top - COMPOSE_129_TOP_LEVEL
    for name, service in SERVICES.items():
        conditions = set(depends_on(service).values())
        assert conditions <= COMPOSE_129_CONDITIONS, (name, conditions)
