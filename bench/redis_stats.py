"""What the gateways asked of Redis during a run: commands and bytes, from INFO."""

from __future__ import annotations

from dataclasses import dataclass, field

import redis


@dataclass
class RedisCounts:
    """Commands by name and bytes each way, as counted by the server."""

    commands: dict[str, int] = field(default_factory=dict)
    bytes_in: int = 0
    bytes_out: int = 0

    def minus(self, before: RedisCounts) -> RedisCounts:
        """What happened between `before` and this snapshot."""
        commands = {
            name: calls - before.commands.get(name, 0)
            for name, calls in self.commands.items()
            if calls - before.commands.get(name, 0)
        }
        return RedisCounts(
            commands, self.bytes_in - before.bytes_in, self.bytes_out - before.bytes_out
        )

    def plus(self, other: RedisCounts) -> RedisCounts:
        """Both counts together."""
        commands = dict(self.commands)
        for name, calls in other.commands.items():
            commands[name] = commands.get(name, 0) + calls
        return RedisCounts(
            commands, self.bytes_in + other.bytes_in, self.bytes_out + other.bytes_out
        )

    def per_request(self, requests: int) -> dict[str, float]:
        """Commands (all and by name) and bytes each way, per request."""
        if not requests:
            return {}
        per = {f"cmd_{name}": calls / requests for name, calls in sorted(self.commands.items())}
        return {
            "commands": sum(self.commands.values()) / requests,
            **per,
            "bytes_in": self.bytes_in / requests,
            "bytes_out": self.bytes_out / requests,
        }


def snapshot(url: str) -> RedisCounts:
    """The server's command and byte counters now (the INFO calls themselves excluded)."""
    client = redis.Redis.from_url(url)
    try:
        stats = client.info("commandstats")
        net = client.info("stats")
    finally:
        client.close()
    commands = {
        key.removeprefix("cmdstat_"): int(value["calls"])
        for key, value in stats.items()
        if key not in ("cmdstat_info", "cmdstat_ping", "cmdstat_hello", "cmdstat_client|setinfo")
    }
    return RedisCounts(
        commands, int(net["total_net_input_bytes"]), int(net["total_net_output_bytes"])
    )
