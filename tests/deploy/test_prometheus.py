"""The Prometheus configuration, the alert rules and their unit tests."""

from __future__ import annotations

import re
import subprocess

import pytest
import yaml

from tests.deploy.promql import (
    ALERTS,
    DEPLOY,
    alert_rules,
    github_anchor,
    tool,
    unknown_labels,
    unknown_names,
)

PROMETHEUS_DIR = DEPLOY / "prometheus"
ALERTS_TEST = PROMETHEUS_DIR / "alerts_test.yml"
README = DEPLOY / "README.md"
REQUIRED_ALERTS = {
    "LastwordEndingRateSpike",
    "LastwordCrisisRedirectSpike",
    "LastwordStoreErrors",
    "LastwordUpstreamErrorRatioHigh",
    "LastwordGatewayOverheadHigh",
    "LastwordNoTraffic",
}


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    """Run promtool in deploy/prometheus, so relative rule paths resolve as in compose."""
    return subprocess.run(
        [tool("promtool"), *args],
        cwd=PROMETHEUS_DIR,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_alert_rules_pass_promtool_check() -> None:
    """`promtool check rules` accepts alerts.yml."""
    done = promtool("check", "rules", ALERTS.name)
    assert done.returncode == 0, done.stdout + done.stderr


def test_alert_unit_tests_pass() -> None:
    """`promtool test rules` passes every case of alerts_test.yml."""
    done = promtool("test", "rules", ALERTS_TEST.name)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS" in done.stdout


def test_prometheus_config_passes_promtool_check() -> None:
    """`promtool check config` accepts prometheus.yml and finds its rule file."""
    done = promtool("check", "config", "prometheus.yml")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 rule files found" in done.stdout


def test_prometheus_config_scrapes_the_gateway_and_loads_the_alerts() -> None:
    """The compose Prometheus scrapes the gateway service on 8080 and loads alerts.yml."""
    config = yaml.safe_load((PROMETHEUS_DIR / "prometheus.yml").read_text())
    assert config["rule_files"] == ["alerts.yml"]
    (job,) = [job for job in config["scrape_configs"] if job["job_name"] == "lastword"]
    assert job.get("metrics_path", "/metrics") == "/metrics"
    (sd,) = job["dns_sd_configs"]
    assert sd["names"] == ["gateway"]
    assert sd["port"] == 8080


def test_every_required_alert_is_defined() -> None:
    """alerts.yml defines every alert the SREs rely on, each name once."""
    names = [rule["alert"] for rule in alert_rules()]
    assert len(names) == len(set(names))
    assert set(names) >= REQUIRED_ALERTS


@pytest.mark.parametrize("rule", alert_rules(), ids=lambda rule: rule["alert"])
def test_alert_has_severity_and_annotations(rule: dict[str, object]) -> None:
    """Every alert has a severity, a summary, a description and a runbook URL."""
    assert rule["labels"]["severity"] in {"critical", "warning", "info"}  # type: ignore[index]
    annotations = rule["annotations"]
    assert isinstance(annotations, dict)
    assert {"summary", "description", "runbook_url"} <= set(annotations)
    assert all(str(annotations[key]).strip() for key in ("summary", "description"))


@pytest.mark.parametrize("rule", alert_rules(), ids=lambda rule: rule["alert"])
def test_alert_runbook_points_at_its_readme_section(rule: dict[str, object]) -> None:
    """Every runbook_url names a section of deploy/README.md titled with the alert's name."""
    anchors = {
        github_anchor(line.lstrip("#"))
        for line in README.read_text().splitlines()
        if line.startswith("#")
    }
    url = rule["annotations"]["runbook_url"]  # type: ignore[index]
    path, _, anchor = url.partition("#")
    assert path.endswith("deploy/README.md")
    assert anchor == github_anchor(str(rule["alert"]))
    assert anchor in anchors


@pytest.mark.parametrize("rule", alert_rules(), ids=lambda rule: rule["alert"])
def test_alert_uses_only_exported_metrics_and_labels(rule: dict[str, object]) -> None:
    """Every metric and label an alert reads is one gateway/metrics.py exports."""
    expr = str(rule["expr"])
    assert re.search(r"\blastword_", expr)
    assert unknown_names(expr) == []
    assert unknown_labels(expr) == []


def test_every_alert_fires_in_one_case_and_stays_quiet_in_another() -> None:
    """alerts_test.yml expects every alert both firing and not firing."""
    tests = yaml.safe_load(ALERTS_TEST.read_text())["tests"]
    fired: set[str] = set()
    quiet: set[str] = set()
    for case in tests:
        for check in case.get("alert_rule_test", []):
            (fired if check.get("exp_alerts") else quiet).add(check["alertname"])
    names = {rule["alert"] for rule in alert_rules()}
    assert fired == names
    assert quiet == names
