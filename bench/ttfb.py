"""Streaming time to first byte: one client, one request at a time, targets in turn."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from aiohttp import ClientSession, ClientTimeout, TCPConnector


class StreamFailed(Exception):
    """A target answered a stream request with something other than a complete stream."""


@dataclass
class StreamTimes:
    """Per-request times of one target, in milliseconds."""

    first_byte_ms: list[float] = field(default_factory=list)
    last_byte_ms: list[float] = field(default_factory=list)


async def _one(
    session: ClientSession, url: str, body: bytes, headers: Mapping[str, str]
) -> tuple[float, float]:
    started = time.perf_counter()
    async with session.post(url, data=body, headers=headers) as response:
        first = await response.content.readany()
        first_byte = time.perf_counter()
        last = first
        while chunk := await response.content.readany():
            last = chunk
        done = time.perf_counter()
        if response.status != 200 or not first or b"message_stop" not in last:
            raise StreamFailed(f"{url}: status {response.status}, last bytes {last[-120:]!r}")
    return (first_byte - started) * 1000, (done - started) * 1000


async def measure(
    urls: Mapping[str, str],
    body: bytes,
    headers: Mapping[str, str],
    requests: int,
    warmup: int = 10,
) -> dict[str, StreamTimes]:
    """Send `requests` stream requests to each URL, cycling through the targets one by one.

    Alternating request by request means drift on a noisy machine hits every target alike.
    """
    names: Sequence[str] = list(urls)
    times = {name: StreamTimes() for name in names}
    sessions = {
        name: ClientSession(
            connector=TCPConnector(limit=1),
            timeout=ClientTimeout(total=30),
            auto_decompress=False,
        )
        for name in names
    }
    try:
        for i in range(warmup + requests):
            for k in range(len(names)):
                name = names[(i + k) % len(names)]
                first, last = await _one(sessions[name], urls[name], body, headers)
                if i >= warmup:
                    times[name].first_byte_ms.append(first)
                    times[name].last_byte_ms.append(last)
    finally:
        for session in sessions.values():
            await session.close()
    return times
