"""Shared fixtures: the simulated upstream and gateways in front of it, all in-process."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import pytest
from aiohttp.test_utils import TestServer

from gateway.app import create_app
from gateway.config import Settings
from gateway.logs import configure_logging
from gateway.simulate import SimulatorSettings, create_simulator_app
from tests.dialects.recorder import RECORDER, Recorder, recorder_app
from tests.store.redis_cluster import redis_cluster, redis_sentinel
from tests.store.redis_server import redis_url

__all__ = ["redis_cluster", "redis_sentinel", "redis_url"]

GatewayFactory = Callable[..., Awaitable[TestServer]]

configure_logging("console", "warning")


def base_url(server: TestServer) -> str:
    """The server's root URL without a trailing slash."""
    return str(server.make_url("")).rstrip("/")


@pytest.fixture
async def simulator(aiohttp_server: Any) -> TestServer:
    """The simulated upstream, speaking all three APIs."""
    server: TestServer = await aiohttp_server(create_simulator_app(SimulatorSettings()))
    return server


@pytest.fixture
async def make_gateway(aiohttp_server: Any, simulator: TestServer) -> GatewayFactory:
    """Start a gateway in front of the simulator, with settings overridden by keyword."""

    async def make(**overrides: Any) -> TestServer:
        values: dict[str, Any] = {
            "anthropic_upstream": base_url(simulator),
            "openai_upstream": base_url(simulator) + "/v1",
            "store": "memory://",
        }
        values.update(overrides)
        server: TestServer = await aiohttp_server(create_app(Settings(**values)))
        return server

    return make


@pytest.fixture
async def gateway(make_gateway: GatewayFactory) -> TestServer:
    """A gateway with default settings in front of the simulator."""
    return await make_gateway()


@pytest.fixture
async def upstream(aiohttp_server: Any) -> TestServer:
    """An upstream that records every request it is sent and answers each API."""
    server: TestServer = await aiohttp_server(recorder_app())
    return server


@pytest.fixture
def recorder(upstream: TestServer) -> Recorder:
    """What the recording upstream was sent."""
    return upstream.app[RECORDER]


@pytest.fixture
async def make_recorded_gateway(aiohttp_server: Any, upstream: TestServer) -> GatewayFactory:
    """Start a gateway in front of the recording upstream, settings overridden by keyword."""

    async def make(**overrides: Any) -> TestServer:
        values: dict[str, Any] = {
            "anthropic_upstream": base_url(upstream),
            "openai_upstream": base_url(upstream),
            "store": "memory://",
            **overrides,
        }
        server: TestServer = await aiohttp_server(create_app(Settings(**values)))
        return server

    return make


@pytest.fixture
async def recorded_gateway(make_recorded_gateway: GatewayFactory) -> TestServer:
    """A gateway with default settings in front of the recording upstream."""
    return await make_recorded_gateway()


def free_port() -> int:
    """A loopback port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def refusing_port() -> Iterator[int]:
    """A loopback port bound and never listened on: connections to it are refused, and no
    other server can take it while the test runs (a port merely freed could be reused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def simulator_process() -> Iterator[str]:
    """The simulator in a process of its own (`lastword simulate`); yields its URL."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "gateway", "simulate", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError("the simulator process did not start") from None
                time.sleep(0.05)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)
