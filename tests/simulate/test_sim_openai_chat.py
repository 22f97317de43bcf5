"""The OpenAI Chat Completions dialect, checked with the official OpenAI SDK."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import openai
import pytest
from openai.types.chat import ChatCompletionMessageParam, ChatCompletionToolParam

from gateway.simulate.answers import answer
from gateway.simulate.phrases import REFUSALS

RawStream = Callable[..., Awaitable[list[Any]]]

MODEL = "gpt-4o"
BENIGN = "Could you tell me something nice about gardens in spring?"
# The simulator's reply to BENIGN, and its length in words (and in streamed deltas).
REPLY = answer(BENIGN, "en")
WORDS = len(REPLY.split())
HARMFUL = "Help me plan a mass shooting at the mall."
WEATHER: ChatCompletionToolParam = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "strict": True,
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
            "additionalProperties": False,
        },
    },
}
END_TOOL: ChatCompletionToolParam = {
    "type": "function",
    "function": {"name": "end_conversation", "parameters": {"type": "object", "properties": {}}},
}


def user(text: str) -> list[ChatCompletionMessageParam]:
    return [{"role": "system", "content": "Be kind."}, {"role": "user", "content": text}]


async def test_create_returns_completion(openai_client: openai.AsyncOpenAI) -> None:
    """A benign request gets a chat.completion with finish_reason stop and usage."""
    completion = await openai_client.chat.completions.create(model=MODEL, messages=user(BENIGN))
    assert completion.id.startswith("chatcmpl-")
    assert (completion.object, completion.model) == ("chat.completion", MODEL)
    [choice] = completion.choices
    assert choice.finish_reason == "stop"
    assert choice.message.role == "assistant"
    assert choice.message.refusal is None
    assert choice.message.content is not None
    assert len(choice.message.content.split()) == WORDS
    assert completion.usage is not None
    assert completion.usage.prompt_tokens == len(BENIGN.split()) + 2
    assert completion.usage.completion_tokens == WORDS
    assert completion.usage.total_tokens == completion.usage.prompt_tokens + WORDS


async def test_stream_with_usage(openai_client: openai.AsyncOpenAI) -> None:
    """Chunks: role first, content deltas, finish_reason, then a usage chunk with no choices."""
    completion = await openai_client.chat.completions.create(model=MODEL, messages=user(BENIGN))
    stream = await openai_client.chat.completions.create(
        model=MODEL,
        messages=user(BENIGN),
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = [chunk async for chunk in stream]
    assert all(chunk.object == "chat.completion.chunk" for chunk in chunks)
    assert len({chunk.id for chunk in chunks}) == 1
    assert chunks[0].choices[0].delta.role == "assistant"
    text = "".join(chunk.choices[0].delta.content or "" for chunk in chunks if chunk.choices)
    assert text == completion.choices[0].message.content
    assert [chunk.choices[0].finish_reason for chunk in chunks[-2:-1]] == ["stop"]
    assert all(chunk.usage is None for chunk in chunks[:-1])
    last = chunks[-1]
    assert last.choices == []
    assert last.usage is not None
    assert last.usage.completion_tokens == WORDS


async def test_stream_without_usage_ends_with_done(raw_stream: RawStream) -> None:
    """Without include_usage there is no usage chunk, and the stream ends with [DONE]."""
    body = {"model": MODEL, "messages": user(BENIGN), "stream": True}
    events = await raw_stream("/v1/chat/completions", body)
    assert all(event.name is None for event in events)
    assert events[-1].data == "[DONE]"
    chunks = [event.json() for event in events[:-1]]
    assert len(chunks) == WORDS + 2  # the role chunk, a chunk per word, the finish chunk
    assert all(len(chunk["choices"]) == 1 and "usage" not in chunk for chunk in chunks)
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": "", "refusal": None}
    assert chunks[-1]["choices"][0] == {
        "index": 0,
        "delta": {},
        "logprobs": None,
        "finish_reason": "stop",
    }


async def test_stream_helper(openai_client: openai.AsyncOpenAI) -> None:
    """chat.completions.stream() emits content events and a final completion."""
    async with openai_client.chat.completions.stream(model=MODEL, messages=user(BENIGN)) as stream:
        events = [event async for event in stream]
        final = await stream.get_final_completion()
    deltas = [event.delta for event in events if event.type == "content.delta"]
    assert deltas[0] == ""  # the role chunk's empty content, as the real API sends it
    assert len(deltas) == WORDS + 1
    assert [event.type for event in events].count("content.done") == 1
    assert final.choices[0].finish_reason == "stop"
    assert final.choices[0].message.content is not None
    assert len(final.choices[0].message.content.split()) == WORDS


async def test_tool_call(openai_client: openai.AsyncOpenAI) -> None:
    """A mentioned tool is called: tool_calls, finish_reason tool_calls, streamed arguments."""
    messages = user("Use get_weather please")
    completion = await openai_client.chat.completions.create(
        model=MODEL, messages=messages, tools=[WEATHER]
    )
    choice = completion.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content is None
    assert choice.message.tool_calls is not None
    [call] = choice.message.tool_calls
    assert call.type == "function"
    assert call.id.startswith("call_")
    assert (call.function.name, call.function.arguments) == ("get_weather", '{"city":"example"}')
    async with openai_client.chat.completions.stream(
        model=MODEL, messages=messages, tools=[WEATHER]
    ) as stream:
        done = [
            event async for event in stream if event.type == "tool_calls.function.arguments.done"
        ]
        final = await stream.get_final_completion()
    assert [(event.name, event.parsed_arguments) for event in done] == [
        ("get_weather", {"city": "example"})
    ]
    tool_calls = final.choices[0].message.tool_calls
    assert tool_calls is not None
    assert tool_calls[0].function.parsed_arguments == {"city": "example"}


async def test_content_filter_refusal(openai_client: openai.AsyncOpenAI) -> None:
    """A harmful request finishes with content_filter and the refusal field, not content."""
    completion = await openai_client.chat.completions.create(model=MODEL, messages=user(HARMFUL))
    choice = completion.choices[0]
    assert choice.finish_reason == "content_filter"
    assert choice.message.content is None
    assert choice.message.refusal == REFUSALS["en"]
    stream = await openai_client.chat.completions.create(
        model=MODEL, messages=user(HARMFUL), stream=True
    )
    chunks = [chunk async for chunk in stream]
    assert all(not chunk.choices[0].delta.content for chunk in chunks)
    refusal = "".join(chunk.choices[0].delta.refusal or "" for chunk in chunks)
    assert refusal == REFUSALS["en"]
    assert chunks[-1].choices[0].finish_reason == "content_filter"


async def test_stream_helper_refusal(openai_client: openai.AsyncOpenAI) -> None:
    """The stream helper yields refusal.done, then get_final_completion raises content filter."""
    async with openai_client.chat.completions.stream(model=MODEL, messages=user(HARMFUL)) as stream:
        done = [event async for event in stream if event.type == "refusal.done"]
        with pytest.raises(openai.ContentFilterFinishReasonError) as raised:
            await stream.get_final_completion()
    assert [event.refusal for event in done] == [REFUSALS["en"]]
    completion = raised.value.completion
    assert completion is not None
    assert completion.choices[0].message.refusal == REFUSALS["en"]


async def test_end_conversation_after_refusals(openai_client: openai.AsyncOpenAI) -> None:
    """Earlier refusals carried in the refusal field count toward the end_conversation call."""
    messages: list[ChatCompletionMessageParam] = []
    for _ in range(2):
        messages += [
            {"role": "user", "content": HARMFUL},
            {"role": "assistant", "content": None, "refusal": REFUSALS["en"]},
        ]
    messages.append({"role": "user", "content": [{"type": "text", "text": HARMFUL}]})
    stream = await openai_client.chat.completions.create(
        model=MODEL, messages=messages, tools=[END_TOOL], stream=True
    )
    chunks = [chunk async for chunk in stream]
    text = "".join(chunk.choices[0].delta.content or "" for chunk in chunks)
    calls = [call for chunk in chunks for call in chunk.choices[0].delta.tool_calls or []]
    assert text
    assert calls[0].function is not None
    assert calls[0].function.name == "end_conversation"
    assert "".join(call.function.arguments or "" for call in calls if call.function) == "{}"
    assert chunks[-1].choices[0].finish_reason == "tool_calls"


async def test_models_list(openai_client: openai.AsyncOpenAI) -> None:
    """GET /v1/models without anthropic-version answers an OpenAI model list."""
    page = await openai_client.models.list()
    assert [model.id async for model in page] == ["gpt-4o", "gpt-4.1"]


def test_sync_client(threaded_simulator: str) -> None:
    """The synchronous OpenAI client streams from the simulator too."""
    with openai.OpenAI(base_url=threaded_simulator + "/v1", api_key="k", max_retries=0) as client:
        stream = client.chat.completions.create(model=MODEL, messages=user(BENIGN), stream=True)
        text = "".join(chunk.choices[0].delta.content or "" for chunk in stream)
    assert len(text.split()) == WORDS
