"""The official SDKs get through the gateway exactly what they get from the upstream."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestServer

from tests.conftest import base_url
from tests.e2e import sdk_calls

SYNC_CALLS: dict[str, Callable[..., Any]] = {
    "anthropic": sdk_calls.anthropic_call,
    "chat": sdk_calls.chat_call,
    "responses": sdk_calls.responses_call,
}
ASYNC_CALLS: dict[str, Callable[..., Awaitable[Any]]] = {
    "anthropic": sdk_calls.anthropic_call_async,
    "chat": sdk_calls.chat_call_async,
    "responses": sdk_calls.responses_call_async,
}
PROMPTS = pytest.mark.parametrize("prompt", sdk_calls.PROMPTS.values(), ids=sdk_calls.PROMPTS)
STREAM = pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])


@pytest.mark.parametrize("api", SYNC_CALLS)
@PROMPTS
@STREAM
async def test_sync_sdk_sees_the_same_through_the_gateway(
    api: str, prompt: str, stream: bool, simulator: TestServer, gateway: TestServer
) -> None:
    """Sync clients: text, stop reason, usage and tool calls match a direct call."""
    call = SYNC_CALLS[api]
    direct = await asyncio.to_thread(call, base_url(simulator), prompt, stream)
    through = await asyncio.to_thread(call, base_url(gateway), prompt, stream)
    assert through == direct
    if "get_weather" in prompt:
        assert through[3], "the tool call went missing"
    else:
        assert through[0], "the answer text went missing"


@pytest.mark.parametrize("api", ASYNC_CALLS)
@PROMPTS
@STREAM
async def test_async_sdk_sees_the_same_through_the_gateway(
    api: str, prompt: str, stream: bool, simulator: TestServer, gateway: TestServer
) -> None:
    """Async clients, raw streams included: the same as a direct call."""
    call = ASYNC_CALLS[api]
    direct = await call(base_url(simulator), prompt, stream)
    through = await call(base_url(gateway), prompt, stream)
    assert through == direct
    assert through[2] is not None and all(through[2]), "usage went missing"
