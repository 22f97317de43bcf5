"""Helpers for the deploy tests: paths, tools, the gateway's metrics and a small PromQL reader."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client import REGISTRY
from prometheus_client.metrics import MetricWrapperBase

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
DASHBOARD = DEPLOY / "grafana" / "lastword.json"
ALERTS = DEPLOY / "prometheus" / "alerts.yml"

# Labels every scraped series gets from Prometheus itself.
TARGET_LABELS = frozenset({"job", "instance"})
# Series of Prometheus's own that rules may use besides the gateway's.
PROMETHEUS_SERIES = frozenset({"up"})
# What the dashboard's template variables and Grafana's interval macros stand for.
SUBSTITUTIONS = {
    "$__rate_interval": "1m",
    "$__interval": "15s",
    "$__range": "1h",
    "$job": "lastword",
    "$instance": ".+",
}

AGGREGATIONS = frozenset(
    {"sum", "min", "max", "avg", "group", "stddev", "stdvar", "count", "count_values"}
    | {"bottomk", "topk", "quantile"}
)
GROUPING = frozenset({"by", "without", "on", "ignoring", "group_left", "group_right"})
KEYWORDS = frozenset({"bool", "and", "or", "unless", "offset", "atan2", "inf", "nan"})

_TOKEN = re.compile(
    r"""
    (?P<string>"(?:\\.|[^"\\])*"|'(?:\\.|[^'\\])*'|`[^`]*`)
    |(?P<matchers>\{(?:"(?:\\.|[^"\\])*"|'(?:\\.|[^'\\])*'|[^}"'])*\})
    |(?P<range>\[[^\]]*\])
    |(?P<number>\d+(?:\.\d+)?(?:[eE][+-]?\d+)?(?:(?:ms|[smhdwy])(?:\d+(?:ms|[smhdwy]))*)?)
    |(?P<name>[A-Za-z_:][A-Za-z0-9_:]*)
    |(?P<other>\S)
    """,
    re.VERBOSE,
)
_MATCHER = re.compile(
    r"""\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*("(?:\\.|[^"\\])*"|'(?:\\.|[^'\\])*')\s*,?"""
)


def tool(name: str) -> str:
    """The path of a command-line tool the deploy tests need; fail (never skip) without it."""
    found = shutil.which(name) or (
        f"/usr/bin/{name}" if Path(f"/usr/bin/{name}").exists() else None
    )
    if found is None:
        pytest.fail(
            f"{name} is not installed: scripts/test.sh installs it (Debian package prometheus)"
        )
    return found


def load_yaml_documents(path: Path) -> list[Any]:
    """Every non-empty YAML document in a file."""
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc is not None]


@dataclass(frozen=True)
class Selector:
    """A vector selector in an expression: its metric name and label matchers."""

    metric: str
    matchers: tuple[tuple[str, str, str], ...]

    def matcher(self, label: str) -> tuple[str, str] | None:
        """The operator and value that `label` is matched with, if it is."""
        for name, op, value in self.matchers:
            if name == label:
                return op, value
        return None


@dataclass
class Expression:
    """What a PromQL expression reads: selectors and the labels it groups or joins on."""

    selectors: list[Selector] = field(default_factory=list)
    grouping: set[str] = field(default_factory=set)


def _matchers(text: str) -> tuple[tuple[str, str, str], ...]:
    body = text[1:-1]
    out = []
    pos = 0
    while body[pos:].strip():
        found = _MATCHER.match(body, pos)
        if found is None:
            raise ValueError(f"cannot read label matchers {text!r}")
        out.append((found[1], found[2], found[3][1:-1]))
        pos = found.end()
    return tuple(out)


def parse(expr: str) -> Expression:
    """Read the selectors and grouping labels of a PromQL expression."""
    tokens = [(m.lastgroup, m.group()) for m in _TOKEN.finditer(expr)]
    parsed = Expression()
    i = 0
    while i < len(tokens):
        kind, text = tokens[i]
        following = tokens[i + 1] if i + 1 < len(tokens) else (None, "")
        if kind == "name" and text in GROUPING:
            if following[1] == "(":
                i += 2
                while i < len(tokens) and tokens[i][1] != ")":
                    if tokens[i][0] == "name":
                        parsed.grouping.add(tokens[i][1])
                    i += 1
        elif kind == "name" and text not in AGGREGATIONS and text.lower() not in KEYWORDS:
            if following[1] != "(":
                matchers = _matchers(following[1]) if following[0] == "matchers" else ()
                parsed.selectors.append(Selector(text, matchers))
        elif kind == "matchers":
            previous = tokens[i - 1] if i else (None, "")
            if previous[0] != "name":
                raise ValueError(f"a selector without a metric name in {expr!r}")
        i += 1
    return parsed


def substitute(expr: str) -> str:
    """The expression with Grafana's variables replaced by values Prometheus accepts."""
    for variable, value in sorted(SUBSTITUTIONS.items(), key=lambda kv: -len(kv[0])):
        expr = expr.replace(variable, value)
    return expr


@cache
def exported() -> dict[str, frozenset[str]]:
    """Every series name the gateway exports, with the labels it carries."""
    import gateway.metrics as gateway_metrics  # noqa: PLC0415 - registers the metrics

    labels = {
        obj._name: frozenset(obj._labelnames)
        for obj in vars(gateway_metrics).values()
        if isinstance(obj, MetricWrapperBase)
    }
    suffixes = {
        "counter": ("_total", "_created"),
        "histogram": ("_bucket", "_sum", "_count", "_created"),
        "summary": ("", "_sum", "_count", "_created"),
        "gauge": ("",),
        "info": ("_info",),
    }
    series: dict[str, frozenset[str]] = {}
    for family in REGISTRY.collect():
        if not family.name.startswith("lastword_"):
            continue
        for suffix in suffixes[family.type]:
            extra = {"le"} if suffix == "_bucket" else set()
            series[family.name + suffix] = labels[family.name] | TARGET_LABELS | extra
    return series


def families() -> set[str]:
    """The gateway's metric families (names without series suffixes)."""
    import gateway.metrics as gateway_metrics  # noqa: PLC0415 - registers the metrics

    return {
        obj._name for obj in vars(gateway_metrics).values() if isinstance(obj, MetricWrapperBase)
    }


def family_of(series: str) -> str:
    """The family a series name belongs to."""
    for suffix in ("_bucket", "_sum", "_count", "_created", "_total"):
        if series.endswith(suffix) and series[: -len(suffix)] in families():
            return series[: -len(suffix)]
    return series


def unknown_names(expr: str) -> list[str]:
    """Metric names in `expr` that neither the gateway nor Prometheus itself exports."""
    known = exported()
    return [
        s.metric
        for s in parse(expr).selectors
        if s.metric not in known and s.metric not in PROMETHEUS_SERIES
    ]


def unknown_labels(expr: str) -> list[str]:
    """Label names `expr` matches, groups or joins on that its metrics do not carry."""
    known = exported()
    parsed = parse(expr)
    carried: set[str] = set(TARGET_LABELS)
    problems = []
    for selector in parsed.selectors:
        labels = known.get(selector.metric, TARGET_LABELS)
        carried |= labels
        problems += [
            f"{selector.metric}{{{name}}}" for name, _, _ in selector.matchers if name not in labels
        ]
    problems += [f"by/on ({name})" for name in sorted(parsed.grouping - carried)]
    return problems


def dashboard() -> dict[str, Any]:
    """The Grafana dashboard."""
    data: dict[str, Any] = json.loads(DASHBOARD.read_text())
    return data


def panels(board: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every panel, rows and the panels inside collapsed rows included."""
    for panel in board["panels"]:
        yield panel
        yield from panel.get("panels", [])


def dashboard_expressions(board: dict[str, Any]) -> list[tuple[str, str]]:
    """(where, expr) for every PromQL expression of the dashboard, variables included."""
    out = []
    for panel in panels(board):
        for target in panel.get("targets", []):
            out.append(
                (f"panel {panel['id']} {panel['title']!r} {target['refId']}", target["expr"])
            )
    for variable in board["templating"]["list"]:
        if variable["type"] != "query":
            continue
        query = variable["query"]
        text = query["query"] if isinstance(query, dict) else query
        found = re.fullmatch(r"label_values\((.*),\s*([A-Za-z_][A-Za-z0-9_]*)\)", text)
        assert found, f"variable {variable['name']}: expected label_values(selector, label)"
        out.append((f"variable {variable['name']}", found[1]))
    return out


def alert_rules() -> list[dict[str, Any]]:
    """Every alerting rule of alerts.yml."""
    groups = yaml.safe_load(ALERTS.read_text())["groups"]
    return [rule for group in groups for rule in group["rules"] if "alert" in rule]


def github_anchor(heading: str) -> str:
    """The anchor GitHub gives a Markdown heading."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")
