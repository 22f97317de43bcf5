"""Turn the measurements into the two tables and the JSON document."""

from __future__ import annotations

import json
import os
import platform
import re
import statistics
from collections.abc import Callable, Sequence
from contextlib import suppress
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import ttfb
from redis_stats import RedisCounts
from targets import (
    BARE,
    CLUSTER_PAIR,
    DIRECT,
    GATEWAY,
    GATEWAY_ONE_CORE,
    GATEWAY_REDIS,
    GATEWAY_SQLITE,
    GATEWAY_W2,
    LITELLM,
    REDIS_PAIR,
)
from wrk import WrkRun


@dataclass
class Results:
    """Every measurement of the run, by scenario and target, one entry per round."""

    wrk: dict[str, dict[str, list[WrkRun]]] = field(default_factory=dict)
    streams: dict[str, ttfb.StreamTimes] = field(default_factory=dict)
    # What each Redis-backed target asked of Redis over its c=32 runs, and in how many requests.
    redis: dict[str, RedisCounts] = field(default_factory=dict)
    redis_requests: dict[str, int] = field(default_factory=dict)
    # The mock upstream's process group, whose CPU counts as the load's.
    mock_group: int | None = None

    def add(self, scenario: str, target: str, run: WrkRun) -> None:
        """Record one wrk run."""
        self.wrk.setdefault(scenario, {}).setdefault(target, []).append(run)

    def runs(self, scenario: str, target: str) -> list[WrkRun]:
        """The runs of one scenario and target, in round order."""
        return self.wrk.get(scenario, {}).get(target, [])

    def add_redis(self, target: str, counts: RedisCounts, requests: int) -> None:
        """Record what one run of `target` asked of Redis."""
        self.redis[target] = self.redis.get(target, RedisCounts()).plus(counts)
        self.redis_requests[target] = self.redis_requests.get(target, 0) + requests


def median(values: Sequence[float]) -> float | None:
    """The median, or None when nothing was measured."""
    return statistics.median(values) if values else None


def paired(
    runs_a: Sequence[WrkRun], runs_b: Sequence[WrkRun], combine: Callable[[WrkRun, WrkRun], float]
) -> float | None:
    """Median over rounds of `combine(a, b)` on the two runs of the same round."""
    return median([combine(a, b) for a, b in zip(runs_a, runs_b, strict=False)])


@dataclass(frozen=True)
class Ratio:
    """One derived number, with the bound DESIGN.md sets for it (none: reference only)."""

    label: str
    value: float | None
    unit: str
    target: str = "reference"
    meets: bool | None = None

    @classmethod
    def checked(cls, label: str, value: float | None, unit: str, op: str, bound: float) -> Ratio:
        """A number that must be `op` (<= or >=) `bound`."""
        meets = None
        if value is not None:
            meets = value <= bound if op == "<=" else value >= bound
        return cls(label, value, unit, f"{op} {bound:g}", meets)


def ratios(results: Results) -> list[Ratio]:
    """The comparisons DESIGN.md names; wrk numbers are paired within a round."""
    lat, thr, hist = "latency", "throughput", "history"

    def measured(name: str) -> bool:
        return bool(results.runs(thr, name))

    def p50_gap(a: tuple[str, str], b: tuple[str, str]) -> float | None:
        return paired(results.runs(*a), results.runs(*b), lambda x, y: x.p50_ms - y.p50_ms)

    def rps_ratio(a: str, b: str) -> float | None:
        return paired(
            results.runs(thr, a), results.runs(thr, b), lambda x, y: x.rps / y.rps if y.rps else 0
        )

    def p99_ratio(a: str, b: str) -> float | None:
        return paired(
            results.runs(thr, a),
            results.runs(thr, b),
            lambda x, y: x.p99_ms / y.p99_ms if y.p99_ms else 0,
        )

    def ttfb_gap(name: str) -> float | None:
        if name not in results.streams or DIRECT not in results.streams:
            return None
        a = median(results.streams[name].first_byte_ms)
        b = median(results.streams[DIRECT].first_byte_ms)
        return None if a is None or b is None else a - b

    added = "added p50 over direct, c=1"
    history = "200-turn minus 2-turn p50"
    out = [
        Ratio(f"{added}: bare", p50_gap((lat, BARE), (lat, DIRECT)), "ms"),
        Ratio.checked(f"{added}: gateway", p50_gap((lat, GATEWAY), (lat, DIRECT)), "ms", "<=", 0.5),
        Ratio.checked(
            f"{added}: gateway-sqlite",
            p50_gap((lat, GATEWAY_SQLITE), (lat, DIRECT)),
            "ms",
            "<=",
            0.5,
        ),
        Ratio(f"{added}: gateway-redis", p50_gap((lat, GATEWAY_REDIS), (lat, DIRECT)), "ms"),
        Ratio(f"{added}: gateway-w2", p50_gap((lat, GATEWAY_W2), (lat, DIRECT)), "ms"),
        Ratio.checked("c=32 req/s: gateway / bare", rps_ratio(GATEWAY, BARE), "x", ">=", 0.7),
        Ratio.checked(
            "c=32 req/s: gateway-sqlite / bare", rps_ratio(GATEWAY_SQLITE, BARE), "x", ">=", 0.7
        ),
        Ratio("c=32 req/s: gateway-redis / bare", rps_ratio(GATEWAY_REDIS, BARE), "x"),
        Ratio.checked("c=32 p99: gateway / bare", p99_ratio(GATEWAY, BARE), "x", "<=", 2),
        Ratio.checked(
            "c=32 p99: gateway-sqlite / bare", p99_ratio(GATEWAY_SQLITE, BARE), "x", "<=", 2
        ),
        Ratio.checked(
            "c=32 req/s: gateway-w2 / gateway-one-core",
            rps_ratio(GATEWAY_W2, GATEWAY_ONE_CORE),
            "x",
            ">=",
            1.6,
        ),
        Ratio(
            "c=32 req/s: gateway-w2 / gateway-one-core, CPU ceiling here",
            w2_ceiling(results),
            "x",
        ),
        Ratio("c=32 req/s: gateway-w2 / gateway", rps_ratio(GATEWAY_W2, GATEWAY), "x"),
        Ratio("c=32 req/s: redis-pair / gateway-redis", rps_ratio(REDIS_PAIR, GATEWAY_REDIS), "x"),
    ]
    if measured(CLUSTER_PAIR):
        out.append(
            Ratio(
                "c=32 req/s: cluster-pair / gateway-redis",
                rps_ratio(CLUSTER_PAIR, GATEWAY_REDIS),
                "x",
            )
        )
    if measured(LITELLM):
        out += [
            Ratio(f"{added}: litellm", p50_gap((lat, LITELLM), (lat, DIRECT)), "ms"),
            Ratio.checked(
                "c=32 req/s: gateway / litellm", rps_ratio(GATEWAY, LITELLM), "x", ">=", 40
            ),
        ]
    out += [
        Ratio("stream TTFB added over direct: bare", ttfb_gap(BARE), "ms"),
        Ratio.checked("stream TTFB added over direct: gateway", ttfb_gap(GATEWAY), "ms", "<=", 1),
        Ratio(f"{history}: direct", p50_gap((hist, DIRECT), (lat, DIRECT)), "ms"),
        Ratio(f"{history}: bare", p50_gap((hist, BARE), (lat, BARE)), "ms"),
        Ratio.checked(
            f"{history}: gateway", p50_gap((hist, GATEWAY), (lat, GATEWAY)), "ms", "<=", 2
        ),
    ]
    return out


def w2_ceiling(results: Results, cores: int | None = None) -> float | None:
    """The most a second worker can add on this machine to one that judges its turns
    itself (one core), from CPU per request at c=32.

    With G the gateway's CPU per request and L the load's (wrk and the mock, on the same
    cores), one worker serves at most min(1/G, cores/(G+L)) requests per second and two
    at most min(2/G, cores/(G+L)): on 2 cores the load's share caps the ratio below 2.
    """
    cores = cores or os.cpu_count() or 1
    runs = results.runs("throughput", GATEWAY_ONE_CORE) or results.runs("throughput", GATEWAY)
    g = median([r.cpu_us_per_request for r in runs if r.cpu_us_per_request is not None])
    load = [r.load_cpu_us_per_request for r in runs if r.load_cpu_us_per_request is not None]
    el = median(load)
    if not g or el is None:
        return None
    shared = cores / (g + el)
    return min(2 / g, shared) / min(1 / g, shared)


def target_row(results: Results, name: str) -> dict[str, float | int | None]:
    """The absolute numbers of one target: medians over rounds."""
    lat, thr, hist = (results.runs(s, name) for s in ("latency", "throughput", "history"))
    stream = results.streams.get(name)
    cpu = [r.cpu_us_per_request for r in thr if r.cpu_us_per_request is not None]
    return {
        "p50_ms": median([r.p50_ms for r in lat]),
        "p99_ms": median([r.p99_ms for r in lat]),
        "rps_c32": median([r.rps for r in thr]),
        "p99_c32_ms": median([r.p99_ms for r in thr]),
        "cpu_us_per_req_c32": median(cpu),
        "store_cpu_us_per_req_c32": median(
            [r.store_cpu_us_per_request for r in thr if r.store_cpu_us_per_request is not None]
        ),
        "load_cpu_us_per_req_c32": median(
            [r.load_cpu_us_per_request for r in thr if r.load_cpu_us_per_request is not None]
        ),
        "p50_200_turn_ms": median([r.p50_ms for r in hist]),
        "ttfb_ms": median(stream.first_byte_ms) if stream else None,
        "stream_total_ms": median(stream.last_byte_ms) if stream else None,
        "errors": sum(r.errors for runs in (lat, thr, hist) for r in runs),
    }


def fmt(value: float | int | None, digits: int = 3) -> str:
    """A number for the table; '-' when not measured."""
    if value is None:
        return "-"
    if isinstance(value, int):
        return str(value)
    return f"{value:.{digits}f}" if abs(value) < 100 else f"{value:,.0f}"


COLUMNS = (
    ("p50_ms", "c=1 p50 ms"),
    ("p99_ms", "c=1 p99 ms"),
    ("rps_c32", "c=32 req/s"),
    ("p99_c32_ms", "c=32 p99 ms"),
    ("cpu_us_per_req_c32", "c=32 CPU us/req"),
    ("store_cpu_us_per_req_c32", "Redis CPU us/req"),
    ("load_cpu_us_per_req_c32", "load CPU us/req"),
    ("p50_200_turn_ms", "200-turn p50 ms"),
    ("ttfb_ms", "stream TTFB ms"),
    ("errors", "errors"),
)


def print_tables(rows: dict[str, dict[str, float | int | None]], derived: list[Ratio]) -> None:
    """The absolute table, then the ratios with their targets."""
    print(f"{'target':<15}" + "".join(f"{title:>17}" for _, title in COLUMNS))
    for name, row in rows.items():
        print(f"{name:<15}" + "".join(f"{fmt(row[key]):>17}" for key, _ in COLUMNS))
    print()
    print(f"{'comparison (median of per-round pairs)':<44}{'value':>11}  {'target':<10}  meets")
    for r in derived:
        meets = "-" if r.meets is None else ("yes" if r.meets else "NO")
        value = f"{fmt(r.value)} {r.unit}" if r.value is not None else "-"
        print(f"{r.label:<44}{value:>11}  {r.target:<10}  {meets}")


def markdown_tables(
    rows: dict[str, dict[str, float | int | None]], derived: list[Ratio], heading: str
) -> str:
    """The same two tables in Markdown, for bench/README.md."""
    lines = [heading, "", "| target | " + " | ".join(t for _, t in COLUMNS) + " |"]
    lines.append("| --- |" + " ---: |" * len(COLUMNS))
    for name, row in rows.items():
        lines.append(f"| {name} | " + " | ".join(fmt(row[k]) for k, _ in COLUMNS) + " |")
    lines += ["", "| comparison | value | target | meets |", "| --- | ---: | --- | --- |"]
    for r in derived:
        meets = "-" if r.meets is None else ("yes" if r.meets else "**no**")
        value = f"{fmt(r.value)} {r.unit}" if r.value is not None else "-"
        lines.append(f"| {r.label} | {value} | {r.target} | {meets} |")
    return "\n".join(lines) + "\n"


def replace_section(path: Path, start: str, end: str, text: str) -> bool:
    """Put `text` between the `start` and `end` marker lines of `path`; False if absent."""
    if not path.exists():
        return False
    content = path.read_text()
    if start not in content or end not in content:
        return False
    before, rest = content.split(start, 1)
    _, after = rest.split(end, 1)
    path.write_text(f"{before}{start}\n{text}{end}{after}")
    return True


def machine() -> dict[str, Any]:
    """What the run ran on: CPU model, cores, Python."""
    model = platform.processor() or platform.machine()
    with suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {"cpu": model, "cpus": os.cpu_count(), "python": platform.python_version()}


def result_name(when: datetime, host: dict[str, Any]) -> str:
    """The file name of one run's results: date and time, CPU model, core count."""
    cpu = re.sub(r"[^a-z0-9]+", "-", str(host["cpu"]).lower()).strip("-") or "cpu"
    return f"{when:%Y-%m-%d-%H%M}-{cpu}-{host['cpus']}cores.json"


def write_json(
    path: Path,
    *,
    when: datetime,
    host: dict[str, Any],
    settings: dict[str, Any],
    rows: dict[str, dict[str, float | int | None]],
    derived: list[Ratio],
    results: Results,
    skipped: list[str],
) -> None:
    """Everything measured, plus the settings and machine that produced it."""
    document: dict[str, Any] = {
        "when": when.isoformat(timespec="seconds"),
        "machine": host,
        "settings": settings,
        "skipped": skipped,
        "targets": rows,
        "ratios": [asdict(r) for r in derived],
        "store_per_request": {
            name: counts.per_request(results.redis_requests.get(name, 0))
            for name, counts in results.redis.items()
        },
        "runs": {
            scenario: {
                name: [
                    {
                        **asdict(run),
                        "rps": run.rps,
                        "cpu_us_per_request": run.cpu_us_per_request,
                        "store_cpu_us_per_request": run.store_cpu_us_per_request,
                        "load_cpu_us_per_request": run.load_cpu_us_per_request,
                    }
                    for run in runs
                ]
                for name, runs in by_target.items()
            }
            for scenario, by_target in results.wrk.items()
        },
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2) + "\n")
