"""Turn the measurements into the two tables and the JSON document."""

from __future__ import annotations

import json
import os
import platform
import statistics
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import ttfb
from wrk import WrkRun

DIRECT, BARE, GATEWAY, GATEWAY_W2 = "direct", "bare", "gateway", "gateway-w2"
ALL_TARGETS = (DIRECT, BARE, GATEWAY, GATEWAY_W2)


@dataclass
class Results:
    """Every measurement of the run, by scenario and target, one entry per round."""

    wrk: dict[str, dict[str, list[WrkRun]]] = field(default_factory=dict)
    streams: dict[str, ttfb.StreamTimes] = field(default_factory=dict)

    def add(self, scenario: str, target: str, run: WrkRun) -> None:
        """Record one wrk run."""
        self.wrk.setdefault(scenario, {}).setdefault(target, []).append(run)

    def runs(self, scenario: str, target: str) -> list[WrkRun]:
        """The runs of one scenario and target, in round order."""
        return self.wrk.get(scenario, {}).get(target, [])


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

    def p50_gap(a: tuple[str, str], b: tuple[str, str]) -> float | None:
        return paired(results.runs(*a), results.runs(*b), lambda x, y: x.p50_ms - y.p50_ms)

    def rps_ratio(a: str, b: str) -> float | None:
        return paired(
            results.runs(thr, a), results.runs(thr, b), lambda x, y: x.rps / y.rps if y.rps else 0
        )

    def ttfb_gap(name: str) -> float | None:
        a = median(results.streams[name].first_byte_ms)
        b = median(results.streams[DIRECT].first_byte_ms)
        return None if a is None or b is None else a - b

    added = "added p50 over direct, c=1"
    history = "200-turn minus 2-turn p50"
    return [
        Ratio(f"{added}: bare", p50_gap((lat, BARE), (lat, DIRECT)), "ms"),
        Ratio.checked(f"{added}: gateway", p50_gap((lat, GATEWAY), (lat, DIRECT)), "ms", "<=", 0.5),
        Ratio(f"{added}: gateway-w2", p50_gap((lat, GATEWAY_W2), (lat, DIRECT)), "ms"),
        Ratio.checked("c=32 req/s: gateway / bare", rps_ratio(GATEWAY, BARE), "x", ">=", 0.7),
        Ratio.checked(
            "c=32 req/s: gateway-w2 / gateway", rps_ratio(GATEWAY_W2, GATEWAY), "x", ">=", 1.6
        ),
        Ratio("stream TTFB added over direct: bare", ttfb_gap(BARE), "ms"),
        Ratio.checked("stream TTFB added over direct: gateway", ttfb_gap(GATEWAY), "ms", "<=", 1),
        Ratio(f"{history}: direct", p50_gap((hist, DIRECT), (lat, DIRECT)), "ms"),
        Ratio(f"{history}: bare", p50_gap((hist, BARE), (lat, BARE)), "ms"),
        Ratio.checked(
            f"{history}: gateway", p50_gap((hist, GATEWAY), (lat, GATEWAY)), "ms", "<=", 2
        ),
    ]


def target_row(results: Results, name: str) -> dict[str, float | int | None]:
    """The absolute numbers of one target: medians over rounds."""
    lat, thr, hist = (results.runs(s, name) for s in ("latency", "throughput", "history"))
    stream = results.streams.get(name)
    return {
        "p50_ms": median([r.p50_ms for r in lat]),
        "p99_ms": median([r.p99_ms for r in lat]),
        "rps_c32": median([r.rps for r in thr]),
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


def print_tables(rows: dict[str, dict[str, float | int | None]], derived: list[Ratio]) -> None:
    """The absolute table, then the ratios with their targets."""
    columns = (
        ("p50_ms", "c=1 p50 ms"),
        ("p99_ms", "c=1 p99 ms"),
        ("rps_c32", "c=32 req/s"),
        ("p50_200_turn_ms", "200-turn p50 ms"),
        ("ttfb_ms", "stream TTFB ms"),
        ("stream_total_ms", "stream total ms"),
        ("errors", "errors"),
    )
    print(f"{'target':<12}" + "".join(f"{title:>17}" for _, title in columns))
    for name, row in rows.items():
        print(f"{name:<12}" + "".join(f"{fmt(row[key]):>17}" for key, _ in columns))
    print()
    print(f"{'comparison (median of per-round pairs)':<42}{'value':>10}  {'target':<10}  meets")
    for r in derived:
        meets = "-" if r.meets is None else ("yes" if r.meets else "NO")
        value = f"{fmt(r.value)} {r.unit}" if r.value is not None else "-"
        print(f"{r.label:<42}{value:>10}  {r.target:<10}  {meets}")


def write_json(
    path: Path,
    settings: dict[str, Any],
    rows: dict[str, dict[str, float | int | None]],
    derived: list[Ratio],
    results: Results,
) -> None:
    """Everything measured, plus the settings that produced it."""
    document: dict[str, Any] = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "settings": settings,
        "targets": rows,
        "ratios": [asdict(r) for r in derived],
        "runs": {
            scenario: {
                name: [{**asdict(run), "rps": run.rps} for run in runs]
                for name, runs in by_target.items()
            }
            for scenario, by_target in results.wrk.items()
        },
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2) + "\n")
