"""deploy/kubernetes: the Kustomize manifests, rendered without kubectl and checked
offline against the Kubernetes schemas (kubernetes-validate, strict) and small schemas of
the custom resources, for the facts the workers depend on, and against Alertmanager's
config and docker-compose.yml (the endpoints, tokens and flags they share)."""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlsplit

import jsonschema
import kubernetes_validate
import pytest
import yaml
from helpers.kustomize import KustomizeError, render

from streams.cli import worker as worker_command
from streams.worker.topics import worker_topics

REPO = Path(__file__).resolve().parents[2]
KUBERNETES = REPO / "deploy" / "kubernetes"
OVERLAY = KUBERNETES / "overlays" / "example"
STRIMZI = KUBERNETES / "examples" / "strimzi"
ALERTMANAGER_YML = REPO / "deploy" / "alertmanager" / "alertmanager.yml"
COMPOSE = REPO / "docker-compose.yml"
K8S_VERSION = "1.33.0"
OUR_IMAGE = "registry.example.vn/dossierwatch"
WORKLOADS = ("Deployment", "StatefulSet")

_rendered: dict[Path, list[dict[str, Any]]] = {}


def rendered(folder: Path) -> list[dict[str, Any]]:
    if folder not in _rendered:
        _rendered[folder] = render(folder)
    return _rendered[folder]


def one(objects: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    found = [o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name]
    assert len(found) == 1, (kind, name)
    return found[0]


def containers(objects: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    return [
        (o["metadata"]["name"], c)
        for o in objects
        if o["kind"] in WORKLOADS
        for c in o["spec"]["template"]["spec"]["containers"]
    ]


def worker_settings(objects: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch) -> Any:
    """The settings the worker container starts with: its args through the real CLI, with
    the environment its ConfigMap gives it (but the Kafka security settings, which name
    files only the pod has and decide neither topics nor groups)."""
    for key, value in one(objects, "ConfigMap", "dossierwatch-settings")["data"].items():
        if not key.startswith(("KAFKA_SASL", "KAFKA_SSL", "KAFKA_SECURITY")):
            monkeypatch.setenv(key, value)
    worker = one(objects, "StatefulSet", "worker")["spec"]["template"]["spec"]["containers"][0]
    parser = argparse.ArgumentParser()
    worker_command.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args([a.replace("$(POD_IP)", "10.0.0.1") for a in worker["args"]])
    return worker_command.settings_from(args)


def values_of(tree: Any, key: str) -> list[Any]:
    """Every value under `key` anywhere in a parsed YAML tree."""
    if isinstance(tree, dict):
        found = [tree[key]] if key in tree else []
        return found + [v for child in tree.values() for v in values_of(child, key)]
    if isinstance(tree, list):
        return [v for child in tree for v in values_of(child, key)]
    return []


def mounted_from_secret(
    pod: dict[str, Any], container: dict[str, Any], path: str
) -> tuple[str, str] | None:
    """(Secret name, key) of the file at `path` in the container, or None when no secret
    volume puts it there; the deepest mount holding the path wins, as in the pod."""
    volumes = {v["name"]: v for v in pod.get("volumes", [])}
    file = PurePosixPath(path)
    holders: list[tuple[int, dict[str, Any], str]] = []
    for m in container.get("volumeMounts", []):
        at = PurePosixPath(m["mountPath"])
        if "subPath" in m and file == at:
            holders.append((len(at.parts), m, m["subPath"]))
        elif "subPath" not in m and file.is_relative_to(at) and file != at:
            holders.append((len(at.parts), m, str(file.relative_to(at))))
    if not holders:
        return None
    _, mount, inside = max(holders, key=lambda h: h[0])
    secret = volumes[mount["name"]].get("secret")
    if secret is None:
        return None
    items = {i["path"]: i["key"] for i in secret.get("items", [{"key": inside, "path": inside}])}
    return (secret["secretName"], items[inside]) if inside in items else None


# -- schemas --------------------------------------------------------------------------

_META = {"type": "object", "required": ["name"], "properties": {"name": {"type": "string"}}}
_CLUSTER_LABEL = {
    "type": "object",
    "required": ["labels"],
    "properties": {
        "labels": {"type": "object", "required": ["strimzi.io/cluster"]},
        "name": {"type": "string", "pattern": "^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$"},
    },
}


def _cr(api: str, kind: str, spec: dict[str, Any], meta: dict[str, Any] = _META) -> Any:
    return {
        "type": "object",
        "required": ["apiVersion", "kind", "metadata", "spec"],
        "properties": {
            "apiVersion": {"const": api},
            "kind": {"const": kind},
            "metadata": meta,
            "spec": spec,
        },
    }


_STRING_MAP = {"type": "object", "additionalProperties": {"type": "string"}}
# From the CRDs' documented required fields: KEDA 2.x (keda.sh/docs/2.x/reference/
# scaledobject-spec, scalers/apache-kafka) and Strimzi's v1beta2 API reference.
CR_SCHEMAS: dict[str, Any] = {
    "ScaledObject": _cr(
        "keda.sh/v1alpha1",
        "ScaledObject",
        {
            "type": "object",
            "required": ["scaleTargetRef", "triggers"],
            "properties": {
                "scaleTargetRef": {"type": "object", "required": ["name"]},
                "minReplicaCount": {"type": "integer", "minimum": 0},
                "maxReplicaCount": {"type": "integer", "minimum": 1},
                "triggers": {
                    "type": "array",
                    "minItems": 1,
                    "items": {
                        "type": "object",
                        "required": ["type", "metadata"],
                        "properties": {
                            "type": {"const": "kafka"},
                            "metadata": {
                                "allOf": [
                                    _STRING_MAP,
                                    {
                                        "required": [
                                            "bootstrapServers",
                                            "consumerGroup",
                                            "topic",
                                            "lagThreshold",
                                        ],
                                        "properties": {
                                            "sasl": {
                                                "enum": [
                                                    "none",
                                                    "plaintext",
                                                    "scram_sha256",
                                                    "scram_sha512",
                                                ]
                                            },
                                            "tls": {"enum": ["enable", "disable"]},
                                        },
                                    },
                                ]
                            },
                            "authenticationRef": {"type": "object", "required": ["name"]},
                        },
                    },
                },
            },
        },
    ),
    "TriggerAuthentication": _cr(
        "keda.sh/v1alpha1",
        "TriggerAuthentication",
        {
            "type": "object",
            "properties": {
                "secretTargetRef": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["parameter", "name", "key"],
                        "additionalProperties": False,
                        "properties": {
                            "parameter": {"enum": ["username", "password", "ca", "cert", "key"]},
                            "name": {"type": "string"},
                            "key": {"type": "string"},
                        },
                    },
                }
            },
        },
    ),
    "Kafka": _cr(
        "kafka.strimzi.io/v1beta2",
        "Kafka",
        {
            "type": "object",
            "required": ["kafka"],
            "properties": {
                "kafka": {
                    "type": "object",
                    "required": ["listeners"],
                    "properties": {
                        "listeners": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "required": ["name", "port", "type", "tls"],
                                "properties": {"port": {"type": "integer", "minimum": 9092}},
                            },
                        }
                    },
                }
            },
        },
    ),
    "KafkaNodePool": _cr(
        "kafka.strimzi.io/v1beta2",
        "KafkaNodePool",
        {
            "type": "object",
            "required": ["replicas", "roles", "storage"],
            "properties": {
                "roles": {"type": "array", "items": {"enum": ["controller", "broker"]}},
                "replicas": {"type": "integer", "minimum": 1},
            },
        },
        _CLUSTER_LABEL,
    ),
    "KafkaTopic": _cr(
        "kafka.strimzi.io/v1beta2",
        "KafkaTopic",
        {
            "type": "object",
            "required": ["partitions", "replicas"],
            "additionalProperties": False,
            "properties": {
                "partitions": {"type": "integer", "minimum": 1},
                "replicas": {"type": "integer", "minimum": 1, "maximum": 32767},
                "topicName": {"type": "string"},
                "config": _STRING_MAP,
            },
        },
        _CLUSTER_LABEL,
    ),
    "KafkaUser": _cr(
        "kafka.strimzi.io/v1beta2",
        "KafkaUser",
        {
            "type": "object",
            "required": ["authentication"],
            "properties": {
                "authentication": {
                    "type": "object",
                    "required": ["type"],
                    "properties": {"type": {"enum": ["tls", "tls-external", "scram-sha-512"]}},
                },
                "authorization": {
                    "type": "object",
                    "required": ["type", "acls"],
                    "properties": {
                        "acls": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "required": ["resource", "operations"],
                                "properties": {
                                    "resource": {
                                        "type": "object",
                                        "required": ["type"],
                                        "properties": {
                                            "type": {
                                                "enum": [
                                                    "topic",
                                                    "group",
                                                    "cluster",
                                                    "transactionalId",
                                                ]
                                            },
                                            "patternType": {"enum": ["literal", "prefix"]},
                                        },
                                    }
                                },
                            },
                        }
                    },
                },
            },
        },
        _CLUSTER_LABEL,
    ),
}


# -- tests --------------------------------------------------------------------------


@pytest.mark.parametrize("folder", [OVERLAY, STRIMZI], ids=["overlay", "strimzi"])
def test_every_object_is_valid_against_its_schema(folder: Path) -> None:
    """Built-in kinds pass Kubernetes 1.33's schemas in strict mode (no unknown fields);
    custom resources pass the CRDs' required fields; no kind is left unchecked."""
    objects = rendered(folder)
    assert objects
    for o in objects:
        if o["kind"] in CR_SCHEMAS:
            jsonschema.validate(o, CR_SCHEMAS[o["kind"]])
        else:
            kubernetes_validate.validate(o, K8S_VERSION, strict=True)


def test_a_wrong_field_is_caught_by_the_checks() -> None:
    """The strict check refuses a misspelt field, the CR schemas a topic without partitions."""
    worker = one(rendered(OVERLAY), "StatefulSet", "worker")
    bad = {**worker, "spec": {**worker["spec"], "replica": 2}}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(bad, K8S_VERSION, strict=True)
    topic = one(rendered(STRIMZI), "KafkaTopic", "dossier-events")
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**topic, "spec": {"replicas": 3}}, CR_SCHEMAS["KafkaTopic"])


def test_every_container_has_requests_and_limits_and_workers_fit_the_budget() -> None:
    """CPU and memory requests and limits everywhere; a worker gets 1 GiB, request = limit."""
    for workload, c in containers(rendered(OVERLAY)):
        for side in ("requests", "limits"):
            assert {"cpu", "memory"} <= set(c["resources"][side]), (workload, side)
    worker = one(rendered(OVERLAY), "StatefulSet", "worker")
    resources = worker["spec"]["template"]["spec"]["containers"][0]["resources"]
    assert resources["requests"]["memory"] == resources["limits"]["memory"] == "1Gi"


def _port_arg(args: list[str]) -> int:
    for flag in ("--web-port", "--port"):
        if flag in args:
            return int(args[args.index(flag) + 1])
    raise AssertionError(f"no port in {args}")


def test_our_programs_are_probed_on_health_at_the_port_they_listen_on() -> None:
    """Every container of ours that serves HTTP has readiness on /health and liveness on
    /health (a worker: /health/live, alive while restoring), at the port its command line
    gives it; the bridge serves none and has none."""
    probed = set()
    for workload, c in containers(rendered(OVERLAY)):
        if not c["image"].startswith(OUR_IMAGE + ":"):
            continue
        if c["args"][0] == "bridge":
            assert "ports" not in c and "livenessProbe" not in c
            continue
        ports = {p["name"]: p["containerPort"] for p in c["ports"]}
        # A worker restoring its tables is not ready but alive: its liveness and startup
        # probes ask /health/live, which a restore does not fail.
        alive = "/health/live" if c["args"][0] == "worker" else "/health"
        for probe, path in (("readinessProbe", "/health"), ("livenessProbe", alive)):
            get = c[probe]["httpGet"]
            assert get["path"] == path, (workload, probe)
            assert ports.get(get["port"], get["port"]) == _port_arg(c["args"]), (workload, probe)
        probed.add(workload)
    assert probed == {"worker", "ingest-gateway", "zalo-adapter", "sms-adapter"}


def test_images_are_pinned_by_tag() -> None:
    """No image without a tag or with `latest`; ours comes from the overlay's registry."""
    images = [c["image"] for _, c in containers(rendered(OVERLAY))]
    for image in images:
        name, _, tag = image.rpartition(":")
        assert name and tag and tag != "latest" and "/" not in tag, image
    assert sum(image.startswith(OUR_IMAGE + ":") for image in images) == 5


def test_scaling_stays_within_the_partitions_and_reads_the_workers_group(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The StatefulSet starts with no more workers than partitions, KEDA scales up to
    exactly that many, on the lag of the worker's own group and events topic."""
    objects = rendered(OVERLAY)
    s = worker_settings(objects, monkeypatch)
    assert 1 <= one(objects, "StatefulSet", "worker")["spec"]["replicas"] <= s.partitions
    scaled = one(objects, "ScaledObject", "worker")["spec"]
    assert scaled["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "name": "worker",
    }
    assert 1 <= scaled["minReplicaCount"] <= scaled["maxReplicaCount"] == s.partitions
    (trigger,) = scaled["triggers"]
    assert trigger["metadata"]["consumerGroup"] == s.app_id
    assert trigger["metadata"]["topic"] == s.events_topic
    assert trigger["metadata"]["bootstrapServers"] == s.bootstrap
    one(objects, "TriggerAuthentication", trigger["authenticationRef"]["name"])


def test_strimzi_topics_are_what_the_worker_checks_at_start(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The KafkaTopics are exactly the worker's topics (streams/worker/topics.py), with its
    partition counts and configs, replicated more than min.insync.replicas."""
    s = worker_settings(rendered(OVERLAY), monkeypatch)
    objects = rendered(STRIMZI)
    topics = {
        o["spec"].get("topicName", o["metadata"]["name"]): o["spec"]
        for o in objects
        if o["kind"] == "KafkaTopic"
    }
    want = {spec.name: spec for spec in worker_topics(s)}
    assert set(topics) == set(want)
    config = one(objects, "Kafka", "kafka")["spec"]["kafka"]["config"]
    for name, spec in want.items():
        assert topics[name]["partitions"] == spec.partitions, name
        assert topics[name].get("config", {}) == dict(spec.configs), name
        assert topics[name]["replicas"] > config["min.insync.replicas"], name


def test_the_kafka_user_may_use_every_topic_and_group_the_programs_use(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The KafkaUser's prefix ACLs cover each worker topic (read, write, create) and the
    workers' and the bridge's consumer groups; its name is the programs' user name."""
    objects = rendered(OVERLAY)
    s = worker_settings(objects, monkeypatch)
    user = one(rendered(STRIMZI), "KafkaUser", "dossierwatch")
    settings = one(objects, "ConfigMap", "dossierwatch-settings")["data"]
    assert settings["KAFKA_SASL_USERNAME"] == user["metadata"]["name"]
    acls = user["spec"]["authorization"]["acls"]

    def allowed(kind: str, name: str, operation: str) -> bool:
        return any(
            a["resource"]["type"] == kind
            and operation in a["operations"]
            and (
                name.startswith(a["resource"]["name"])
                if a["resource"].get("patternType") == "prefix"
                else name == a["resource"]["name"]
            )
            for a in acls
        )

    for spec in worker_topics(s):
        for operation in ("Read", "Write", "Create", "Describe"):
            assert allowed("topic", spec.name, operation), (spec.name, operation)
    bridge = one(objects, "Deployment", "bridge")["spec"]["template"]["spec"]["containers"][0]
    group = bridge["args"][bridge["args"].index("--group") + 1]
    for name in (s.app_id, group):
        assert allowed("group", name, "Read"), name


def test_every_config_and_secret_a_pod_needs_is_in_the_overlay() -> None:
    """Each ConfigMap and Secret a pod mounts or reads (unless marked optional) is among
    the rendered objects, and each Secret key it picks exists there."""
    objects = rendered(OVERLAY)
    have = {(o["kind"], o["metadata"]["name"]): o for o in objects}
    for o in objects:
        if o["kind"] not in WORKLOADS:
            continue
        pod = o["spec"]["template"]["spec"]
        for v in pod.get("volumes", []):
            for kind, ref, name_key in (
                ("ConfigMap", v.get("configMap"), "name"),
                ("Secret", v.get("secret"), "secretName"),
            ):
                if ref is None or ref.get("optional"):
                    continue
                found = have.get((kind, ref[name_key]))
                assert found is not None, (o["metadata"]["name"], ref)
                keys = set(found.get("data", {})) | set(found.get("stringData", {}))
                assert {i["key"] for i in ref.get("items", [])} <= keys, ref
        for c in pod["containers"]:
            for source in c.get("envFrom", []):
                for kind, ref in (
                    ("ConfigMap", source.get("configMapRef")),
                    ("Secret", source.get("secretRef")),
                ):
                    if ref is not None and not ref.get("optional"):
                        assert (kind, ref["name"]) in have, ref


def test_configs_are_generated_from_the_projects_files() -> None:
    """The rules and Alertmanager ConfigMaps hold deploy/prometheus and deploy/alertmanager
    as they are (one source of truth with compose), and Prometheus loads each rule file."""
    objects = rendered(OVERLAY)
    rules = one(objects, "ConfigMap", "prometheus-rules")["data"]
    folder = REPO / "deploy" / "prometheus" / "rules"
    assert rules == {p.name: p.read_text() for p in folder.glob("*.yml")}
    am = one(objects, "ConfigMap", "alertmanager-config")["data"]
    assert am == {"alertmanager.yml": (REPO / "deploy/alertmanager/alertmanager.yml").read_text()}
    config = yaml.safe_load(
        one(objects, "ConfigMap", "prometheus-config")["data"]["prometheus.yml"]
    )
    assert sorted(Path(f).name for f in config["rule_files"]) == sorted(rules)


def test_disruption_budgets_cover_running_pods() -> None:
    """Each PodDisruptionBudget selects a workload's pods, and the workers' lets one go."""
    objects = rendered(OVERLAY)
    labels = [
        o["spec"]["template"]["metadata"]["labels"] for o in objects if o["kind"] in WORKLOADS
    ]
    budgets = [o for o in objects if o["kind"] == "PodDisruptionBudget"]
    assert {b["metadata"]["name"] for b in budgets} >= {"worker", "ingest-gateway"}
    for b in budgets:
        wanted = b["spec"]["selector"]["matchLabels"].items()
        assert any(wanted <= pod.items() for pod in labels), b["metadata"]["name"]
    assert one(objects, "PodDisruptionBudget", "worker")["spec"]["maxUnavailable"] == 1


def test_placeholder_secrets_hold_no_real_value() -> None:
    """Every Secret value committed in the example is a marked placeholder (or the user
    name, or the path the SMS gateway file is mounted at), never something that could be
    a real token."""
    not_secret = {"username", "SMS_GATEWAY_CONFIG"}
    for o in rendered(OVERLAY):
        if o["kind"] == "Secret":
            assert "data" not in o
            for key, value in o["stringData"].items():
                assert "REPLACE-ME" in value or key in not_secret, (o["metadata"]["name"], key)


def test_alertmanagers_endpoints_are_services_at_their_ports() -> None:
    """Every webhook URL (and the SMTP smarthost) in alertmanager.yml names a Service of the
    overlay that serves the URL's port on a pod listening there, or an ExternalName Service
    (which takes the port to the outside host as it is)."""
    objects = rendered(OVERLAY)
    config = yaml.safe_load(ALERTMANAGER_YML.read_text())
    endpoints = {urlsplit(url) for url in values_of(config, "url")}
    endpoints.add(urlsplit("smtp://" + config["global"]["smtp_smarthost"]))
    assert endpoints
    served = set()
    for endpoint in endpoints:
        service = one(objects, "Service", str(endpoint.hostname))["spec"]
        if service.get("type") == "ExternalName":
            continue
        ports = [p for p in service["ports"] if p["port"] == endpoint.port]
        assert ports, f"{endpoint.netloc}: the Service has no port {endpoint.port}"
        target = ports[0].get("targetPort", endpoint.port)
        listening = [
            c
            for o in objects
            if o["kind"] in WORKLOADS
            and service["selector"].items() <= o["spec"]["template"]["metadata"]["labels"].items()
            for c in o["spec"]["template"]["spec"]["containers"]
            if any(target in (p.get("name"), p["containerPort"]) for p in c.get("ports", []))
        ]
        assert listening, f"{endpoint.netloc}: no pod of the Service listens on {target}"
        served.add(endpoint.hostname)
    # Our own receivers are in the base, not ExternalNames left to the installation.
    assert {"zalo-adapter", "sms-adapter"} <= served


def test_alertmanagers_credential_files_are_mounted_from_the_overlays_secrets() -> None:
    """Every credentials_file in alertmanager.yml is mounted in the Alertmanager pod from a
    Secret key that the example overlay's Secrets define."""
    objects = rendered(OVERLAY)
    files = set(values_of(yaml.safe_load(ALERTMANAGER_YML.read_text()), "credentials_file"))
    assert files
    pod = one(objects, "StatefulSet", "alertmanager")["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    secrets = {o["metadata"]["name"]: o["stringData"] for o in objects if o["kind"] == "Secret"}
    for path in sorted(files):
        source = mounted_from_secret(pod, container, path)
        assert source is not None, f"{path} is not mounted from a Secret"
        name, key = source
        assert key in secrets.get(name, {}), f"{path}: the overlay's Secret {name} has no {key}"


def test_adapters_get_the_flags_they_get_in_compose() -> None:
    """Each alert adapter docker-compose.yml runs is run in Kubernetes too, with the same
    flags (their values, paths and ports, may differ)."""
    services = yaml.safe_load(COMPOSE.read_text())["services"]
    in_compose = {
        s["command"][0]: s["command"]
        for s in services.values()
        if isinstance(s.get("command"), list) and str(s["command"][0]).endswith("-adapter")
    }
    in_kubernetes = {
        c["args"][0]: c["args"]
        for _, c in containers(rendered(OVERLAY))
        if c.get("args") and str(c["args"][0]).endswith("-adapter")
    }
    assert set(in_kubernetes) == set(in_compose) == {"zalo-adapter", "sms-adapter"}

    def flags(args: list[str]) -> list[str]:
        return sorted(a for a in args if a.startswith("--"))

    for adapter, args in in_compose.items():
        ours, theirs = flags(in_kubernetes[adapter]), flags(args)
        assert ours == theirs, (
            f"{adapter}: only in Kubernetes {sorted(set(ours) - set(theirs))},"
            f" only in compose {sorted(set(theirs) - set(ours))}"
        )


def test_the_sms_gateway_path_is_the_file_mounted_beside_it() -> None:
    """SMS_GATEWAY_CONFIG, from the optional SMS Secret, names the file the SMS adapter
    mounts from that same Secret (so the path is set exactly when the file is there)."""
    objects = rendered(OVERLAY)
    pod = one(objects, "Deployment", "sms-adapter")["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    env = {e["name"]: e for e in container["env"]}
    ref = env["SMS_GATEWAY_CONFIG"]["valueFrom"]["secretKeyRef"]
    assert ref["optional"] is True
    secret = one(objects, "Secret", ref["name"])["stringData"]
    source = mounted_from_secret(pod, container, secret[ref["key"]])
    assert source is not None and source[0] == ref["name"], source
    assert source[1] in secret, source


def test_the_zns_template_the_readme_names_is_in_the_zalo_adapters_pod() -> None:
    """The ZALO_ZNS_TEMPLATE path the README tells operators to set is a file of a
    ConfigMap mounted in the Zalo adapter, with the project's template as its content."""
    readme = (KUBERNETES / "README.md").read_text(encoding="utf-8")
    found = re.search(r"ZALO_ZNS_TEMPLATE=(\S+?)`", readme)
    assert found, "the README does not say how to turn ZNS on"
    folder, _, name = found.group(1).rpartition("/")
    objects = rendered(OVERLAY)
    pod = one(objects, "Deployment", "zalo-adapter")["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    mount = next(m for m in container["volumeMounts"] if m["mountPath"] == folder)
    volume = next(v for v in pod["volumes"] if v["name"] == mount["name"])
    data = one(objects, "ConfigMap", volume["configMap"]["name"])["data"]
    template = REPO / "deploy" / "alertmanager" / "zns-template.toml"
    assert data.get(name) == template.read_text(encoding="utf-8")


def test_the_renderer_refuses_what_it_cannot_render(tmp_path: Path) -> None:
    """A kustomization with patches, hashed generated names or a file outside its folder
    is refused, not rendered wrong."""
    (tmp_path / "a").mkdir()
    (tmp_path / "outside.yml").write_text("x: 1\n")
    cases = [
        "resources: []\npatches: []\n",
        "configMapGenerator:\n  - name: c\n    literals: [A=1]\n",
        "generatorOptions: {disableNameSuffixHash: true}\n"
        "configMapGenerator:\n  - name: c\n    files: [../outside.yml]\n",
    ]
    for text in cases:
        (tmp_path / "a" / "kustomization.yaml").write_text(text)
        with pytest.raises(KustomizeError):
            render(tmp_path / "a")


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl not installed")
@pytest.mark.parametrize("folder", [OVERLAY, STRIMZI], ids=["overlay", "strimzi"])
def test_the_renderer_agrees_with_kubectl_kustomize(folder: Path) -> None:
    """Where kubectl is installed, its `kustomize` renders the very same objects."""
    out = subprocess.run(
        ["kubectl", "kustomize", str(folder)], capture_output=True, text=True, check=True
    ).stdout
    theirs = [o for o in yaml.safe_load_all(out) if o]

    def by_name(objects: list[dict[str, Any]]) -> dict[tuple[str, str], Any]:
        return {(o["kind"], o["metadata"]["name"]): o for o in objects}

    assert by_name(rendered(folder)) == by_name(theirs)
