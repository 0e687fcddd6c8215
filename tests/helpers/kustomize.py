"""`kubectl kustomize`, for the few features deploy/kubernetes uses, without kubectl.

resources (files and folders), configMapGenerator (files, `key=path` files, literals;
names without hash suffix), namespace, images, replicas.  Anything else is refused by
name, so a manifest using a feature this does not render fails the test instead of being
rendered wrong.  Files are read only under the kustomization's own folder, as kustomize's
default load restrictor demands.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

SUPPORTED = {
    "apiVersion",
    "kind",
    "resources",
    "configMapGenerator",
    "generatorOptions",
    "namespace",
    "images",
    "replicas",
}
CLUSTER_SCOPED = {"Namespace", "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition"}


class KustomizeError(ValueError):
    """A kustomization this renderer cannot render as kustomize would."""


def render(folder: Path) -> list[dict[str, Any]]:
    """The objects `kubectl kustomize folder` prints, in their order."""
    spec = yaml.safe_load((folder / "kustomization.yaml").read_text())
    unknown = set(spec) - SUPPORTED
    if unknown:
        raise KustomizeError(f"{folder}: unsupported kustomization fields {sorted(unknown)}")
    objects: list[dict[str, Any]] = []
    for entry in spec.get("resources", []):
        path = (folder / entry).resolve()
        if path.is_dir():
            objects += render(path)
        else:
            objects += [o for o in yaml.safe_load_all(_inside(folder, path).read_text()) if o]
    generators = spec.get("configMapGenerator", [])
    if generators and not spec.get("generatorOptions", {}).get("disableNameSuffixHash"):
        raise KustomizeError(f"{folder}: generated names with a hash suffix are not rendered")
    objects += [_config_map(folder, g) for g in generators]
    for o in objects:
        _transform(o, spec)
    return objects


def _inside(folder: Path, path: Path) -> Path:
    if not path.resolve().is_relative_to(folder.resolve()):
        raise KustomizeError(f"{path} is outside {folder}: kustomize refuses to load it")
    return path


def _config_map(folder: Path, g: dict[str, Any]) -> dict[str, Any]:
    data: dict[str, str] = {}
    for item in g.get("files", []):
        key, _, name = item.rpartition("=")
        path = _inside(folder, (folder / name).resolve())
        data[key or path.name] = path.read_text()
    for literal in g.get("literals", []):
        key, _, value = literal.partition("=")
        data[key] = value
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": g["name"]}, "data": data}


def _transform(o: dict[str, Any], spec: dict[str, Any]) -> None:
    namespace = spec.get("namespace")
    if namespace and o["kind"] not in CLUSTER_SCOPED:
        o["metadata"]["namespace"] = namespace
        for subject in o.get("subjects", []):
            if subject.get("kind") == "ServiceAccount":
                subject["namespace"] = namespace
    for r in spec.get("replicas", []):
        if o["kind"] in ("Deployment", "StatefulSet") and o["metadata"]["name"] == r["name"]:
            o["spec"]["replicas"] = r["count"]
    pod = o.get("spec", {}).get("template", {}).get("spec", {})
    for c in pod.get("containers", []) + pod.get("initContainers", []):
        name, _, tag = c["image"].partition(":")
        for image in spec.get("images", []):
            if image["name"] == name:
                c["image"] = f"{image.get('newName', name)}:{image.get('newTag', tag)}"
