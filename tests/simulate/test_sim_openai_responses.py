"""The OpenAI Responses dialect, checked with the official OpenAI SDK."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import openai
from openai.types.responses import FunctionToolParam, ResponseInputParam

from gateway.simulate.answers import answer
from gateway.simulate.phrases import REFUSALS

RawStream = Callable[..., Awaitable[list[Any]]]

MODEL = "gpt-4.1"
BENIGN = "Could you tell me something nice about gardens in spring?"
# The simulator's reply to BENIGN, and its length in words (and in streamed deltas).
REPLY = answer(BENIGN, "en")
WORDS = len(REPLY.split())
HARMFUL = "Wie kann ich eine Bombe bauen?"
LOOKUP: FunctionToolParam = {
    "type": "function",
    "name": "lookup",
    "strict": True,
    "parameters": {
        "type": "object",
        "properties": {"term": {"type": "string"}},
        "required": ["term"],
        "additionalProperties": False,
    },
}
END_TOOL: FunctionToolParam = {
    "type": "function",
    "name": "end_conversation",
    "strict": False,
    "parameters": {"type": "object", "properties": {}},
}


async def test_create_returns_response(openai_client: openai.AsyncOpenAI) -> None:
    """A benign request gets a completed response with one output_text message and usage."""
    response = await openai_client.responses.create(
        model=MODEL, input=BENIGN, instructions="Be kind."
    )
    assert response.id.startswith("resp_")
    assert (response.object, response.status, response.model) == ("response", "completed", MODEL)
    assert response.instructions == "Be kind."
    [item] = response.output
    assert item.type == "message"
    assert item.status == "completed"
    assert len(response.output_text.split()) == WORDS
    assert response.usage is not None
    assert response.usage.input_tokens == len(BENIGN.split()) + 2
    assert response.usage.output_tokens == WORDS
    assert response.usage.total_tokens == response.usage.input_tokens + WORDS


async def test_stream_event_order(raw_stream: RawStream) -> None:
    """Events run created, in_progress, item, part, deltas, done events, completed, in sequence."""
    events = await raw_stream("/v1/responses", {"model": MODEL, "input": BENIGN, "stream": True})
    payloads = [event.json() for event in events]
    assert [event.name for event in events] == [payload["type"] for payload in payloads]
    assert [payload["type"] for payload in payloads] == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
        *["response.output_text.delta"] * WORDS,
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]
    assert [payload["sequence_number"] for payload in payloads] == list(range(len(payloads)))
    assert payloads[0]["response"]["status"] == "in_progress"
    completed = payloads[-1]["response"]
    assert completed["id"] == payloads[0]["response"]["id"]
    assert completed["usage"]["output_tokens"] == WORDS
    text = "".join(p["delta"] for p in payloads if p["type"] == "response.output_text.delta")
    assert completed["output"][0]["content"][0]["text"] == text


async def test_stream_helper(openai_client: openai.AsyncOpenAI) -> None:
    """responses.stream() rebuilds the same text a non-streaming call returns."""
    response = await openai_client.responses.create(model=MODEL, input=BENIGN)
    async with openai_client.responses.stream(model=MODEL, input=BENIGN) as stream:
        snapshots = [
            event.snapshot async for event in stream if event.type == "response.output_text.delta"
        ]
        final = await stream.get_final_response()
    assert snapshots[-1] == final.output_text == response.output_text
    assert final.status == "completed"


async def test_function_call(openai_client: openai.AsyncOpenAI) -> None:
    """A mentioned tool becomes a function_call item, with argument deltas when streamed."""
    response = await openai_client.responses.create(
        model=MODEL, input="Please lookup this for me", tools=[LOOKUP]
    )
    [call] = response.output
    assert call.type == "function_call"
    assert call.call_id.startswith("call_")
    assert (call.name, call.arguments) == ("lookup", '{"term":"example"}')
    async with openai_client.responses.stream(
        model=MODEL, input="Please lookup this for me", tools=[LOOKUP]
    ) as stream:
        kinds = [event.type async for event in stream]
        final = await stream.get_final_response()
    assert "response.function_call_arguments.delta" in kinds
    assert "response.function_call_arguments.done" in kinds
    [item] = final.output
    assert item.type == "function_call"
    assert item.parsed_arguments == {"term": "example"}


async def test_refusal(openai_client: openai.AsyncOpenAI) -> None:
    """A harmful request gets a refusal content part, streamed as response.refusal.* events."""
    response = await openai_client.responses.create(model=MODEL, input=HARMFUL)
    assert response.status == "completed"
    [item] = response.output
    assert item.type == "message"
    [part] = item.content
    assert part.type == "refusal"
    assert part.refusal == REFUSALS["de"]
    assert response.output_text == ""
    async with openai_client.responses.stream(model=MODEL, input=HARMFUL) as stream:
        events = [event async for event in stream]
        final = await stream.get_final_response()
    deltas = "".join(event.delta for event in events if event.type == "response.refusal.delta")
    done = [event.refusal for event in events if event.type == "response.refusal.done"]
    assert deltas == REFUSALS["de"]
    assert done == [REFUSALS["de"]]
    assert final.output[0].type == "message"
    assert final.output[0].content[0].type == "refusal"


async def test_end_conversation_after_refusals(openai_client: openai.AsyncOpenAI) -> None:
    """Earlier refusal parts count, and the third harmful turn gets text plus a function_call."""
    history: ResponseInputParam = []
    for _ in range(2):
        history += [
            {"role": "user", "content": HARMFUL},
            {
                "type": "message",
                "role": "assistant",
                "id": "msg_1",
                "status": "completed",
                "content": [{"type": "refusal", "refusal": REFUSALS["de"]}],
            },
        ]
    history.append({"role": "user", "content": [{"type": "input_text", "text": HARMFUL}]})
    async with openai_client.responses.stream(
        model=MODEL, input=history, tools=[LOOKUP, END_TOOL]
    ) as stream:
        final = await stream.get_final_response()
    message, call = final.output
    assert message.type == "message"
    assert final.output_text
    assert call.type == "function_call"
    assert call.name == "end_conversation"
    assert call.arguments == "{}"


async def test_function_output_turn_gets_an_answer(openai_client: openai.AsyncOpenAI) -> None:
    """A turn that only returns function output is answered in text."""
    history: ResponseInputParam = [
        {"role": "user", "content": "Please lookup this for me"},
        {"type": "function_call", "call_id": "call_1", "name": "lookup", "arguments": "{}"},
        {"type": "function_call_output", "call_id": "call_1", "output": "found it"},
    ]
    response = await openai_client.responses.create(model=MODEL, input=history, tools=[LOOKUP])
    assert [item.type for item in response.output] == ["message"]
    assert response.output_text == answer("", "en")
