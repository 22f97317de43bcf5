"""A gateway in front of a recording upstream, for the request-parsing tests."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestServer

from gateway.app import create_app
from gateway.config import Settings
from tests.conftest import base_url
from tests.dialects.recorder import RECORDER, Recorder, recorder_app


@pytest.fixture
async def upstream(aiohttp_server: Any) -> TestServer:
    """The recording upstream."""
    server: TestServer = await aiohttp_server(recorder_app())
    return server


@pytest.fixture
def recorder(upstream: TestServer) -> Recorder:
    """What the upstream was sent."""
    return upstream.app[RECORDER]


@pytest.fixture
async def make_recorded_gateway(
    aiohttp_server: Any, upstream: TestServer
) -> Callable[..., Awaitable[TestServer]]:
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
async def recorded_gateway(
    make_recorded_gateway: Callable[..., Awaitable[TestServer]],
) -> TestServer:
    """A gateway with default settings in front of the recording upstream."""
    return await make_recorded_gateway()
