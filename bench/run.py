"""Benchmark the gateway against a direct call and a bare aiohttp passthrough.

    python bench/run.py [--duration 10] [--rounds 3] [--quick]

Starts the mock upstream, the bare proxy and two gateways (1 and 2 workers) on free
loopback ports, measures them in alternating rounds with `wrk` and a small streaming
client, prints absolute numbers and the ratios DESIGN.md sets targets for, and writes
everything to bench/results/latest.json. See bench/README.md for how to read it.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from pathlib import Path

import bodies
import ttfb
import uvloop
from report import (
    ALL_TARGETS,
    BARE,
    DIRECT,
    GATEWAY,
    GATEWAY_W2,
    Results,
    print_tables,
    ratios,
    target_row,
    write_json,
)
from servers import (
    HOST,
    BenchError,
    Server,
    Servers,
    free_port,
    log_tail,
    report_casualties,
    stop_on_sigterm,
    wait_ready,
)
from wrk import run_wrk

BENCH = Path(__file__).resolve().parent
RESULTS = BENCH / "results"
HEADERS = {
    "Content-Type": "application/json",
    "x-api-key": "sk-ant-bench-0000",
    "anthropic-version": "2023-06-01",
}
STREAM_TARGETS = (DIRECT, BARE, GATEWAY)
HISTORY_TARGETS = (DIRECT, BARE, GATEWAY)
SHORT_HISTORY, LONG_HISTORY = 2, 200


def post(url: str, body: bytes) -> tuple[int, bytes]:
    """One POST with the benchmark's headers; the status and body, whatever the status."""
    request = urllib.request.Request(url, data=body, headers=HEADERS, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def smoke_test(server: Server) -> None:
    """One plain and one stream request must come back whole, or the numbers mean nothing."""
    url = server.base + "/v1/messages"
    for stream, expect in ((False, b'"type":"message"'), (True, b"event: message_stop")):
        status, body = post(url, bodies.messages_body(SHORT_HISTORY, stream=stream))
        if status != 200 or expect not in body:
            raise BenchError(
                f"{server.name} answered a {'stream' if stream else 'plain'} request with "
                f"status {status}: {body[:400]!r}\n{log_tail(server.log)}"
            )


def start_all(servers: Servers, deltas: int) -> dict[str, Server]:
    """Start the mock, the bare proxy and both gateways, and check each of them works."""
    python = sys.executable
    mock_port = free_port()
    mock = servers.start(
        "mock",
        mock_port,
        [
            python,
            str(BENCH / "mock_upstream.py"),
            "--port",
            str(mock_port),
            "--deltas",
            str(deltas),
        ],
    )
    wait_ready(mock, "/", need_200=False)
    bare_port = free_port()
    bare = servers.start(
        "bare",
        bare_port,
        [python, str(BENCH / "bare_proxy.py"), "--port", str(bare_port), "--upstream", mock.base],
    )
    wait_ready(bare, "/", need_200=False)
    targets = {DIRECT: mock, BARE: bare}
    for name, workers in ((GATEWAY, 1), (GATEWAY_W2, 2)):
        port = free_port()
        gateway = servers.start(name, port, _gateway_argv(port, mock.base, workers))
        wait_ready(gateway, "/readyz", need_200=True)
        targets[name] = gateway
    for server in targets.values():
        smoke_test(server)
    return targets


def _gateway_argv(port: int, upstream: str, workers: int) -> list[str]:
    lastword = Path(sys.executable).with_name("lastword")
    command = [str(lastword)] if lastword.exists() else [sys.executable, "-m", "gateway"]
    return [
        *command,
        "serve",
        *("--host", HOST, "--port", str(port), "--workers", str(workers)),
        *("--anthropic-upstream", upstream, "--openai-upstream", upstream),
        *("--store", "memory://", "--log-level", "warning"),
    ]


# (scenario, connections, body name, targets); the 2-turn body is also the standard one.
SCENARIOS = (
    ("latency", 1, "short", ALL_TARGETS),
    ("throughput", 32, "short", ALL_TARGETS),
    ("history", 1, "long", HISTORY_TARGETS),
)


def rotated(items: Sequence[str], by: int) -> list[str]:
    """`items` starting at position `by`, so no target always runs first."""
    by %= len(items)
    return [*items[by:], *items[:by]]


def measure(
    targets: dict[str, Server],
    body_files: dict[str, Path],
    args: argparse.Namespace,
    progress: Callable[[str], None],
) -> Results:
    """Warm up, then run every scenario on every target, round after round."""
    results = Results()
    for name, server in targets.items():
        progress(f"warm-up {name}")
        run_wrk(server.base + "/v1/messages", body_files["short"], 8, args.warmup)
    stream_body = bodies.messages_body(SHORT_HISTORY, stream=True)
    stream_urls = {name: targets[name].base + "/v1/messages" for name in STREAM_TARGETS}
    per_round = max(1, args.stream_requests // args.rounds)
    for round_no in range(args.rounds):
        for scenario, connections, body, names in SCENARIOS:
            for name in rotated(names, round_no):
                progress(f"round {round_no + 1}/{args.rounds} {scenario} c={connections} {name}")
                url = targets[name].base + "/v1/messages"
                results.add(
                    scenario, name, run_wrk(url, body_files[body], connections, args.duration)
                )
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
    args = parser.parse_args(argv)
    if args.quick:
        args.duration, args.rounds, args.warmup, args.stream_requests = 2, 1, 1, 100
    if min(args.duration, args.rounds, args.warmup, args.stream_requests) < 1:
        parser.error("--duration, --rounds, --warmup and --stream-requests must be at least 1")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Run the whole benchmark; 1 if something failed, with what was seen on stderr."""
    args = parse_args(argv)
    runs_per_round = sum(len(names) for *_, names in SCENARIOS)
    estimate = args.rounds * runs_per_round * args.duration + len(ALL_TARGETS) * args.warmup
    print(f"about {estimate // 60} min {estimate % 60} s of wrk, plus streams", flush=True)
    RESULTS.mkdir(parents=True, exist_ok=True)
    body_files = {"short": RESULTS / "body-2-turn.json", "long": RESULTS / "body-200-turn.json"}
    body_files["short"].write_bytes(bodies.messages_body(SHORT_HISTORY))
    body_files["long"].write_bytes(bodies.messages_body(LONG_HISTORY))
    servers = Servers(RESULTS / "logs")
    started = time.monotonic()

    def progress(message: str) -> None:
        print(f"[{time.monotonic() - started:6.1f}s] {message}", file=sys.stderr, flush=True)

    try:
        with stop_on_sigterm():
            targets = start_all(servers, args.deltas)
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
    rows = {name: target_row(results, name) for name in ALL_TARGETS}
    derived = ratios(results)
    print_tables(rows, derived)
    settings = {k: v for k, v in vars(args).items() if k != "quick"}
    write_json(RESULTS / "latest.json", settings, rows, derived, results)
    if any(row["errors"] for row in rows.values()):
        print("\nsome requests failed under load: see 'errors' and bench/results/logs/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
