"""The Grafana dashboard and its provisioning: structure, and every query valid and real."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.deploy.promql import (
    DEPLOY,
    dashboard,
    dashboard_expressions,
    families,
    family_of,
    panels,
    parse,
    substitute,
    tool,
    unknown_labels,
    unknown_names,
)

BOARD = dashboard()
EXPRESSIONS = dashboard_expressions(BOARD)
DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}


def test_dashboard_identity_and_variables() -> None:
    """uid `lastword`, a Prometheus `datasource` variable and `job`/`instance` filters."""
    assert BOARD["uid"] == "lastword"
    assert BOARD["title"]
    variables = {v["name"]: v for v in BOARD["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    for name in ("job", "instance"):
        assert variables[name]["type"] == "query"
        assert variables[name]["datasource"] == DATASOURCE
        assert variables[name]["multi"] and variables[name]["includeAll"]


def test_panels_have_unique_ids_and_fit_the_grid_without_overlapping() -> None:
    """Panel ids are unique and their positions tile the 24-column grid without overlap."""
    ids = [panel["id"] for panel in panels(BOARD)]
    assert len(ids) == len(set(ids))
    taken: set[tuple[int, int]] = set()
    for panel in panels(BOARD):
        pos = panel["gridPos"]
        assert pos["x"] >= 0 and pos["w"] > 0 and pos["x"] + pos["w"] <= 24, panel["title"]
        cells = {
            (x, y)
            for x in range(pos["x"], pos["x"] + pos["w"])
            for y in range(pos["y"], pos["y"] + pos["h"])
        }
        assert not cells & taken, f"{panel['title']!r} overlaps another panel"
        taken |= cells


def test_dashboard_is_organised_in_rows() -> None:
    """Panels are grouped under rows, starting with one."""
    first = BOARD["panels"][0]
    assert first["type"] == "row"
    assert sum(panel["type"] == "row" for panel in BOARD["panels"]) >= 4


@pytest.mark.parametrize(
    "panel",
    [p for p in panels(BOARD) if p["type"] != "row"],
    ids=lambda p: str(p["title"]),
)
def test_panel_queries_the_selected_datasource_with_a_unit(panel: dict[str, Any]) -> None:
    """Every panel reads the `datasource` variable, has queries and, if it plots, a unit."""
    assert panel["datasource"] == DATASOURCE
    assert panel["targets"]
    for target in panel["targets"]:
        assert target["datasource"] == DATASOURCE
        assert target["expr"].strip()
    if panel["type"] in {"timeseries", "stat"}:
        assert panel["fieldConfig"]["defaults"].get("unit")


def test_every_dashboard_expression_is_valid_promql(tmp_path: Path) -> None:
    """`promtool check rules` accepts every expression, variables substituted."""
    rules = []
    for i, (_, expr) in enumerate(EXPRESSIONS):
        text = substitute(expr)
        assert "$" not in text, f"an unknown variable in {expr!r}"
        rules.append({"record": f"lastword_dashboard:expr_{i}", "expr": text})
    path = tmp_path / "dashboard_rules.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}))
    done = subprocess.run(
        [tool("promtool"), "check", "rules", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"SUCCESS: {len(rules)} rules found" in done.stdout


@pytest.mark.parametrize(("where", "expr"), EXPRESSIONS, ids=[w for w, _ in EXPRESSIONS])
def test_expression_uses_only_exported_metrics_and_labels(where: str, expr: str) -> None:
    """Every metric and label a query reads is one gateway/metrics.py exports."""
    assert parse(expr).selectors, f"{where}: no metric in {expr!r}"
    assert unknown_names(expr) == []
    assert unknown_labels(expr) == []


@pytest.mark.parametrize(("where", "expr"), EXPRESSIONS, ids=[w for w, _ in EXPRESSIONS])
def test_expression_honours_the_job_and_instance_filters(where: str, expr: str) -> None:
    """Every selector is narrowed by the `$job` filter, and in panels by `$instance` too."""
    for selector in parse(expr).selectors:
        if where == "variable job":
            continue
        assert selector.matcher("job") == ("=~", "$job"), f"{where}: {selector.metric}"
        if where != "variable instance":
            assert selector.matcher("instance") == ("=~", "$instance"), where


def test_every_exported_metric_is_on_the_dashboard() -> None:
    """Each metric family of gateway/metrics.py appears in at least one panel."""
    shown = {family_of(s.metric) for _, expr in EXPRESSIONS for s in parse(expr).selectors}
    assert families() - shown == set()


def test_latency_panels_take_quantiles_of_bucket_rates() -> None:
    """Histograms are shown as histogram_quantile over rates of their `_bucket` series."""
    histograms = {
        "lastword_upstream_duration_seconds": {"0.5", "0.95", "0.99"},
        "lastword_upstream_ttfb_seconds": {"0.5", "0.95", "0.99"},
        "lastword_gateway_overhead_seconds": {"0.5", "0.99"},
        "lastword_store_operation_duration_seconds": {"0.5", "0.99"},
    }
    for name, wanted in histograms.items():
        pattern = (
            rf"histogram_quantile\((0\.\d+), sum by \([^)]*\ble\b[^)]*\) \(rate\({name}_bucket\{{"
        )
        found = {m[1] for _, expr in EXPRESSIONS for m in re.finditer(pattern, expr)}
        assert wanted <= found, name


def test_datasource_provisioning_points_at_the_compose_prometheus() -> None:
    """The provisioned data source is Prometheus at http://prometheus:9090."""
    config = yaml.safe_load(
        (DEPLOY / "grafana/provisioning/datasources/prometheus.yaml").read_text()
    )
    assert config["apiVersion"] == 1
    (source,) = config["datasources"]
    assert source["type"] == "prometheus"
    assert source["url"] == "http://prometheus:9090"


def test_dashboard_provisioning_reads_the_folder_compose_mounts_the_dashboard_in() -> None:
    """The file provider's path is where compose mounts deploy/grafana/lastword.json."""
    config = yaml.safe_load((DEPLOY / "grafana/provisioning/dashboards/lastword.yaml").read_text())
    (provider,) = config["providers"]
    assert provider["type"] == "file"
    folder = provider["options"]["path"]
    compose = yaml.safe_load((DEPLOY / "docker/compose.yaml").read_text())
    mounts = compose["services"]["grafana"]["volumes"]
    assert f"../grafana/lastword.json:{folder}/lastword.json:ro" in mounts
    assert "../grafana/provisioning:/etc/grafana/provisioning:ro" in mounts
