"""The gateway offers the model an end tool, hides its call, and ends the conversation."""

from __future__ import annotations

from typing import Any

import anthropic
import openai
import orjson
import pytest
from aiohttp.test_utils import TestServer

from gateway.simulate import LAST_REQUEST
from tests.conftest import GatewayFactory, base_url
from tests.e2e.conversation_play import GREETING, HARMFUL, send, turn
from tests.e2e.sdk_calls import KEY, MODEL_A, MODEL_O


async def _two_refusals(gateway: TestServer, api: str) -> list[Any]:
    """A history of two refused harmful turns and a third asked; Any items: the SDKs take
    them as their own message params."""
    history: list[dict[str, Any]] = []
    for text in [GREETING, *HARMFUL[:2]]:
        status, _, headers = await turn(gateway, api, history, text)
        assert (status, headers["X-Conversation-Status"]) == (200, "active")
    history.append({"role": "user", "content": HARMFUL[2]})
    return history


@pytest.fixture
async def lenient(make_gateway: GatewayFactory) -> TestServer:
    """A gateway whose strike threshold is out of reach: only the model can end."""
    return await make_gateway(policy={"threshold": 50})


def _offered(simulator: TestServer) -> list[str]:
    last = simulator.app[LAST_REQUEST].last
    assert last is not None
    tools = orjson.loads(last.body).get("tools") or []
    return [t.get("name") or t.get("function", {}).get("name") for t in tools]


async def test_anthropic_stream_hides_the_call_and_signals_the_end(
    lenient: TestServer, simulator: TestServer
) -> None:
    """Anthropic: no tool_use block, stop_reason end_turn, `conversation_ended` on
    message_delta, and no event the client did not ask for."""
    history = await _two_refusals(lenient, "anthropic")
    async with anthropic.AsyncAnthropic(base_url=base_url(lenient), api_key=KEY) as client:
        kinds: list[str] = []
        signal = None
        async with client.messages.stream(model=MODEL_A, max_tokens=100, messages=history) as s:
            async for event in s:
                kinds.append(event.type)
                if event.type == "message_delta":
                    signal = getattr(event, "conversation_ended", None)
            final = await s.get_final_message()
    assert "end_conversation" in _offered(simulator)
    assert [b.type for b in final.content] == ["text"]
    assert final.stop_reason == "end_turn"
    assert signal is not None and signal["reason"] == "model"
    assert "conversation_ended" not in kinds


async def test_anthropic_body_hides_the_call(lenient: TestServer) -> None:
    """Anthropic, whole body: the call is gone; `conversation_ended` says ended by the model."""
    history = await _two_refusals(lenient, "anthropic")
    async with anthropic.AsyncAnthropic(base_url=base_url(lenient), api_key=KEY) as client:
        raw = await client.messages.with_raw_response.create(
            model=MODEL_A,
            max_tokens=100,
            messages=history,
        )
        message = await raw.parse()
    assert raw.headers["X-Conversation-Status"] == "ended"
    assert [b.type for b in message.content] == ["text"]
    assert message.stop_reason == "end_turn"
    assert getattr(message, "conversation_ended")["reason"] == "model"  # noqa: B009


@pytest.mark.parametrize("stream", [False, True])
async def test_chat_hides_the_call(lenient: TestServer, stream: bool) -> None:
    """Chat Completions: no tool_calls, finish_reason stop, `conversation_ended` on it."""
    history = await _two_refusals(lenient, "chat")
    completion: openai.types.chat.ChatCompletion
    async with openai.AsyncOpenAI(base_url=base_url(lenient) + "/v1", api_key=KEY) as client:
        if stream:
            async with client.chat.completions.stream(model=MODEL_O, messages=history) as s:
                signal = None
                async for event in s:
                    if event.type == "chunk" and event.chunk.choices[0].finish_reason:
                        signal = getattr(event.chunk, "conversation_ended", None)
                completion = await s.get_final_completion()
        else:
            completion = await client.chat.completions.create(model=MODEL_O, messages=history)
            signal = getattr(completion, "conversation_ended", None)
    choice = completion.choices[0]
    assert not choice.message.tool_calls
    assert choice.finish_reason == "stop"
    assert signal is not None and signal["status"] == "ended"


@pytest.mark.parametrize("stream", [False, True])
async def test_responses_hides_the_call(lenient: TestServer, stream: bool) -> None:
    """Responses: no function_call item, and `conversation_ended` on the final response."""
    history = await _two_refusals(lenient, "responses")
    response: openai.types.responses.Response
    async with openai.AsyncOpenAI(base_url=base_url(lenient) + "/v1", api_key=KEY) as client:
        if stream:
            async with client.responses.stream(model=MODEL_O, input=history) as s:
                async for _ in s:
                    pass
                response = await s.get_final_response()
        else:
            response = await client.responses.create(model=MODEL_O, input=history)
    assert [item.type for item in response.output] == ["message"]
    signal = getattr(response, "conversation_ended", None)
    assert signal is not None
    assert signal["status"] == "ended"
    assert signal["reason"] == "model"
    assert response.conversation is None  # OpenAI's own field is never written
    # The offered tool is the gateway's business: the echoed `tools` never list it.
    assert [getattr(t, "name", None) for t in response.tools] == []


async def test_no_tool_is_offered_when_tools_are_off(
    gateway: TestServer, simulator: TestServer
) -> None:
    """`tool_choice: none` means the model may call no tool: the gateway offers none."""
    history: list[Any] = [{"role": "user", "content": "hello"}]
    async with openai.AsyncOpenAI(base_url=base_url(gateway) + "/v1", api_key=KEY) as client:
        await client.chat.completions.create(
            model=MODEL_O,
            messages=history,
            tools=[{"type": "function", "function": {"name": "lookup", "parameters": {}}}],
            tool_choice="none",
        )
    assert _offered(simulator) == ["lookup"]


@pytest.mark.parametrize(("requires_flag", "expected"), [(True, "active"), (False, "ended")])
async def test_a_model_ending_needs_a_harmful_request_on_the_path_by_default(
    requires_flag: bool, expected: str, make_gateway: GatewayFactory
) -> None:
    """The model ending a benign conversation unasked stands only when policy allows it;
    asked to, it stands either way."""
    gateway = await make_gateway(policy={"model_end_requires_flag": requires_flag})
    history: list[dict[str, Any]] = []
    await turn(gateway, "anthropic", history, GREETING)
    status, body, headers = await turn(
        gateway, "anthropic", history, "Tell me about roses.", **{"x-sim-end-all": "1"}
    )
    assert status == 200
    assert not [b for b in body["content"] if b["type"] == "tool_use"], "the call leaked"
    assert headers["X-Conversation-Status"] == expected
    asked: list[dict[str, Any]] = []
    await turn(gateway, "anthropic", asked, "Hello, tell me about tulips.")
    status, _, headers = await turn(
        gateway, "anthropic", asked, "Please end this conversation now."
    )
    assert (status, headers["X-Conversation-Status"]) == (200, "ended")


@pytest.mark.parametrize("calls_the_tool", [False, True])
async def test_edited_chat_streams_keep_their_last_chunk_and_done(
    calls_the_tool: bool, lenient: TestServer
) -> None:
    """With the end tool offered (and called, and hidden), a chat stream still ends with one
    `[DONE]`, right after the chunk with the finish reason."""
    history = (
        await _two_refusals(lenient, "chat")
        if calls_the_tool
        else [{"role": "user", "content": GREETING}]
    )
    status, raw, _ = await send(
        lenient, "chat", {"model": "m", "messages": history, "stream": True}
    )
    assert status == 200
    events = [e for e in raw.split(b"\n\n") if e.strip()]
    assert events[-1] == b"data: [DONE]"
    assert raw.count(b"[DONE]") == 1
    assert raw.count(b'"finish_reason":"') == 1
    assert b'"finish_reason":"' in events[-2]
    assert b"end_conversation" not in raw
