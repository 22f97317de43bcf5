"""Run wrk with post.lua and read back the one-line summary the script prints."""

from __future__ import annotations

import json
import os
import resource
import subprocess
from dataclasses import dataclass
from pathlib import Path

from servers import BenchError

POST_LUA = Path(__file__).with_name("post.lua")


@dataclass(frozen=True)
class WrkRun:
    """One wrk run's summary."""

    requests: int
    seconds: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    errors: int
    # CPU seconds the target's processes spent during the run (None: not measured).
    cpu_s: float | None = None
    # CPU seconds of everything else the load needed: wrk itself and the mock upstream.
    load_cpu_s: float | None = None
    # CPU seconds of the target's store server (Redis), when it has one.
    store_cpu_s: float | None = None

    @property
    def rps(self) -> float:
        """Requests per second."""
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def cpu_us_per_request(self) -> float | None:
        """The target's CPU time per request, in microseconds."""
        if self.cpu_s is None or not self.requests:
            return None
        return self.cpu_s * 1e6 / self.requests

    @property
    def store_cpu_us_per_request(self) -> float | None:
        """The store server's CPU time per request, in microseconds."""
        if self.store_cpu_s is None or not self.requests:
            return None
        return self.store_cpu_s * 1e6 / self.requests

    @property
    def load_cpu_us_per_request(self) -> float | None:
        """wrk's and the mock's CPU time per request, in microseconds."""
        if self.load_cpu_s is None or not self.requests:
            return None
        return self.load_cpu_s * 1e6 / self.requests


def _argv(url: str, connections: int, seconds: int) -> list[str]:
    return [
        "wrk",
        *("-t1", f"-c{connections}", f"-d{seconds}s", "--timeout", "5s", "--latency"),
        *("-s", str(POST_LUA), url),
    ]


def _summary(done: subprocess.CompletedProcess[str]) -> WrkRun:
    for line in done.stdout.splitlines():
        if line.startswith("BENCH_RESULT "):
            raw = json.loads(line.removeprefix("BENCH_RESULT "))
            errors = sum(
                raw[k]
                for k in ("non_2xx", "connect_errors", "read_errors", "write_errors", "timeouts")
            )
            return WrkRun(
                requests=raw["requests"],
                seconds=raw["duration_us"] / 1e6,
                p50_ms=raw["p50_us"] / 1000,
                p90_ms=raw["p90_us"] / 1000,
                p99_ms=raw["p99_us"] / 1000,
                errors=errors,
            )
    raise BenchError(
        f"wrk printed no summary (exit {done.returncode}):\n{done.stdout}\n{done.stderr}"
    )


def children_cpu_seconds() -> float:
    """User plus system CPU seconds of this process's finished children (wrk's runs)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_wrk(url: str, body_file: Path, connections: int, seconds: int) -> WrkRun:
    """Run wrk with post.lua and read the summary line it prints."""
    env = {**os.environ, "BENCH_BODY_FILE": str(body_file)}
    done = subprocess.run(
        _argv(url, connections, seconds),
        capture_output=True,
        text=True,
        env=env,
        timeout=seconds + 30,
        check=False,
    )
    return _summary(done)


def run_wrk_split(urls: list[str], body_file: Path, connections: int, seconds: int) -> WrkRun:
    """`connections` shared among `urls`, one wrk each, all at once; the runs combined.

    Requests and errors add up; p50 and p90 are the request-weighted mean of the runs'
    (an approximation: wrk gives percentiles, not histograms), p99 the worst of them.
    """
    if len(urls) == 1:
        return run_wrk(urls[0], body_file, connections, seconds)
    env = {**os.environ, "BENCH_BODY_FILE": str(body_file)}
    share = [connections // len(urls) + (i < connections % len(urls)) for i in range(len(urls))]
    processes = [
        subprocess.Popen(
            _argv(url, n, seconds),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for url, n in zip(urls, share, strict=True)
    ]
    runs = []
    for process in processes:
        out, err = process.communicate(timeout=seconds + 30)
        runs.append(
            _summary(subprocess.CompletedProcess(process.args, process.returncode, out, err))
        )
    total = sum(r.requests for r in runs) or 1
    return WrkRun(
        requests=sum(r.requests for r in runs),
        seconds=max(r.seconds for r in runs),
        p50_ms=sum(r.p50_ms * r.requests for r in runs) / total,
        p90_ms=sum(r.p90_ms * r.requests for r in runs) / total,
        p99_ms=max(r.p99_ms for r in runs),
        errors=sum(r.errors for r in runs),
    )
