"""Where a request's CPU goes at c=32, and what the goal of 0.7 times bare's rate leaves.

Three targets in front of one mock upstream, loaded in turn (order rotated by round) with
wrk at c=32: the bare aiohttp passthrough, the gateway (one worker, `memory://`), and the
same gateway with every turn left unjudged (`unjudged.py`). Around each run it reads the
CPU of the target's processes (its judging process included) and of the whole machine
(`/proc/stat`), and prints per request: the rate, its ratio to bare's, the target's CPU,
the machine's CPU (wrk, the mock and the kernel included), and what a rate of 0.7 times bare's
would allow the machine per request on these cores.

    .venv/bin/python bench/budget.py [--rounds 3] [--duration 6]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path

import bodies
from cpu import group_cpu_seconds
from servers import HOST, Servers, free_port, stop_on_sigterm, wait_ready
from targets import Launcher, smoke_test
from wrk import run_wrk

BENCH = Path(__file__).resolve().parent
GOAL = 0.7  # DESIGN.md: c=32 requests a second at least 0.7 times the bare passthrough's
_TICK = os.sysconf("SC_CLK_TCK")


def machine_busy_seconds() -> float:
    """CPU seconds all cores spent busy since boot (user, nice, system, irq, softirq)."""
    with open("/proc/stat") as stat:
        fields = stat.readline().split()
    user, nice, system, _idle, _iowait, irq, softirq = map(int, fields[1:8])
    return (user + nice + system + irq + softirq) / _TICK


def main() -> None:
    """Measure and print the table (see the module's doc)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=int, default=6, help="seconds of each wrk run")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work, stop_on_sigterm():
        workdir = Path(work)
        servers = Servers(workdir / "logs")
        try:
            launcher = Launcher(servers, workdir)
            upstream = launcher.mock(deltas=20).base
            bare = launcher.bare(upstream).servers[0]
            gateway = launcher.gateway("gateway", upstream, "memory://")
            port = free_port()
            unjudged = servers.start(
                "unjudged",
                port,
                [
                    sys.executable,
                    str(BENCH / "unjudged.py"),
                    "serve",
                    *("--host", HOST, "--port", str(port), "--workers", "1"),
                    *("--anthropic-upstream", upstream, "--openai-upstream", upstream),
                    *("--store", "memory://", "--log-level", "warning"),
                ],
            )
            wait_ready(unjudged, "/readyz", need_200=True)
            smoke_test(unjudged)
            targets = {"bare": bare, "gateway": gateway, "unjudged": unjudged}
            body = workdir / "body.json"
            body.write_bytes(bodies.body_lines(2))
            for server in targets.values():
                run_wrk(f"{server.base}/v1/messages", body, 32, 2)
            seen: dict[str, list[tuple[float, float, float]]] = {name: [] for name in targets}
            names = list(targets)
            for round_ in range(args.rounds):
                for name in names[round_ % len(names) :] + names[: round_ % len(names)]:
                    server = targets[name]
                    cpu, busy = group_cpu_seconds(server.process.pid), machine_busy_seconds()
                    run = run_wrk(f"{server.base}/v1/messages", body, 32, args.duration)
                    cpu = group_cpu_seconds(server.process.pid) - cpu
                    busy = machine_busy_seconds() - busy
                    per = 1e6 / run.requests
                    seen[name].append((run.rps, cpu * per, busy * per))
                    print(f"round {round_ + 1}: {name} {run.rps:,.0f} req/s", flush=True)
        finally:
            servers.stop_all()
    cores = os.cpu_count() or 1
    bare_rps = statistics.median(rps for rps, _, _ in seen["bare"])
    allowed = cores * 1e6 / (GOAL * bare_rps)
    print(
        "\n| target | req/s | / bare | target CPU µs/req | machine CPU µs/req |\n"
        "| --- | ---: | ---: | ---: | ---: |"
    )
    for name, runs in seen.items():
        rps, cpu, busy = (statistics.median(values) for values in zip(*runs, strict=True))
        print(f"| {name} | {rps:,.0f} | {rps / bare_rps:.2f} | {cpu:.0f} | {busy:.0f} |")
    print(
        f"\nAt {GOAL} times bare's rate ({GOAL * bare_rps:,.0f} req/s) the {cores} cores allow "
        f"{allowed:.0f} µs of machine CPU per request, everything included."
    )


if __name__ == "__main__":
    main()
