"""Run wrk with post.lua and read back the one-line summary the script prints."""

from __future__ import annotations

import json
import os
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

    @property
    def rps(self) -> float:
        """Requests per second."""
        return self.requests / self.seconds if self.seconds else 0.0


def run_wrk(url: str, body_file: Path, connections: int, seconds: int) -> WrkRun:
    """Run wrk with post.lua and read the summary line it prints."""
    argv = [
        "wrk",
        *("-t1", f"-c{connections}", f"-d{seconds}s", "--timeout", "5s", "--latency"),
        *("-s", str(POST_LUA), url),
    ]
    env = {**os.environ, "BENCH_BODY_FILE": str(body_file)}
    done = subprocess.run(
        argv, capture_output=True, text=True, env=env, timeout=seconds + 30, check=False
    )
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
