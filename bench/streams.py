"""Memory of the gateway holding many concurrent streams: its RSS idle, then at the peak.

`python bench/streams.py [--streams 1000]` starts `lastword simulate` (slow streams) and
`lastword serve`, opens N streams at once through the gateway, samples the gateway's RSS
from /proc while they run, and prints idle RSS, peak RSS and the difference per stream.
Loopback only; everything it starts is stopped on exit.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import sys
import time
from pathlib import Path

import aiohttp
from servers import Servers, free_port, wait_ready


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def _stream(session: aiohttp.ClientSession, url: str, events: int, delay_ms: int) -> int:
    headers = {
        "x-api-key": "sk-bench-streams",
        "anthropic-version": "2023-06-01",
        "x-sim-events": str(events),
        "x-sim-token-delay-ms": str(delay_ms),
    }
    body = {
        "model": "m",
        "max_tokens": 100,
        "stream": True,
        "messages": [{"role": "user", "content": "Tell me about rivers."}],
    }
    seen = 0
    async with session.post(url + "/v1/messages", json=body, headers=headers) as resp:
        async for line in resp.content:
            seen += line.startswith(b"data:")
    return seen


async def run(streams: int, events: int, delay_ms: int) -> None:
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 65536), hard))
    servers = Servers(Path(__file__).parent / "results" / "logs")
    try:
        sim_port, gw_port = free_port(), free_port()
        sim = servers.start(
            "streams-simulator",
            sim_port,
            [sys.executable, "-m", "gateway", "simulate", "--port", str(sim_port)],
        )
        upstream = f"http://127.0.0.1:{sim_port}"
        gateway = servers.start(
            "streams-gateway",
            gw_port,
            [
                sys.executable,
                "-m",
                "gateway",
                "serve",
                "--port",
                str(gw_port),
                "--store",
                "memory://",
                "--log-level",
                "warning",
                "--anthropic-upstream",
                upstream,
                "--openai-upstream",
                upstream,
            ],
        )
        wait_ready(sim, "/v1/models", need_200=False)
        wait_ready(gateway, "/healthz", need_200=True)
        url = gateway.base
        connector = aiohttp.TCPConnector(limit=0)
        async with aiohttp.ClientSession(connector=connector) as session:
            await _stream(session, url, 2, 0)  # warm up
            idle = _rss_mb(gateway.process.pid)
            peak = idle
            started = time.monotonic()
            tasks = [
                asyncio.create_task(_stream(session, url, events, delay_ms)) for _ in range(streams)
            ]
            while not all(t.done() for t in tasks):
                peak = max(peak, _rss_mb(gateway.process.pid))
                await asyncio.sleep(0.05)
            counts = [t.result() for t in tasks]
        took = time.monotonic() - started
        complete = sum(1 for c in counts if c >= events)
        print(f"streams {streams}, complete {complete}, {took:.1f} s")
        print(
            f"gateway RSS idle {idle:.1f} MB, peak {peak:.1f} MB, added {peak - idle:.1f} MB"
            f" ({(peak - idle) * 1024 / streams:.1f} KB a stream)"
        )
    finally:
        servers.stop_all()


def main() -> None:
    """Parse arguments and run."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--streams", type=int, default=1000)
    parser.add_argument("--events", type=int, default=10)
    parser.add_argument("--delay-ms", type=int, default=300)
    args = parser.parse_args()
    asyncio.run(run(args.streams, args.events, args.delay_ms))


if __name__ == "__main__":
    main()
