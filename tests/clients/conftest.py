"""Fixtures for the client-library suite: a gateway that counts the requests it gets."""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

# LiteLLM fetches a model price list from the internet at import unless told to use the
# copy it ships; the tests reach loopback only. Set before any test module imports it.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from gateway.app import create_app
from gateway.config import Settings
from gateway.simulate import SimulatorSettings, create_simulator_app
from tests.clients.litellm_clients import close_cached_clients
from tests.conftest import base_url

INSPECTED = frozenset({"/v1/messages", "/v1/chat/completions", "/v1/responses"})


@dataclass
class RequestLog:
    """The status of every inspected request the gateway answered, and the body of every
    one it forwarded, in order."""

    statuses: list[int] = field(default_factory=list)
    bodies: list[bytes] = field(default_factory=list)

    def middleware(self) -> Callable[..., Awaitable[web.StreamResponse]]:
        """A gateway middleware that records each inspected request's answer status."""

        @web.middleware
        async def record(request: web.Request, handler: Any) -> web.StreamResponse:
            response: web.StreamResponse = await handler(request)
            if request.method == "POST" and request.path in INSPECTED:
                self.statuses.append(response.status)
            return response

        return record

    def upstream_middleware(self) -> Callable[..., Awaitable[web.StreamResponse]]:
        """An upstream middleware that records each chat request's body as it arrived.

        Read at the upstream, not the gateway: the gateway reads its request's body as a
        stream, once (aiohttp keeps what `read()` returned for the upstream's handler).
        """

        @web.middleware
        async def record(request: web.Request, handler: Any) -> web.StreamResponse:
            if request.method == "POST" and request.path in INSPECTED:
                self.bodies.append(await request.read())
            response: web.StreamResponse = await handler(request)
            return response

        return record


@dataclass(frozen=True)
class CountedGateway:
    """A gateway in front of an upstream, and the log of what reached it."""

    server: TestServer
    log: RequestLog

    @property
    def url(self) -> str:
        """The gateway's root URL."""
        return base_url(self.server)


async def start_counted(
    aiohttp_server: Any, upstream: TestServer, log: RequestLog | None = None, **overrides: Any
) -> CountedGateway:
    """Start a gateway (memory store) in front of `upstream`, counting its requests."""
    values: dict[str, Any] = {
        "anthropic_upstream": base_url(upstream),
        "openai_upstream": base_url(upstream) + "/v1",
        "store": "memory://",
        **overrides,
    }
    app = create_app(Settings(**values))
    log = log or RequestLog()
    app.middlewares.insert(0, log.middleware())
    server: TestServer = await aiohttp_server(app)
    return CountedGateway(server, log)


@pytest.fixture(autouse=True)
def close_litellm_clients() -> Iterator[None]:
    """Close the HTTP clients LiteLLM caches for reuse: a test's gateway is gone after it."""
    yield
    close_cached_clients()


async def start_simulated(aiohttp_server: Any, **overrides: Any) -> CountedGateway:
    """A gateway in front of a simulator of its own, counting requests at both."""
    log = RequestLog()
    simulator_app = create_simulator_app(SimulatorSettings())
    simulator_app.middlewares.append(log.upstream_middleware())
    simulator: TestServer = await aiohttp_server(simulator_app)
    return await start_counted(aiohttp_server, simulator, log, **overrides)


@pytest.fixture
async def counted(aiohttp_server: Any) -> CountedGateway:
    """A default gateway in front of the simulator, counting inspected requests."""
    return await start_simulated(aiohttp_server)
