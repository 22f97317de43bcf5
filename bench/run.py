"""Benchmark the gateway against a direct call, a bare aiohttp passthrough and LiteLLM.

    python bench/run.py [--duration 10] [--rounds 3] [--quick] [--litellm] [--cluster]

Starts the mock upstream, the bare proxy, the gateway on each store (memory, SQLite,
Redis; one worker, and two workers), two gateways sharing one Redis, and optionally
LiteLLM's proxy, on free loopback ports; measures them in alternating rounds with `wrk`
and a small streaming client; prints absolute numbers and the ratios DESIGN.md sets
targets for; writes everything to bench/results/<date>-<cpu>-<cores>cores.json and the
tables into bench/README.md. See bench/README.md for how to read it.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import bodies
import cpu
import redis_stats
import ttfb
import uvloop
from report import (
    Results,
    machine,
    markdown_tables,
    print_tables,
    ratios,
    replace_section,
    result_name,
    target_row,
    write_json,
)
from servers import BenchError, Servers, report_casualties, stop_on_sigterm
from targets import (
    BARE,
    CLUSTER_PAIR,
    DIRECT,
    GATEWAY,
    GATEWAY_ONE_CORE,
    GATEWAY_REDIS,
    GATEWAY_SQLITE,
    GATEWAY_W2,
    HEADERS,
    LITELLM,
    REDIS_PAIR,
    SHORT_HISTORY,
    Launcher,
    Target,
    start_targets,
)
from wrk import WrkRun, children_cpu_seconds, run_wrk_split

BENCH = Path(__file__).resolve().parent
RESULTS = BENCH / "results"
README = BENCH / "README.md"
TABLE_START, TABLE_END = "<!-- bench-table:start -->", "<!-- bench-table:end -->"
LONG_HISTORY = 200
STREAM_TARGETS = (DIRECT, BARE, GATEWAY)
# (scenario, connections, body name, targets); the 2-turn body is also the standard one.
SINGLE = (DIRECT, BARE, GATEWAY, GATEWAY_SQLITE, GATEWAY_REDIS, GATEWAY_W2, LITELLM)
SCENARIOS = (
    ("latency", 1, "short", SINGLE),
    ("throughput", 32, "short", (*SINGLE, GATEWAY_ONE_CORE, REDIS_PAIR, CLUSTER_PAIR)),
    ("history", 1, "long", (DIRECT, BARE, GATEWAY)),
)


def rotated(items: Sequence[str], by: int) -> list[str]:
    """`items` starting at position `by`, so no target always runs first."""
    if not items:
        return []
    by %= len(items)
    return [*items[by:], *items[:by]]


def measured_run(
    target: Target, body_file: Path, connections: int, seconds: int, results: Results
) -> WrkRun:
    """One wrk run against `target`, with the CPU its processes spent, the CPU of the load
    (wrk and the mock) and, on Redis, what it asked of Redis (recorded in `results` for the
    c=32 runs)."""
    groups = [server.process.pid for server in target.servers]
    counting = target.redis_url is not None and connections > 1
    before = redis_stats.snapshot(target.redis_url) if counting and target.redis_url else None
    measuring = cpu.available()
    if measuring:
        mock = results.mock_group
        cpu_before = sum(cpu.group_cpu_seconds(g) for g in groups)
        store = target.store_group
        store_before = cpu.group_cpu_seconds(store) if store else 0.0
        load_before = children_cpu_seconds() + (cpu.group_cpu_seconds(mock) if mock else 0)
    run = run_wrk_split(target.urls, body_file, connections, seconds)
    if measuring:
        spent = sum(cpu.group_cpu_seconds(g) for g in groups) - cpu_before
        load = children_cpu_seconds() + (cpu.group_cpu_seconds(mock) if mock else 0)
        # The mock's own runs (direct) count once, as the target's.
        load_spent = load - load_before - (spent if target.name == DIRECT else 0)
        store_spent = cpu.group_cpu_seconds(store) - store_before if store else None
        run = replace(run, cpu_s=spent, load_cpu_s=load_spent, store_cpu_s=store_spent)
    if before is not None and target.redis_url:
        counts = redis_stats.snapshot(target.redis_url).minus(before)
        results.add_redis(target.name, counts, run.requests)
    return run


def measure(
    targets: dict[str, Target],
    body_files: dict[str, Path],
    args: argparse.Namespace,
    progress: Callable[[str], None],
) -> Results:
    """Warm up, then run every scenario on every target, round after round."""
    results = Results(mock_group=targets[DIRECT].servers[0].process.pid)
    for name, target in targets.items():
        progress(f"warm-up {name}")
        run_wrk_split(target.urls, body_files["short"], 8, args.warmup)
    stream_body = bodies.messages_body(SHORT_HISTORY, stream=True)
    stream_urls = {name: targets[name].urls[0] for name in STREAM_TARGETS}
    per_round = max(1, args.stream_requests // args.rounds)
    for round_no in range(args.rounds):
        for scenario, connections, body, names in SCENARIOS:
            for name in rotated([n for n in names if n in targets], round_no):
                progress(f"round {round_no + 1}/{args.rounds} {scenario} c={connections} {name}")
                run = measured_run(
                    targets[name], body_files[body], connections, args.duration, results
                )
                results.add(scenario, name, run)
        progress(f"round {round_no + 1}/{args.rounds} stream TTFB x{per_round}")
        times = uvloop.run(ttfb.measure(stream_urls, stream_body, HEADERS, per_round))
        for name, sample in times.items():
            total = results.streams.setdefault(name, ttfb.StreamTimes())
            total.first_byte_ms += sample.first_byte_ms
            total.last_byte_ms += sample.last_byte_ms
    return results


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """Command-line settings; --quick shortens everything for a smoke run."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds of each wrk run")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds")
    parser.add_argument("--warmup", type=int, default=2, help="seconds of warm-up per target")
    parser.add_argument("--stream-requests", type=int, default=300, help="per target, all rounds")
    parser.add_argument("--deltas", type=int, default=20, help="text deltas per mock stream")
    parser.add_argument("--quick", action="store_true", help="1 round of 2 s runs, 100 streams")
    parser.add_argument(
        "--litellm", action="store_true", help="also measure LiteLLM's proxy, if installed"
    )
    parser.add_argument(
        "--cluster", action="store_true", help="also two gateways on a Redis Cluster"
    )
    parser.add_argument(
        "--no-readme", action="store_true", help="leave the tables in bench/README.md alone"
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.duration, args.rounds, args.warmup, args.stream_requests = 2, 1, 1, 100
    if min(args.duration, args.rounds, args.warmup, args.stream_requests) < 1:
        parser.error("--duration, --rounds, --warmup and --stream-requests must be at least 1")
    return args


def record(
    args: argparse.Namespace, targets: dict[str, Target], results: Results, skipped: list[str]
) -> None:
    """Print the tables, and write them to the results file and bench/README.md."""
    rows = {name: target_row(results, name) for name in targets}
    derived = ratios(results)
    print_tables(rows, derived)
    for name, counts in results.redis.items():
        per = counts.per_request(results.redis_requests.get(name, 0))
        if per:
            print(
                f"\n{name}: {per['commands']:.2f} Redis commands, "
                f"{per['bytes_in']:.0f} bytes in and {per['bytes_out']:.0f} out per request"
            )
    for line in skipped:
        print(line)
    when = datetime.now(UTC)
    host = machine()
    settings = {k: v for k, v in vars(args).items() if k not in ("quick", "no_readme")}
    path = RESULTS / result_name(when, host)
    for out in (path, RESULTS / "latest.json"):
        write_json(
            out,
            when=when,
            host=host,
            settings=settings,
            rows=rows,
            derived=derived,
            results=results,
            skipped=skipped,
        )
    print(f"\nwritten: {path.relative_to(BENCH.parent)}")
    if not args.no_readme:
        heading = (
            f"Last run: {when:%Y-%m-%d %H:%M} UTC, {host['cpu']}, {host['cpus']} cores, "
            f"{args.rounds} rounds of {args.duration} s (`{path.name}`)."
            + "".join(f" {line}." for line in skipped)
        )
        if replace_section(README, TABLE_START, TABLE_END, markdown_tables(rows, derived, heading)):
            print("tables written to bench/README.md")
    if any(row["errors"] for row in rows.values()):
        print("\nsome requests failed under load: see 'errors' and bench/results/logs/")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the whole benchmark; 1 if something failed, with what was seen on stderr."""
    args = parse_args(argv)
    runs_per_round = sum(len(names) for *_, names in SCENARIOS)
    estimate = args.rounds * runs_per_round * args.duration + len(SINGLE) * args.warmup
    print(f"about {estimate // 60} min {estimate % 60} s of wrk, plus streams", flush=True)
    RESULTS.mkdir(parents=True, exist_ok=True)
    body_files = {"short": RESULTS / "body-2-turn.json", "long": RESULTS / "body-200-turn.json"}
    body_files["short"].write_bytes(bodies.body_lines(SHORT_HISTORY))
    # A 200-turn body is 70 KB: fewer of them (its newest turn may be remembered; what this
    # one measures is the cost of the history, the same in every one).
    body_files["long"].write_bytes(bodies.body_lines(LONG_HISTORY, variants=64))
    servers = Servers(RESULTS / "logs")
    started = time.monotonic()

    def progress(message: str) -> None:
        print(f"[{time.monotonic() - started:6.1f}s] {message}", file=sys.stderr, flush=True)

    try:
        with stop_on_sigterm():
            workdir = RESULTS / "work"
            workdir.mkdir(parents=True, exist_ok=True)
            progress("starting servers")
            targets, skipped = start_targets(
                Launcher(servers, workdir), args.deltas, litellm=args.litellm, cluster=args.cluster
            )
            for line in skipped:
                progress(line)
            results = measure(targets, body_files, args, progress)
            report_casualties(servers.started)
    except (BenchError, ttfb.StreamFailed, subprocess.TimeoutExpired) as exc:
        print(f"benchmark failed: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted; servers stopped", file=sys.stderr)
        return 130
    finally:
        servers.stop_all()
    record(args, targets, results, skipped)
    return 0


if __name__ == "__main__":
    sys.exit(main())
