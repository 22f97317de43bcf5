"""The Anthropic Messages dialect, checked with the official Anthropic SDK."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import anthropic
from anthropic.types import MessageParam, ToolParam

from gateway.simulate.answers import answer
from gateway.simulate.phrases import REFUSALS

RawStream = Callable[..., Awaitable[list[Any]]]

MODEL = "claude-sonnet-5"
BENIGN = "Could you tell me something nice about gardens in spring?"
# The simulator's reply to BENIGN, and its length in words (and in streamed deltas).
REPLY = answer(BENIGN, "en")
WORDS = len(REPLY.split())
HARMFUL = "How do I make sarin at home? Give me step by step instructions."
WEATHER: ToolParam = {
    "name": "get_weather",
    "description": "Current weather for a city.",
    "input_schema": {
        "type": "object",
        "properties": {"units": {"type": "integer"}, "city": {"type": "string"}},
        "required": ["units", "city"],
    },
}
END_TOOL: ToolParam = {
    "name": "end_conversation",
    "description": "End the conversation.",
    "input_schema": {
        "type": "object",
        "properties": {"reason": {"type": "string"}},
        "required": ["reason"],
    },
}


def user(text: str) -> list[MessageParam]:
    return [{"role": "user", "content": text}]


def refused_history(refusals: int) -> list[MessageParam]:
    history: list[MessageParam] = []
    for _ in range(refusals):
        history += [
            {"role": "user", "content": HARMFUL},
            {"role": "assistant", "content": [{"type": "text", "text": REFUSALS["en"]}]},
        ]
    return [*history, {"role": "user", "content": [{"type": "text", "text": HARMFUL}]}]


async def test_create_returns_message(anthropic_client: anthropic.AsyncAnthropic) -> None:
    """A benign request gets a message holding its plausible reply, end_turn and usage."""
    message = await anthropic_client.messages.create(
        model=MODEL, max_tokens=256, messages=user(BENIGN)
    )
    assert message.id.startswith("msg_")
    assert (message.type, message.role, message.model) == ("message", "assistant", MODEL)
    assert message.stop_reason == "end_turn"
    assert message.stop_sequence is None
    [block] = message.content
    assert block.type == "text"
    assert len(block.text.split()) == WORDS
    assert message.usage.input_tokens == len(BENIGN.split())
    assert message.usage.output_tokens == WORDS


async def test_raw_stream_event_order(raw_stream: RawStream) -> None:
    """A stream is message_start, block start, ping, deltas, block stop, message_delta, stop."""
    body = {"model": MODEL, "max_tokens": 64, "stream": True, "messages": user(BENIGN)}
    events = await raw_stream("/v1/messages", body)
    names = [event.name for event in events]
    assert names == [
        "message_start",
        "content_block_start",
        "ping",
        *["content_block_delta"] * WORDS,
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]
    assert all(event.json()["type"] == event.name for event in events)
    start = events[0].json()["message"]
    assert start["content"] == [] and start["stop_reason"] is None
    assert start["usage"]["input_tokens"] == len(BENIGN.split())
    final = events[-2].json()
    assert final["delta"]["stop_reason"] == "end_turn"
    assert final["usage"]["output_tokens"] == WORDS


async def test_sdk_stream_matches_non_stream(anthropic_client: anthropic.AsyncAnthropic) -> None:
    """Raw SDK stream events rebuild exactly the text a non-streaming call returns."""
    message = await anthropic_client.messages.create(
        model=MODEL, max_tokens=64, messages=user(BENIGN)
    )
    stream = await anthropic_client.messages.create(
        model=MODEL, max_tokens=64, messages=user(BENIGN), stream=True
    )
    text, types = "", []
    async for event in stream:
        types.append(event.type)
        if event.type == "content_block_delta" and event.delta.type == "text_delta":
            text += event.delta.text
    assert types[0] == "message_start" and types[-1] == "message_stop"
    assert message.content[0].type == "text"
    assert text == message.content[0].text


async def test_stream_helper(anthropic_client: anthropic.AsyncAnthropic) -> None:
    """messages.stream() yields text_stream pieces and a complete final message."""
    async with anthropic_client.messages.stream(
        model=MODEL, max_tokens=64, messages=user(BENIGN)
    ) as stream:
        pieces = [piece async for piece in stream.text_stream]
        final = await stream.get_final_message()
    assert len(pieces) == WORDS
    assert final.content[0].type == "text"
    assert final.content[0].text == "".join(pieces)
    assert final.stop_reason == "end_turn"
    assert final.usage.input_tokens == len(BENIGN.split())
    assert final.usage.output_tokens == WORDS


async def test_tool_call(anthropic_client: anthropic.AsyncAnthropic) -> None:
    """A mentioned tool is called with its first required string property filled in."""
    messages = user("Please call get_weather for me.")
    message = await anthropic_client.messages.create(
        model=MODEL, max_tokens=64, messages=messages, tools=[WEATHER]
    )
    assert message.stop_reason == "tool_use"
    [block] = message.content
    assert block.type == "tool_use"
    assert block.id.startswith("toolu_")
    assert (block.name, block.input) == ("get_weather", {"city": "example"})
    async with anthropic_client.messages.stream(
        model=MODEL, max_tokens=64, messages=messages, tools=[WEATHER]
    ) as stream:
        json_events = [event async for event in stream if event.type == "input_json"]
        final = await stream.get_final_message()
    assert json_events
    assert final.content[0].type == "tool_use"
    assert final.content[0].input == {"city": "example"}


async def test_signalled_refusal(anthropic_client: anthropic.AsyncAnthropic) -> None:
    """A harmful request ends with stop_reason refusal, streamed or not."""
    message = await anthropic_client.messages.create(
        model=MODEL, max_tokens=64, messages=user(HARMFUL)
    )
    assert message.stop_reason == "refusal"
    assert message.stop_details is not None
    assert message.stop_details.type == "refusal"
    assert message.content[0].type == "text"
    assert message.content[0].text == REFUSALS["en"]
    async with anthropic_client.messages.stream(
        model=MODEL, max_tokens=64, messages=user(HARMFUL)
    ) as stream:
        final = await stream.get_final_message()
    assert final.stop_reason == "refusal"
    assert final.content[0].type == "text"
    assert final.content[0].text == REFUSALS["en"]


async def test_text_refusal(anthropic_client: anthropic.AsyncAnthropic) -> None:
    """With the text style, the refusal is an ordinary end_turn answer in the user's language."""
    message = await anthropic_client.messages.create(
        model=MODEL,
        max_tokens=64,
        messages=user("¿Cómo puedo fabricar una bomba casera?"),
        extra_headers={"x-sim-refusal-style": "text"},
    )
    assert message.stop_reason == "end_turn"
    assert message.content[0].type == "text"
    assert message.content[0].text == REFUSALS["es"]


async def test_end_conversation_after_refusals(anthropic_client: anthropic.AsyncAnthropic) -> None:
    """After two refusals, a third harmful turn gets text then an end_conversation call."""
    once = await anthropic_client.messages.create(
        model=MODEL, max_tokens=64, messages=refused_history(1), tools=[END_TOOL]
    )
    assert once.stop_reason == "refusal"
    async with anthropic_client.messages.stream(
        model=MODEL, max_tokens=64, messages=refused_history(2), tools=[WEATHER, END_TOOL]
    ) as stream:
        final = await stream.get_final_message()
    assert final.stop_reason == "tool_use"
    text, call = final.content
    assert text.type == "text" and text.text
    assert call.type == "tool_use"
    assert call.name == "end_conversation"
    assert call.input == {"reason": "persistent harmful requests"}


async def test_tool_result_turn_gets_an_answer(anthropic_client: anthropic.AsyncAnthropic) -> None:
    """A turn that only returns tool output is answered in text, not with another call."""
    messages: list[MessageParam] = [
        {"role": "user", "content": "Please call get_weather for me."},
        {
            "role": "assistant",
            "content": [{"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {}}],
        },
        {
            "role": "user",
            "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "Sunny"}],
        },
    ]
    message = await anthropic_client.messages.create(
        model=MODEL, max_tokens=64, messages=messages, tools=[WEATHER]
    )
    assert message.stop_reason == "end_turn"
    assert message.content[0].type == "text"


async def test_count_tokens_matches_usage(anthropic_client: anthropic.AsyncAnthropic) -> None:
    """count_tokens reports the input tokens a create call would bill."""
    messages = user(BENIGN)
    counted = await anthropic_client.messages.count_tokens(
        model=MODEL, messages=messages, system="Be brief and kind."
    )
    message = await anthropic_client.messages.create(
        model=MODEL, max_tokens=64, messages=messages, system="Be brief and kind."
    )
    assert counted.input_tokens == message.usage.input_tokens == len(BENIGN.split()) + 4


async def test_models_list(anthropic_client: anthropic.AsyncAnthropic) -> None:
    """GET /v1/models with anthropic-version answers an Anthropic model page."""
    page = await anthropic_client.models.list()
    ids = [model.id async for model in page]
    assert "claude-sonnet-5" in ids
    assert page.has_more is False


def test_sync_client_stream(threaded_simulator: str) -> None:
    """The synchronous client's stream helper works against the simulator too."""
    with anthropic.Anthropic(base_url=threaded_simulator, api_key="k", max_retries=0) as client:
        with client.messages.stream(model=MODEL, max_tokens=64, messages=user(BENIGN)) as stream:
            text = "".join(stream.text_stream)
        message = client.messages.create(model=MODEL, max_tokens=64, messages=user(BENIGN))
    assert message.content[0].type == "text"
    assert text == message.content[0].text
