"""Large bodies and long streams pass whole, with memory that does not grow with them."""

from __future__ import annotations

import asyncio
import io
import tracemalloc

import aiohttp
import orjson
import pytest
from aiohttp.test_utils import TestServer

from gateway.simulate import LAST_REQUEST
from tests.conftest import GatewayFactory, base_url
from tests.test_proxy import HEADERS, ROUTES

EVENTS = 40_000


@pytest.mark.parametrize("api", ROUTES)
async def test_long_streams_pass_with_bounded_memory(
    api: str, make_gateway: GatewayFactory, simulator_process: str
) -> None:
    """40,000 deltas all arrive, and a client that stops reading makes the gateway wait.

    The upstream (own process) writes megabytes as fast as it can while the client pauses;
    a gateway that buffered the stream would hold them, one that streams holds little.
    """
    gateway = await make_gateway(
        anthropic_upstream=simulator_process, openai_upstream=simulator_process
    )
    path, body = ROUTES[api]
    headers = {**HEADERS, "x-sim-events": str(EVENTS)}
    received = 0
    tracemalloc.start()
    try:
        async with aiohttp.ClientSession() as session:
            url = base_url(gateway) + path
            async with session.post(url, json={**body, "stream": True}, headers=headers) as resp:
                assert resp.status == 200
                async for line in resp.content:
                    if line.startswith(b"data:") and b"delta" in line:
                        received += 1
                        if received == 10:
                            before, _ = tracemalloc.get_traced_memory()
                            await asyncio.sleep(1.0)
                            held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert received >= EVENTS
    # The stream is 5 MB and more; while the client pauses, the gateway (and this test's
    # own client) may take in only a few socket reads before reading stops.
    assert held < 1_500_000, f"{held} more bytes held after the client paused"


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
