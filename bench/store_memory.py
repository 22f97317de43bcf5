"""What one conversation costs the store: Redis memory and the memory store's RSS.

    python bench/store_memory.py [--conversations 2000]

Starts the mock, a redis-server, one gateway on it and one on the memory store, then sends
the same set of distinct conversations to both: benign ones (nothing is written: a benign
turn is only read), then ones with a crisis turn (a crisis mark is written). A strike needs
a refusal, which the mock never sends; its record is of the same size as a crisis mark.
Prints, per conversation, the growth of Redis's `used_memory` and of the memory-store
gateway's RSS (read from /proc; RSS moves in pages, so many conversations are
sent to average it out).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import orjson
import redis
from servers import BenchError, Server, Servers, stop_on_sigterm
from targets import Launcher, post

RESULTS = Path(__file__).resolve().parent / "results"
KINDS: dict[str, Callable[[int], str]] = {
    "benign": lambda i: f"Conversation {i}: how should I size a connection pool for {i} users?",
    "crisis": lambda i: f"I feel suicidal and I don't know who to talk to. (conversation {i})",
}


def body(text: str) -> bytes:
    """A one-turn Messages body: its text makes it a conversation of its own."""
    messages = [{"role": "user", "content": text}]
    return orjson.dumps({"model": "claude-sonnet-4-5", "max_tokens": 256, "messages": messages})


def rss_bytes(server: Server) -> int:
    """The resident set of a one-worker gateway."""
    for line in Path(f"/proc/{server.process.pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise BenchError("no VmRSS")


def used_memory(url: str) -> int:
    """Redis's `used_memory`."""
    client = redis.Redis.from_url(url)
    try:
        return int(client.info("memory")["used_memory"])
    finally:
        client.close()


def main(argv: list[str] | None = None) -> int:
    """Measure and print bytes per conversation, by kind."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--conversations", type=int, default=2000, help="per kind")
    args = parser.parse_args(argv)
    servers = Servers(RESULTS / "logs")
    try:
        with stop_on_sigterm():
            RESULTS.mkdir(parents=True, exist_ok=True)
            launcher = Launcher(servers, Path(tempfile.mkdtemp(dir=RESULTS)))
            mock = launcher.mock(deltas=5)
            url = launcher.redis()
            on_redis = launcher.gateway("gateway-redis", mock.base, url)
            on_memory = launcher.gateway("gateway", mock.base, "memory://")
            print(f"{'kind':<8}{'Redis B/conv':>14}{'memory store RSS B/conv':>26}")
            for kind, text in KINDS.items():
                redis_before, rss_before = used_memory(url), rss_bytes(on_memory)
                for i in range(args.conversations):
                    for server in (on_redis, on_memory):
                        status, _ = post(server.base + "/v1/messages", body(text(i)))
                        if status >= 500:
                            raise BenchError(f"{server.name} answered {status}")
                redis_grew = (used_memory(url) - redis_before) / args.conversations
                rss_grew = (rss_bytes(on_memory) - rss_before) / args.conversations
                print(f"{kind:<8}{redis_grew:>14.0f}{rss_grew:>26.0f}")
    except BenchError as exc:
        print(f"failed: {exc}", file=sys.stderr)
        return 1
    finally:
        servers.stop_all()
    return 0


if __name__ == "__main__":
    sys.exit(main())
