"""Two or more versions of the gateway side by side, in one run: CPU per request at c=32.

Each git revision is exported to a temporary folder and served from there (one worker,
`memory://`, the same mock upstream); wrk then loads each gateway in turn, in an order
rotated from round to round, and the CPU its process spent is read from /proc around each
run. That is how a change's effect is measured on a noisy machine: against the code before
it, in the same minutes (see "Profile" in README.md).

    .venv/bin/python bench/compare.py main HEAD [--log-level info] [--bare]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import bodies
from cpu import group_cpu_seconds
from servers import HOST, Server, Servers, free_port, wait_ready
from wrk import WrkRun, run_wrk

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent


def export(revision: str, into: Path) -> Path:
    """The tree of `revision` (anything `git archive` takes), written under `into`."""
    folder = into / revision.replace("/", "_")
    folder.mkdir()
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", revision], capture_output=True, check=True
    )
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive.stdout, check=True)
    return folder


def start_gateway(servers: Servers, name: str, tree: Path, upstream: str, level: str) -> Server:
    """`lastword serve` from the source in `tree` (found first on the path, `-P`: never the
    working directory's)."""
    port = free_port()
    argv = [
        *(sys.executable, "-P", "-m", "gateway", "serve"),
        *("--host", HOST, "--port", str(port), "--workers", "1", "--store", "memory://"),
        *("--anthropic-upstream", upstream, "--openai-upstream", upstream),
        *("--log-level", level),
    ]
    server = servers.start(name, port, argv, env={"PYTHONPATH": str(tree)})
    wait_ready(server, "/readyz", need_200=True)
    return server


def measure(server: Server, body: Path, seconds: int) -> tuple[WrkRun, float]:
    """One c=32 run (after a second of warm-up) and the server's CPU µs per request."""
    url = server.base + "/v1/messages"
    run_wrk(url, body, 32, 1)
    before = group_cpu_seconds(server.process.pid)
    run = run_wrk(url, body, 32, seconds)
    spent = group_cpu_seconds(server.process.pid) - before
    return run, spent * 1e6 / max(run.requests, 1)


def main() -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("revisions", nargs="+", help="git revisions, e.g. main HEAD")
    parser.add_argument("--duration", type=int, default=4, help="seconds per wrk run")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--log-level", default="warning")
    parser.add_argument("--bare", action="store_true", help="the bare passthrough too")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="lastword-compare-") as scratch:
        work = Path(scratch)
        servers = Servers(work / "logs")
        body = work / "body.json"
        body.write_bytes(bodies.body_lines(2))
        try:
            port = free_port()
            mock = [sys.executable, str(BENCH / "mock_upstream.py"), "--port", str(port)]
            wait_ready(servers.start("mock", port, mock), "/", need_200=False)
            upstream = f"http://{HOST}:{port}"
            targets: dict[str, Server] = {}
            if args.bare:
                port = free_port()
                bare = [sys.executable, str(BENCH / "bare_proxy.py"), "--port", str(port)]
                targets["bare"] = servers.start("bare", port, [*bare, "--upstream", upstream])
                wait_ready(targets["bare"], "/", need_200=False)
            for revision in args.revisions:
                tree = export(revision, work)
                targets[revision] = start_gateway(
                    servers, revision.replace("/", "_"), tree, upstream, args.log_level
                )
            report(targets, body, args.rounds, args.duration)
        finally:
            servers.stop_all()


def report(targets: dict[str, Server], body: Path, rounds: int, seconds: int) -> None:
    """Measure every target each round, in rotated order; print the medians."""
    names = list(targets)
    seen: dict[str, list[tuple[WrkRun, float]]] = {name: [] for name in names}
    for i in range(rounds):
        for name in names[i % len(names) :] + names[: i % len(names)]:
            seen[name].append(measure(targets[name], body, seconds))
    print(f"c=32, {rounds} rounds of {seconds} s; CPU µs per request, each round in brackets")
    for name in names:
        runs = seen[name]
        rps = statistics.median(run.rps for run, _ in runs)
        cpu = statistics.median(us for _, us in runs)
        each = " ".join(f"{us:.0f}" for _, us in runs)
        print(f"{name:>14}  {rps:8,.0f} req/s  {cpu:6.1f} µs/req  [{each}]")


if __name__ == "__main__":
    main()
