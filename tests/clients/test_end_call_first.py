"""An end call that comes before the model's other output: hidden, and nothing left behind.

DESIGN.md: the gateway strips its end tool's call from what the client sees; for
Responses also from the echoed `tools` list, with later `output_index` values closed up
(openai Node's `responses.stream()` fails with "missing output at index 1" otherwise).
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import shutil
from typing import Any

import anthropic
import openai
import pytest
from aiohttp.test_utils import TestServer

from tests.clients.conftest import CountedGateway, start_counted
from tests.clients.drivers_sdk import WEATHER_RESP
from tests.clients.end_first_upstream import END, TEXT, create_end_first_app
from tests.clients.libraries import NODE_DIR
from tests.clients.scenario import HARMFUL, MODEL_A, MODEL_O


@pytest.fixture
async def gateway(aiohttp_server: Any) -> CountedGateway:
    """A gateway in front of the end-first upstream that believes the model's ending on the
    first flagged, refused turn (`policy.model_end_strikes: 1`): the wire format is what
    these tests read."""
    upstream: TestServer = await aiohttp_server(create_end_first_app())
    return await start_counted(aiohttp_server, upstream, policy={"model_end_strikes": 1})


def _key() -> str:
    return f"sk-endfirst-{secrets.token_hex(8)}"


def _openai(gateway: CountedGateway) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=gateway.url + "/v1", api_key=_key())


async def test_responses_body_drops_the_call_and_its_tool(gateway: CountedGateway) -> None:
    """openai Python, not streamed: only the message is left, and `tools` is the app's own."""
    async with _openai(gateway) as client:
        response = await client.responses.create(
            model=MODEL_O,
            input=HARMFUL[0],
            tools=[WEATHER_RESP],
        )
    assert [item.type for item in response.output] == ["message"]
    assert response.output_text == TEXT
    assert [tool.name for tool in response.tools] == ["get_weather"]  # type: ignore[union-attr]
    assert getattr(response, "conversation_ended", None)["reason"] == "model"  # type: ignore[index]


async def test_responses_stream_closes_up_output_index(gateway: CountedGateway) -> None:
    """openai Python, raw events: the message is at output_index 0, and no event names
    the end tool (in an item or in an echoed `tools` list)."""
    indexes: list[int] = []
    tools: list[list[str]] = []
    async with _openai(gateway) as client:
        events = await client.responses.create(
            model=MODEL_O, input=HARMFUL[0], tools=[WEATHER_RESP], stream=True
        )
        async for event in events:
            assert END not in event.model_dump_json(), event.type
            if (index := getattr(event, "output_index", None)) is not None:
                indexes.append(index)
            if (response := getattr(event, "response", None)) is not None:
                tools.append([tool.name for tool in response.tools])
    assert indexes and set(indexes) == {0}
    assert tools == [["get_weather"], ["get_weather"]]


async def test_responses_stream_helper_builds_the_final_response(gateway: CountedGateway) -> None:
    """openai Python `responses.stream()`: the final response holds the message alone."""
    async with (
        _openai(gateway) as client,
        client.responses.stream(model=MODEL_O, input=HARMFUL[0], tools=[WEATHER_RESP]) as stream,
    ):
        async for _ in stream:
            pass
        final = await stream.get_final_response()
    assert [item.type for item in final.output] == ["message"]
    assert final.output_text == TEXT
    assert getattr(final, "conversation_ended", None)["status"] == "ended"  # type: ignore[index]


async def test_node_responses_stream_with_the_call_first(gateway: CountedGateway) -> None:
    """openai Node `responses.stream()` reads the whole stream: no "missing output at
    index 1", the message at index 0, the app's tools alone, the end signal."""
    node = shutil.which("node")
    assert node is not None
    proc = await asyncio.create_subprocess_exec(
        node,
        str(NODE_DIR / "end_first.mjs"),
        cwd=NODE_DIR,
        env={**os.environ, "LASTWORD_URL": gateway.url, "LASTWORD_KEY": _key()},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout=90)
    assert proc.returncode == 0, (out + err).decode()
    seen = json.loads(out.decode().strip().splitlines()[-1])
    assert seen["error"] is None
    assert seen["output"] == ["message"]
    assert set(seen["indexes"]) == {0}
    assert set(seen["tools"]) == {"get_weather"}
    assert seen["signal"]["status"] == "ended"


async def test_anthropic_body_with_the_call_first(gateway: CountedGateway) -> None:
    """Anthropic: the tool_use block before the text is hidden; the text and the signal stay."""
    async with anthropic.AsyncAnthropic(base_url=gateway.url, api_key=_key()) as client:
        message = await client.messages.create(
            model=MODEL_A, max_tokens=100, messages=[{"role": "user", "content": HARMFUL[0]}]
        )
    assert [(b.type, getattr(b, "text", None)) for b in message.content] == [("text", TEXT)]
    assert message.stop_reason == "end_turn"
    assert getattr(message, "conversation_ended", None)["reason"] == "model"  # type: ignore[index]


async def test_chat_body_with_the_call_first(gateway: CountedGateway) -> None:
    """Chat Completions: the end call beside the text is hidden; the text and the signal stay."""
    async with _openai(gateway) as client:
        completion = await client.chat.completions.create(
            model=MODEL_O, messages=[{"role": "user", "content": HARMFUL[0]}]
        )
    choice = completion.choices[0]
    assert not choice.message.tool_calls
    assert (choice.message.content, choice.finish_reason) == (TEXT, "stop")
    assert getattr(completion, "conversation_ended", None)["reason"] == "model"  # type: ignore[index]


async def test_anthropic_stream_with_the_call_first(gateway: CountedGateway) -> None:
    """Anthropic stream: the text block is the message's only block, at index 0 in every
    event, and the stream helper rebuilds it; the signal rides on message_delta."""
    indexes: list[int] = []
    signal = None
    async with (
        anthropic.AsyncAnthropic(base_url=gateway.url, api_key=_key()) as client,
        client.messages.stream(
            model=MODEL_A, max_tokens=100, messages=[{"role": "user", "content": HARMFUL[0]}]
        ) as stream,
    ):
        async for event in stream:
            if event.type.startswith("content_block_"):
                indexes.append(event.index)  # type: ignore[union-attr]
            elif event.type == "message_delta":
                signal = getattr(event, "conversation_ended", None)
        message = await stream.get_final_message()
    assert [(b.type, getattr(b, "text", None)) for b in message.content] == [("text", TEXT)]
    assert indexes and set(indexes) == {0}
    assert message.stop_reason == "end_turn"
    assert signal is not None and signal["reason"] == "model"


async def test_chat_stream_with_the_call_first(gateway: CountedGateway) -> None:
    """Chat stream: no chunk carries the end call, the text arrives whole, finish `stop`."""
    async with _openai(gateway) as client:
        chunks = await client.chat.completions.create(
            model=MODEL_O, messages=[{"role": "user", "content": HARMFUL[0]}], stream=True
        )
        text, finish, signal = "", None, None
        async for chunk in chunks:
            assert END not in chunk.model_dump_json()
            choice = chunk.choices[0]
            assert not choice.delta.tool_calls
            text += choice.delta.content or ""
            if choice.finish_reason:
                finish, signal = choice.finish_reason, getattr(chunk, "conversation_ended", None)
    assert (text, finish) == (TEXT, "stop")
    assert signal is not None and signal["reason"] == "model"
