"""Large bodies and long streams pass whole, with memory that does not grow with them."""

from __future__ import annotations

import asyncio
import gc
import io
import tracemalloc

import aiohttp
import orjson
import pytest
from aiohttp.test_utils import TestServer

from gateway.simulate import LAST_REQUEST
from tests.conftest import GatewayFactory, base_url
from tests.test_proxy import HEADERS, ROUTES

# Deltas per stream: about 10 MB in every API (Anthropic's events are the smallest).
EVENTS = {"anthropic": 90_000, "chat": 40_000, "responses": 40_000}
# What the gateway may hold while the client pauses; every stream is 4 times as long.
HELD_BOUND = 2_500_000
# While the client pauses, traced memory that grows by less than this per half second has
# stopped growing: every buffer between the upstream and the client is full.
QUIET = 64_000


def _traced() -> int:
    """This process's traced memory, garbage cycles collected first (they are not held)."""
    gc.collect()
    return tracemalloc.get_traced_memory()[0]


async def _held_once_still(before: int) -> int:
    """Traced memory above `before` once it has stopped growing (at least a second's wait).

    A streaming gateway stops at its flow-control buffers; one that buffered the stream
    grows until it holds all of it. Waiting for the growth to stop, rather than a fixed
    time, measures that end state however slowly a busy machine gets there.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 15
    readings = [before]
    while len(readings) < 3 or max(readings[-3:]) - min(readings[-3:]) >= QUIET:
        if loop.time() > deadline:
            break
        await asyncio.sleep(0.5)
        readings.append(_traced())
    return readings[-1] - before


@pytest.mark.parametrize("api", ROUTES)
# A few seconds a stream on a quiet machine; a loaded 2-core one has taken far longer.
@pytest.mark.timeout(300)
async def test_long_streams_pass_with_bounded_memory(
    api: str, make_gateway: GatewayFactory, simulator_process: str
) -> None:
    """Every one of 40,000+ deltas arrives, and a client that stops reading makes the gateway wait.

    The upstream (own process) writes megabytes as fast as it can while the client pauses;
    a gateway that buffered the stream would hold them, one that streams holds little.
    """
    gateway = await make_gateway(
        anthropic_upstream=simulator_process, openai_upstream=simulator_process
    )
    path, body = ROUTES[api]
    headers = {**HEADERS, "x-sim-events": str(EVENTS[api])}
    received = streamed = 0
    async with aiohttp.ClientSession() as session:
        url = base_url(gateway) + path
        async with session.post(url, json={**body, "stream": True}, headers=headers) as resp:
            assert resp.status == 200
            async for line in resp.content:
                streamed += len(line)
                if line.startswith(b"data:") and b"delta" in line:
                    received += 1
                    if received == 10:
                        # Traced only while the client pauses: what the gateway takes in
                        # then is allocated then. Tracing the whole stream made it 5x slower.
                        tracemalloc.start()
                        try:
                            held = await _held_once_still(_traced())
                        finally:
                            tracemalloc.stop()
    assert received >= EVENTS[api]
    # While the client pauses, the gateway and this test's own client fill their read and
    # write buffers, then stop: aiohttp's readers pause past 128 KB but take in up to 256 KB
    # a read, asyncio's transports hold writes past 64 KB. Measured here: 0.5 to 1.6 MB
    # (steps of a few reads), more in flight on a busy machine. A gateway that buffered
    # would hold the stream, less what the kernel's socket buffers take, once the growth
    # stopped: the stream is 4 times the bound so that it still shows.
    assert streamed >= 4 * HELD_BOUND, streamed
    assert held < HELD_BOUND, f"{held} more bytes held after the client paused"


@pytest.mark.parametrize("api", ROUTES)
async def test_tokens_reach_the_client_as_they_arrive(api: str, gateway: TestServer) -> None:
    """With a slow upstream, the first delta reaches the client long before the last."""
    path, body = ROUTES[api]
    headers = {**HEADERS, "x-sim-events": "6", "x-sim-token-delay-ms": "150"}
    loop = asyncio.get_running_loop()
    arrivals: list[float] = []
    async with aiohttp.ClientSession() as session:
        url = base_url(gateway) + path
        async with session.post(url, json={**body, "stream": True}, headers=headers) as resp:
            async for line in resp.content:
                if line.startswith(b"data:") and b"delta" in line:
                    arrivals.append(loop.time())
    assert len(arrivals) >= 6
    assert arrivals[-1] - arrivals[0] > 0.5, "deltas arrived together: the stream was held"


@pytest.mark.parametrize("api", ROUTES)
async def test_a_large_body_reaches_the_upstream_intact(
    api: str, make_gateway: GatewayFactory, simulator: TestServer
) -> None:
    """An 8 MB request body the gateway need not change is forwarded byte for byte."""
    gateway = await make_gateway(policy={"model_can_end": False})
    path, body = ROUTES[api]
    big = orjson.dumps({**body, "metadata": {"pad": "x" * 8_000_000}})
    async with (
        aiohttp.ClientSession() as session,
        session.post(base_url(gateway) + path, data=io.BytesIO(big), headers=HEADERS) as resp,
    ):
        assert resp.status == 200
    last = simulator.app[LAST_REQUEST].last
    assert last is not None
    assert last.body == big
