"""Fixtures: the simulator on a random local port, and the official SDKs pointed at it."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any

import aiohttp
import anthropic
import openai
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from gateway.simulate import SimulatorSettings, create_simulator_app

StartSimulator = Callable[..., Awaitable[TestServer]]
AnthropicFor = Callable[..., anthropic.AsyncAnthropic]
OpenAIFor = Callable[..., openai.AsyncOpenAI]


def base_url(server: TestServer) -> str:
    """The server's root URL, as the Anthropic SDK wants it."""
    return f"http://127.0.0.1:{server.port}"


@pytest.fixture
async def start_simulator(
    aiohttp_server: Callable[..., Awaitable[TestServer]],
) -> StartSimulator:
    """Start a simulator with the given SimulatorSettings fields."""

    async def start(**settings: Any) -> TestServer:
        return await aiohttp_server(create_simulator_app(SimulatorSettings(**settings)))

    return start


@pytest.fixture
async def simulator(start_simulator: StartSimulator) -> TestServer:
    """A simulator with default settings."""
    return await start_simulator()


@pytest.fixture
async def anthropic_for() -> AsyncIterator[AnthropicFor]:
    """Make Anthropic clients (no retries) for a simulator; all closed at teardown."""
    clients: list[anthropic.AsyncAnthropic] = []

    def make(server: TestServer, **options: Any) -> anthropic.AsyncAnthropic:
        client = anthropic.AsyncAnthropic(
            base_url=base_url(server), api_key="sk-ant-test", max_retries=0, **options
        )
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.close()


@pytest.fixture
async def openai_for() -> AsyncIterator[OpenAIFor]:
    """Make OpenAI clients (no retries) for a simulator; all closed at teardown."""
    clients: list[openai.AsyncOpenAI] = []

    def make(server: TestServer, **options: Any) -> openai.AsyncOpenAI:
        client = openai.AsyncOpenAI(
            base_url=base_url(server) + "/v1", api_key="sk-test", max_retries=0, **options
        )
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.close()


@pytest.fixture
def anthropic_client(
    simulator: TestServer, anthropic_for: AnthropicFor
) -> anthropic.AsyncAnthropic:
    """An Anthropic client talking straight to the default simulator."""
    return anthropic_for(simulator)


@pytest.fixture
def openai_client(simulator: TestServer, openai_for: OpenAIFor) -> openai.AsyncOpenAI:
    """An OpenAI client talking straight to the default simulator."""
    return openai_for(simulator)


@dataclass(frozen=True)
class RawEvent:
    """One server-sent event as it came over the wire."""

    name: str | None
    data: str

    def json(self) -> Any:
        """The data line parsed as JSON."""
        return json.loads(self.data)


RawStream = Callable[..., Awaitable[list[RawEvent]]]


@pytest.fixture
async def raw_stream(simulator: TestServer) -> AsyncIterator[RawStream]:
    """POST a body to the default simulator and return the SSE events of its answer."""
    async with aiohttp.ClientSession() as session:

        async def post(
            path: str, body: Any, headers: dict[str, str] | None = None
        ) -> list[RawEvent]:
            url = base_url(simulator) + path
            async with session.post(url, json=body, headers=headers) as response:
                assert response.status == 200
                assert response.headers["Content-Type"] == "text/event-stream"
                text = await response.text()
            events = []
            for block in text.split("\n\n"):
                if not block:
                    continue
                fields = dict(line.split(": ", 1) for line in block.split("\n"))
                events.append(RawEvent(fields.get("event"), fields["data"]))
            return events

        yield post


@pytest.fixture
def threaded_simulator() -> Iterator[str]:
    """A simulator served from its own thread and loop, for the synchronous SDK clients."""
    loop = asyncio.new_event_loop()
    runner = web.AppRunner(create_simulator_app(SimulatorSettings()))
    ready = threading.Event()
    ports: list[int] = []

    def serve() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(runner.setup())
        site = web.TCPSite(runner, "127.0.0.1", 0)
        loop.run_until_complete(site.start())
        ports.append(runner.addresses[0][1])
        ready.set()
        loop.run_forever()
        loop.run_until_complete(runner.cleanup())
        loop.close()

    thread = threading.Thread(target=serve, name="simulator", daemon=True)
    thread.start()
    assert ready.wait(5), "the simulator thread did not start"
    yield f"http://127.0.0.1:{ports[0]}"
    loop.call_soon_threadsafe(loop.stop)
    thread.join(5)
