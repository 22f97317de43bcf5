"""The compose file: its services, how they find each other, and what they mount."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from gateway.cli import build_parser
from gateway.config import ENV_PREFIX, Settings, load_settings
from tests.deploy.promql import DEPLOY, ROOT

COMPOSE_FILE = DEPLOY / "docker" / "compose.yaml"
COMPOSE = yaml.safe_load(COMPOSE_FILE.read_text())
SERVICES: dict[str, Any] = COMPOSE["services"]


def with_defaults(value: str) -> str:
    """A value with compose's `${VAR:-default}` interpolation done, nothing set."""
    return re.sub(r"\$\{\w+:-([^}]*)\}", r"\1", value)


def gateway_environment() -> dict[str, str]:
    """The gateway's environment as compose sets it when the shell sets nothing."""
    env = SERVICES["gateway"]["environment"]
    return {key: with_defaults(str(value)) for key, value in env.items() if value is not None}


def bind_mounts(service: str) -> list[tuple[Path, str]]:
    """(host path, container path) of a service's bind mounts."""
    out = []
    for volume in SERVICES[service].get("volumes", []):
        source, target = volume.split(":")[:2]
        if source.startswith((".", "/")):
            out.append(((COMPOSE_FILE.parent / source).resolve(), target))
    return out


def test_names_every_service() -> None:
    """Gateway, simulator, Redis, Prometheus and Grafana are all there."""
    assert {"gateway", "simulator", "redis", "prometheus", "grafana"} <= set(SERVICES)


def test_every_service_has_a_healthcheck() -> None:
    """Each service says how compose can tell it is healthy."""
    for name, service in SERVICES.items():
        assert service.get("healthcheck", {}).get("test"), name


def test_gateway_builds_from_the_repository_root() -> None:
    """The gateway image is built with deploy/docker/Dockerfile, the repository as context."""
    build = SERVICES["gateway"]["build"]
    context = (COMPOSE_FILE.parent / build["context"]).resolve()
    assert context == ROOT
    assert (context / build["dockerfile"]).is_file()
    assert SERVICES["simulator"]["image"] == SERVICES["gateway"]["image"]


def test_gateway_runs_two_replicas_or_two_workers() -> None:
    """Two replicas (or two workers) share the state."""
    replicas = SERVICES["gateway"].get("deploy", {}).get("replicas", 1)
    workers = int(gateway_environment().get("LASTWORD_WORKERS", "1"))
    assert replicas * workers >= 2


def test_gateway_settings_are_valid_and_point_at_redis_and_the_simulator() -> None:
    """The gateway's variables are known settings: Redis store, the simulator as upstreams."""
    env = gateway_environment()
    for key in SERVICES["gateway"]["environment"]:
        assert key.startswith(ENV_PREFIX), key
        assert key[len(ENV_PREFIX) :].lower() in Settings.model_fields, key
    settings = load_settings(environ=env)
    assert settings.store == "redis://redis:6379/0"
    assert settings.anthropic_upstream == settings.openai_upstream == "http://simulator:8081"
    assert SERVICES["gateway"]["environment"]["LASTWORD_ANTHROPIC_UPSTREAM"].startswith("${")
    depends = SERVICES["gateway"]["depends_on"]
    assert depends["redis"]["condition"] == "service_healthy"


def test_simulator_listens_where_the_gateway_sends() -> None:
    """The simulator command parses and listens on all interfaces, port 8081."""
    args = build_parser().parse_args(SERVICES["simulator"]["command"])
    assert (args.command, args.host, args.port) == ("simulate", "0.0.0.0", 8081)


def test_redis_persists_an_append_only_file_on_a_volume() -> None:
    """Redis runs with appendonly on, its /data on a declared named volume."""
    redis = SERVICES["redis"]
    command = redis["command"]
    assert command[command.index("--appendonly") + 1] == "yes"
    (volume,) = redis["volumes"]
    name, target = volume.split(":")[:2]
    assert target == "/data"
    assert name in COMPOSE["volumes"]


def test_prometheus_loads_the_config_and_the_alert_rules() -> None:
    """Prometheus mounts prometheus.yml and alerts.yml side by side, as the config expects."""
    mounts = dict((target, source) for source, target in bind_mounts("prometheus"))
    assert mounts["/etc/prometheus/prometheus.yml"] == DEPLOY / "prometheus" / "prometheus.yml"
    assert mounts["/etc/prometheus/alerts.yml"] == DEPLOY / "prometheus" / "alerts.yml"
    assert "--config.file=/etc/prometheus/prometheus.yml" in SERVICES["prometheus"]["command"]


def test_every_bind_mount_exists_and_named_volumes_are_declared() -> None:
    """Bind-mounted paths exist in the repository; named volumes are declared."""
    for name, service in SERVICES.items():
        for source, _ in bind_mounts(name):
            assert source.exists(), f"{name}: {source}"
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if not source.startswith((".", "/")):
                assert source in COMPOSE["volumes"], f"{name}: {source}"
