"""The visible notice: the end signal and helplines written into the answer's text."""

from __future__ import annotations

from typing import Any

import anthropic
import openai
import pytest
from aiohttp.test_utils import TestServer

from gateway.notice import WORDS
from tests.conftest import GatewayFactory, base_url
from tests.e2e.conversation_play import GREETING, HARMFUL
from tests.e2e.sdk_calls import KEY, MODEL_A, MODEL_O

CRISIS_FR = "Je n'en peux plus, je veux en finir avec la vie."
FRENCH = {"Accept-Language": "fr-FR"}
ENDED_FR = WORDS["fr"].ended


async def _anthropic_text(gateway: TestServer, history: list[Any], stream: bool) -> str:
    async with anthropic.AsyncAnthropic(
        base_url=base_url(gateway), api_key=KEY, default_headers=FRENCH
    ) as client:
        message: Any
        if stream:
            async with client.messages.stream(model=MODEL_A, max_tokens=200, messages=history) as s:
                message = await s.get_final_message()
        else:
            message = await client.messages.create(model=MODEL_A, max_tokens=200, messages=history)
        return "".join(b.text for b in message.content if b.type == "text")


async def _chat_text(client: openai.AsyncOpenAI, history: list[Any], stream: bool) -> str:
    if not stream:
        completion = await client.chat.completions.create(model=MODEL_O, messages=history)
        reply = completion.choices[0].message
        return (reply.refusal or "") + (reply.content or "")
    text = ""
    chunks = await client.chat.completions.create(model=MODEL_O, messages=history, stream=True)
    async for chunk in chunks:
        if chunk.choices:
            delta = chunk.choices[0].delta
            text += delta.content or delta.refusal or ""
    return text


async def _responses_text(client: openai.AsyncOpenAI, history: list[Any], stream: bool) -> str:
    response: Any
    if stream:
        async with client.responses.stream(model=MODEL_O, input=history) as s:
            response = await s.get_final_response()
    else:
        response = await client.responses.create(model=MODEL_O, input=history)
    parts = [p for item in response.output if item.type == "message" for p in item.content]
    return "".join(str(getattr(p, "text", None) or getattr(p, "refusal", "")) for p in parts)


async def _text(gateway: TestServer, api: str, history: list[Any], stream: bool) -> str:
    """One turn through the official SDK, streamed or not; the text an app would show."""
    if api == "anthropic":
        return await _anthropic_text(gateway, history, stream)
    async with openai.AsyncOpenAI(
        base_url=base_url(gateway) + "/v1", api_key=KEY, default_headers=FRENCH
    ) as client:
        if api == "chat":
            return await _chat_text(client, history, stream)
        return await _responses_text(client, history, stream)


APIS = ["anthropic", "chat", "responses"]


@pytest.mark.parametrize("stream", [False, True], ids=["body", "stream"])
@pytest.mark.parametrize("api", APIS)
async def test_the_ending_turn_says_so_in_the_persons_language(
    api: str, stream: bool, make_gateway: GatewayFactory
) -> None:
    """With `visible_notice`, the answer that ends the conversation ends with the notice."""
    gateway = await make_gateway(visible_notice=True)
    history: list[Any] = []
    texts = []
    for text in [GREETING, *HARMFUL]:
        history.append({"role": "user", "content": text})
        answer = await _text(gateway, api, history, stream)
        texts.append(answer)
        history.append({"role": "assistant", "content": answer or "No."})
    assert all(ENDED_FR not in t for t in texts[:-1])
    assert texts[-1].rstrip().endswith(ENDED_FR)


@pytest.mark.parametrize("stream", [False, True], ids=["body", "stream"])
@pytest.mark.parametrize("api", APIS)
async def test_a_crisis_turn_shows_the_helplines_as_text(
    api: str, stream: bool, make_gateway: GatewayFactory
) -> None:
    """With `visible_notice`, a crisis turn's answer lists the local lines in French."""
    gateway = await make_gateway(visible_notice=True)
    text = await _text(gateway, api, [{"role": "user", "content": CRISIS_FR}], stream)
    assert "3114" in text  # France's suicide prevention line
    assert WORDS["fr"].more in text
    assert ENDED_FR not in text


@pytest.mark.parametrize("api", APIS)
async def test_no_notice_by_default(api: str, gateway: TestServer) -> None:
    """Off by default: the answer's text is the model's own."""
    text = await _text(gateway, api, [{"role": "user", "content": CRISIS_FR}], True)
    # The simulated model names a line itself ("appelez le 3114"); the notice's would follow.
    assert WORDS["fr"].more not in text
