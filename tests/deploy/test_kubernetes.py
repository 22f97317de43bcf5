"""The Kubernetes manifests: valid against the API schemas, and consistent with each other."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jsonschema  # type: ignore[import-untyped]
import kubernetes_validate  # type: ignore[import-untyped]
import pytest
import yaml

from gateway.cli import build_parser
from gateway.config import ENV_PREFIX, Settings, load_settings
from gateway.detect import load_rules
from tests.deploy.dockerfile import final_user
from tests.deploy.promql import DEPLOY, ROOT, load_yaml_documents

K8S = DEPLOY / "kubernetes"
# The oldest Kubernetes release still commonly run; the manifests use nothing newer.
KUBERNETES_VERSION = "1.31.0"
KUSTOMIZATION = yaml.safe_load((K8S / "kustomization.yaml").read_text())
RESOURCES = [
    (path, doc) for path in KUSTOMIZATION["resources"] for doc in load_yaml_documents(K8S / path)
]
# Kinds the Kubernetes API serves itself; the rest come from CRDs.
CRD_KINDS = {"ServiceMonitor"}

# The ServiceMonitor CRD (Prometheus Operator, monitoring.coreos.com/v1) is not part of
# the Kubernetes schemas: this is its structure for the fields a ServiceMonitor here may use.
_DURATION = {
    "type": "string",
    "pattern": r"^(0|(\d+y)?(\d+w)?(\d+d)?(\d+h)?(\d+m)?(\d+s)?(\d+ms)?)$",
}
_LABEL_SELECTOR = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "matchLabels": {"type": "object", "additionalProperties": {"type": "string"}},
        "matchExpressions": {"type": "array", "items": {"type": "object"}},
    },
}
SERVICE_MONITOR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "properties": {
        "apiVersion": {"const": "monitoring.coreos.com/v1"},
        "kind": {"const": "ServiceMonitor"},
        "metadata": {
            "type": "object",
            "required": ["name"],
            "properties": {
                "name": {"type": "string", "pattern": r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"},
                "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                "annotations": {"type": "object", "additionalProperties": {"type": "string"}},
            },
        },
        "spec": {
            "type": "object",
            "additionalProperties": False,
            "required": ["selector", "endpoints"],
            "properties": {
                "selector": _LABEL_SELECTOR,
                "namespaceSelector": {"type": "object"},
                "jobLabel": {"type": "string"},
                "targetLabels": {"type": "array", "items": {"type": "string"}},
                "podTargetLabels": {"type": "array", "items": {"type": "string"}},
                "sampleLimit": {"type": "integer", "minimum": 0},
                "endpoints": {
                    "type": "array",
                    "minItems": 1,
                    "items": {
                        "type": "object",
                        "additionalProperties": False,
                        "properties": {
                            "port": {"type": "string"},
                            "targetPort": {"type": ["string", "integer"]},
                            "path": {"type": "string", "pattern": "^/"},
                            "scheme": {"enum": ["http", "https"]},
                            "interval": _DURATION,
                            "scrapeTimeout": _DURATION,
                            "honorLabels": {"type": "boolean"},
                            "honorTimestamps": {"type": "boolean"},
                            "relabelings": {"type": "array", "items": {"type": "object"}},
                            "metricRelabelings": {"type": "array", "items": {"type": "object"}},
                        },
                    },
                },
            },
        },
    },
}


def one(kind: str, name: str | None = None) -> dict[str, Any]:
    """The single resource of `kind` (and `name`) in the kustomization."""
    found = [
        doc
        for _, doc in RESOURCES
        if doc["kind"] == kind and (name is None or doc["metadata"]["name"] == name)
    ]
    assert len(found) == 1, f"expected one {kind} {name or ''}, found {len(found)}"
    resource: dict[str, Any] = found[0]
    return resource


def pod_spec() -> dict[str, Any]:
    """The gateway Deployment's pod spec."""
    spec: dict[str, Any] = one("Deployment")["spec"]["template"]["spec"]
    return spec


def container() -> dict[str, Any]:
    """The gateway container."""
    (gateway,) = pod_spec()["containers"]
    return dict(gateway)


def env_config() -> dict[str, str]:
    """The LASTWORD_* variables the Deployment takes from its ConfigMap."""
    (source,) = container()["envFrom"]
    data: dict[str, str] = one("ConfigMap", source["configMapRef"]["name"])["data"]
    return data


def test_kustomization_lists_every_manifest() -> None:
    """kustomization.yaml lists every manifest of the folder, and nothing else."""
    on_disk = {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml"}
    assert set(KUSTOMIZATION["resources"]) == on_disk
    assert KUSTOMIZATION["kind"] == "Kustomization"


@pytest.mark.parametrize(
    ("path", "doc"),
    [(p, d) for p, d in RESOURCES if d["kind"] not in CRD_KINDS],
    ids=[
        f"{p}:{d['kind']}/{d['metadata']['name']}"
        for p, d in RESOURCES
        if d["kind"] not in CRD_KINDS
    ],
)
def test_manifest_validates_against_the_kubernetes_schema(path: str, doc: dict[str, Any]) -> None:
    """Each built-in resource validates, strictly (no unknown fields), offline."""
    try:
        kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
    except kubernetes_validate.ValidationError as exc:
        pytest.fail(f"{path}: {exc.message} at {'.'.join(map(str, exc.path))}")


def test_service_monitor_matches_its_crd_structure() -> None:
    """The ServiceMonitor validates against the structure of its CRD's fields."""
    jsonschema.Draft202012Validator(SERVICE_MONITOR_SCHEMA).validate(one("ServiceMonitor"))


def test_schema_validation_rejects_an_unknown_field() -> None:
    """Strict validation catches a misspelt field (the checks above can fail)."""
    broken = {**one("Deployment"), "spec": {**one("Deployment")["spec"], "replicaz": 2}}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, KUBERNETES_VERSION, strict=True)
    monitor = one("ServiceMonitor")
    broken = {**monitor, "spec": {**monitor["spec"], "endpoint": []}}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft202012Validator(SERVICE_MONITOR_SCHEMA).validate(broken)


def test_deployment_runs_two_locked_down_replicas() -> None:
    """Two replicas, non-root, read-only root filesystem, no capabilities, writable /tmp."""
    deployment = one("Deployment")
    assert deployment["spec"]["replicas"] == 2
    pod = pod_spec()
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] != 0
    security = container()["securityContext"]
    assert security["readOnlyRootFilesystem"] is True
    assert security["allowPrivilegeEscalation"] is False
    assert security["capabilities"]["drop"] == ["ALL"]
    mounts = {m["mountPath"]: m["name"] for m in container()["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert "emptyDir" in volumes[mounts["/tmp"]]


def test_pods_match_the_selectors_that_find_them() -> None:
    """The Deployment, Service, PodDisruptionBudget and HPA all find the gateway pods."""
    deployment = one("Deployment")
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    selectors = [
        deployment["spec"]["selector"]["matchLabels"],
        one("Service")["spec"]["selector"],
        one("PodDisruptionBudget")["spec"]["selector"]["matchLabels"],
    ]
    for selector in selectors:
        assert selector.items() <= labels.items()
    target = one("HorizontalPodAutoscaler")["spec"]["scaleTargetRef"]
    assert (target["kind"], target["name"]) == ("Deployment", deployment["metadata"]["name"])


def test_probes_and_ports() -> None:
    """Liveness on /healthz, readiness on /readyz, both on the port named http (8080)."""
    gateway = container()
    (port,) = gateway["ports"]
    assert (port["name"], port["containerPort"]) == ("http", 8080)
    assert gateway["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert gateway["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert env_config()["LASTWORD_PORT"] == "8080"
    (service_port,) = one("Service")["spec"]["ports"]
    assert service_port == {"name": "http", "port": 8080, "targetPort": "http", "protocol": "TCP"}


def test_resources_are_requested_and_limited() -> None:
    """CPU and memory are requested (the HPA scales on CPU) and memory is limited."""
    resources = container()["resources"]
    assert {"cpu", "memory"} <= set(resources["requests"])
    assert "memory" in resources["limits"]
    (metric,) = one("HorizontalPodAutoscaler")["spec"]["metrics"]
    assert metric["resource"]["name"] == "cpu"
    assert one("HorizontalPodAutoscaler")["spec"]["minReplicas"] >= 2


def test_admin_token_comes_from_the_secret() -> None:
    """LASTWORD_ADMIN_TOKEN is read from Secret `lastword-admin`, key `token`."""
    (variable,) = [e for e in container()["env"] if e["name"] == "LASTWORD_ADMIN_TOKEN"]
    assert variable["valueFrom"]["secretKeyRef"] == {"name": "lastword-admin", "key": "token"}
    assert "LASTWORD_ADMIN_TOKEN" not in env_config()


def test_settings_from_the_configmaps_are_valid(tmp_path: Path) -> None:
    """The ConfigMap's variables and config file load as valid settings, Redis as store."""
    for key in env_config():
        assert key.startswith(ENV_PREFIX), key
        assert key[len(ENV_PREFIX) :].lower() in Settings.model_fields, key
    args = build_parser().parse_args(container()["args"])
    assert args.command == "serve"
    mounts = {m["mountPath"]: m["name"] for m in container()["volumeMounts"]}
    folder, _, name = str(args.config).rpartition("/")
    volume = {v["name"]: v for v in pod_spec()["volumes"]}[mounts[folder]]
    config_file = tmp_path / name
    config_file.write_text(one("ConfigMap", volume["configMap"]["name"])["data"][name])
    settings = load_settings(config_file=config_file, environ=env_config())
    assert settings.store.startswith("redis://")
    assert settings.host == "0.0.0.0"
    assert str(settings.rules) == "/etc/lastword/rules"
    assert mounts["/etc/lastword/rules"] == "rules"


def test_rules_configmaps_hold_the_repository_rules(tmp_path: Path) -> None:
    """The `lastword-rules-*` ConfigMaps hold exactly rules/, one file each (regenerate them
    if not), each under the 1 MiB a ConfigMap holds; the rules volume projects them all,
    and what it mounts loads."""
    maps = {
        doc["metadata"]["name"]: doc["data"]
        for _, doc in RESOURCES
        if doc["kind"] == "ConfigMap" and doc["metadata"]["name"].startswith("lastword-rules-")
    }
    on_disk = {p.name: p.read_text() for p in sorted((ROOT / "rules").iterdir()) if p.is_file()}
    assert all(len(data) == 1 for data in maps.values())
    mounted = {name: text for data in maps.values() for name, text in data.items()}
    assert mounted == on_disk, (
        "deploy/kubernetes/rules-configmap.yaml is stale: run scripts/rules-configmap.sh"
    )
    for data in maps.values():
        assert sum(len(text.encode()) for text in data.values()) < 1024 * 1024
    volume = {v["name"]: v for v in pod_spec()["volumes"]}["rules"]
    projected = [source["configMap"]["name"] for source in volume["projected"]["sources"]]
    assert sorted(projected) == sorted(maps)
    for name, text in mounted.items():
        (tmp_path / name).write_text(text)
    assert load_rules(tmp_path).rules


def test_service_monitor_scrapes_the_service_metrics() -> None:
    """The ServiceMonitor selects the Service and scrapes /metrics on its `http` port."""
    monitor = one("ServiceMonitor")
    service = one("Service")
    assert (
        monitor["spec"]["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()
    )
    (endpoint,) = monitor["spec"]["endpoints"]
    assert endpoint["port"] == service["spec"]["ports"][0]["name"]
    assert endpoint["path"] == "/metrics"


def test_pod_user_is_the_image_user() -> None:
    """The pod runs as the numeric user the Dockerfile's final stage sets."""
    uid, gid = final_user()
    security = pod_spec()["securityContext"]
    assert (security["runAsUser"], security["runAsGroup"]) == (uid, gid)
