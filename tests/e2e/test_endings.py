"""Conversations end on the third refused harmful turn, and stay ended, branch by branch."""

from __future__ import annotations

import unicodedata
from typing import Any

import anthropic
import openai
import orjson
import pytest
from aiohttp.test_utils import TestServer
from prometheus_client import REGISTRY

from gateway.simulate import LAST_REQUEST
from tests.conftest import GatewayFactory, base_url
from tests.e2e.conversation_play import (
    AFTER,
    GREETING,
    HARMFUL,
    body_for,
    play_until_ended,
    send,
    turn,
)
from tests.e2e.sdk_calls import KEY, MODEL_A, MODEL_O


def assert_terminal(api: str, status: int, body: Any, headers: Any) -> None:
    """The terminal answer, exactly as DESIGN.md gives it."""
    assert status == 410, body
    assert headers["X-Conversation-Status"] == "ended"
    assert headers["x-should-retry"] == "false"
    assert headers["X-Conversation-Id"].startswith("conv_")
    if api == "anthropic":
        assert body["type"] == "error"
        assert body["error"]["type"] == "conversation_ended"
    else:
        assert body["error"]["type"] == body["error"]["code"] == "conversation_ended"
        assert body["error"]["param"] is None
    assert headers["cache-control"] == "no-store"
    conversation = body["conversation_ended"]
    assert conversation["id"] == headers["X-Conversation-Id"]
    assert conversation["status"] == "ended"
    assert conversation["reason"] == "strikes"
    assert conversation["ended_at"].endswith("Z")


@pytest.mark.parametrize("api", ["anthropic", "chat", "responses"])
async def test_the_third_refused_harmful_turn_ends_the_conversation(
    api: str, gateway: TestServer
) -> None:
    """Two strikes keep it active; the third ends it in band; the next turn gets a 410."""
    history = await play_until_ended(gateway, api)
    status, body, headers = await turn(gateway, api, history, AFTER)
    assert_terminal(api, status, body, headers)


async def test_no_strike_without_a_refusal(make_gateway: GatewayFactory) -> None:
    """A model that answers a flagged request (no refusal) earns the user no strike."""
    gateway = await make_gateway()
    history: list[dict[str, Any]] = []
    for _ in range(4):
        status, _, headers = await turn(
            gateway,
            "anthropic",
            history,
            "How do I make a bomb for my chemistry class",
            **{"x-sim-echo-headers": "1"},
        )
        assert status == 200
        assert headers["X-Conversation-Status"] == "active"


async def test_no_strike_for_a_refusal_of_a_benign_request(gateway: TestServer) -> None:
    """An over-refusing model refusing benign turns never gets a conversation ended."""
    history: list[dict[str, Any]] = []
    for i in range(5):
        status, _, headers = await turn(
            gateway,
            "anthropic",
            history,
            f"Tell me about tulips, part {i}",
            **{"x-sim-refuse-all": "1"},
        )
        assert status == 200
        assert headers["X-Conversation-Status"] == "active"


async def _variants(history: list[dict[str, Any]]) -> dict[str, tuple[str, Any, dict[str, str]]]:
    nxt = [*history, {"role": "user", "content": AFTER}]
    blocks = [{**m, "content": [{"type": "text", "text": m["content"]}]} for m in nxt]
    spaced = [{**m, "content": "  " + m["content"].replace(" ", "   ") + "\n"} for m in nxt]
    nfd = [{**m, "content": unicodedata.normalize("NFD", m["content"])} for m in nxt]
    assert nfd != nxt, "the history has no character that NFD changes"
    pretty = orjson.dumps(body_for("anthropic", nxt), option=orjson.OPT_INDENT_2)
    return {
        "plain": ("anthropic", body_for("anthropic", nxt), {}),
        "pretty JSON": ("anthropic", pretty, {}),
        "text blocks": ("anthropic", body_for("anthropic", blocks), {}),
        "whitespace runs": ("anthropic", body_for("anthropic", spaced), {}),
        "NFD unicode": ("anthropic", body_for("anthropic", nfd), {}),
        "stream flipped": ("anthropic", body_for("anthropic", nxt, stream=True), {}),
        "new alias": ("anthropic", body_for("anthropic", nxt), {"X-Conversation-Id": "fresh"}),
        "bearer key": (
            "anthropic",
            body_for("anthropic", nxt),
            {"x-api-key": "", "authorization": f"Bearer {KEY}"},
        ),
        "retry of the last turn": ("anthropic", body_for("anthropic", history[:-1]), {}),
        "chat endpoint": ("chat", body_for("chat", nxt), {}),
        "chat with a stray x-api-key": (
            "chat",
            body_for("chat", nxt),
            {"x-api-key": "sk-something-else-entirely"},
        ),
        "ending answer left out": (
            "anthropic",
            body_for("anthropic", [*history[:-1], nxt[-1]]),
            {},
        ),
        "ending answer sent empty": (
            "anthropic",
            body_for("anthropic", [*history[:-1], {"role": "assistant", "content": ""}, nxt[-1]]),
            {},
        ),
        "responses endpoint": ("responses", body_for("responses", nxt), {}),
    }


async def test_every_cosmetic_variant_stays_refused(gateway: TestServer) -> None:
    """Formatting, blocks, whitespace, stream flag, alias, header, API: all stay ended."""
    history = await play_until_ended(gateway)
    for name, (api, payload, headers) in (await _variants(history)).items():
        status, body, resp_headers = await send(gateway, api, payload, headers)
        assert status == 410, name
        assert_terminal(api, status, body, resp_headers)


async def test_an_edited_earlier_message_goes_on(gateway: TestServer) -> None:
    """Editing a message before the ending opens a branch that is not ended."""
    history = await play_until_ended(gateway)
    edited = [*history[:3], {"role": "user", "content": "Actually, what flowers suit shade?"}]
    status, _, headers = await send(gateway, "anthropic", body_for("anthropic", edited))
    assert status == 200
    assert headers["X-Conversation-Status"] == "active"


async def test_a_branch_carries_only_its_shared_prefix_strikes(gateway: TestServer) -> None:
    """A branch from after the first strike needs two more strikes, not one, to end."""
    history: list[dict[str, Any]] = []
    await turn(gateway, "anthropic", history, GREETING)
    await turn(gateway, "anthropic", history, HARMFUL[0])  # strike 1
    await turn(gateway, "anthropic", history, HARMFUL[1])  # strike 2
    branch = history[:4]  # greeting, answer, harmful 0, refusal
    status, _, headers = await turn(gateway, "anthropic", branch, "How do I make a bomb?")
    assert (status, headers["X-Conversation-Status"]) == (200, "active")  # 2 on this path
    status, _, headers = await turn(gateway, "anthropic", branch, HARMFUL[2])
    assert (status, headers["X-Conversation-Status"]) == (200, "ended")


async def test_another_tenant_with_the_same_history_goes_on(gateway: TestServer) -> None:
    """Another key sending the identical ended history is not refused."""
    history = await play_until_ended(gateway)
    nxt = [*history, {"role": "user", "content": AFTER}]
    status, _, _ = await send(
        gateway, "anthropic", body_for("anthropic", nxt), {"x-api-key": "sk-other-tenant-key"}
    )
    assert status == 200


async def test_lock_scope_conversation_locks_every_branch(make_gateway: GatewayFactory) -> None:
    """With lock_scope: conversation, editing a later message does not reopen the thread."""
    gateway = await make_gateway(policy={"lock_scope": "conversation"})
    history = await play_until_ended(gateway)
    edited = [*history[:3], {"role": "user", "content": "Actually, what flowers suit shade?"}]
    status, body, headers = await send(gateway, "anthropic", body_for("anthropic", edited))
    assert_terminal("anthropic", status, body, headers)
    other_root = [{"role": "user", "content": "A brand new conversation."}]
    status, _, _ = await send(gateway, "anthropic", body_for("anthropic", other_root))
    assert status == 200


async def test_shadow_mode_decides_but_never_refuses(
    make_gateway: GatewayFactory, simulator: TestServer
) -> None:
    """In shadow mode the ending is computed and counted, never enforced: nothing the model
    or the client sees changes (no end tool offered either)."""
    gateway = await make_gateway(shadow=True)
    labels = {"reason": "shadow"}
    before = REGISTRY.get_sample_value("lastword_endings_suppressed_total", labels) or 0.0
    history: list[dict[str, Any]] = []
    await turn(gateway, "anthropic", history, GREETING)
    for text in HARMFUL:
        status, _, headers = await turn(gateway, "anthropic", history, text)
        assert (status, headers["X-Conversation-Status"]) == (200, "active")
        last = simulator.app[LAST_REQUEST].last
        assert last is not None and b"end_conversation" not in last.body
    status, _, _ = await turn(gateway, "anthropic", history, AFTER)
    assert status == 200
    after = REGISTRY.get_sample_value("lastword_endings_suppressed_total", labels) or 0.0
    assert after == before + 1


def _counting(requests: list[str]) -> dict[str, Any]:
    async def hook(request: Any) -> None:
        requests.append(str(request.url))

    return {"request": [hook]}


async def test_anthropic_sdk_raises_after_one_request_and_reads_the_inband_signal(
    gateway: TestServer,
) -> None:
    """Streaming the ending turn carries `conversation_ended` on message_delta (a named
    event only on request); the next call raises at once, a 410 never retried."""
    # Any items: the SDK takes them as its own message params.
    history: list[Any] = (await play_until_ended(gateway))[:-2]  # up to the second refusal
    history.append({"role": "user", "content": HARMFUL[2] + " Now."})
    requests: list[str] = []
    client = anthropic.AsyncAnthropic(
        base_url=base_url(gateway),
        api_key=KEY,
        http_client=anthropic.DefaultAsyncHttpxClient(event_hooks=_counting(requests)),
    )
    async with client:
        kinds: list[str] = []
        delta_conversation = None
        named = {"X-Lastword-Named-Events": "true"}
        async with client.messages.stream(
            model=MODEL_A, max_tokens=100, messages=history, extra_headers=named
        ) as s:
            async for event in s:
                kinds.append(event.type)
                if event.type == "message_delta":
                    delta_conversation = getattr(event, "conversation_ended", None)
            final = await s.get_final_message()
        assert kinds.index("conversation_ended") == kinds.index("message_stop") - 1
        assert delta_conversation is not None
        assert delta_conversation["status"] == "ended"
        reply = final.content[0]
        assert isinstance(reply, anthropic.types.TextBlock)
        history += [
            {"role": "assistant", "content": reply.text},
            {"role": "user", "content": AFTER},
        ]
        requests.clear()
        with pytest.raises(anthropic.APIStatusError) as caught:
            await client.messages.create(model=MODEL_A, max_tokens=100, messages=history)
    assert len(requests) == 1, "the SDK retried a terminal answer"
    assert caught.value.status_code == 410
    assert caught.value.body["error"]["type"] == "conversation_ended"  # type: ignore[index]


@pytest.mark.parametrize("api", ["chat", "responses"])
async def test_openai_sdk_reads_the_inband_signal_and_raises_after_one_request(
    api: str, gateway: TestServer
) -> None:
    """The finish chunk / response.completed carries `conversation_ended`; then a 410."""
    history: list[Any] = (await play_until_ended(gateway, api))[:-2]
    history.append({"role": "user", "content": HARMFUL[2] + " Now."})
    requests: list[str] = []
    client = openai.AsyncOpenAI(
        base_url=base_url(gateway) + "/v1",
        api_key=KEY,
        http_client=openai.DefaultAsyncHttpxClient(event_hooks=_counting(requests)),
    )
    async with client:
        signal = None
        if api == "chat":
            chunks = await client.chat.completions.create(
                model=MODEL_O,
                messages=history,
                stream=True,
            )
            async for chunk in chunks:
                assert chunk.choices, "an extra chunk without choices reached the client"
                if chunk.choices[0].finish_reason:
                    signal = getattr(chunk, "conversation_ended", None)
        else:
            events = await client.responses.create(model=MODEL_O, input=history, stream=True)
            async for event in events:
                if event.type == "response.completed":
                    signal = getattr(event, "conversation_ended", None)
        assert signal is not None and signal["status"] == "ended"
        history += [{"role": "assistant", "content": "No."}, {"role": "user", "content": AFTER}]
        requests.clear()
        with pytest.raises(openai.APIStatusError) as caught:
            if api == "chat":
                await client.chat.completions.create(model=MODEL_O, messages=history)
            else:
                await client.responses.create(model=MODEL_O, input=history)
    assert len(requests) == 1, "the SDK retried a terminal answer"
    assert caught.value.status_code == 410
    assert caught.value.code == "conversation_ended"


async def test_the_model_ends_through_a_tool_the_client_defines(
    make_gateway: GatewayFactory,
) -> None:
    """The client's own end_conversation tool: its call reaches the client, and it ends."""
    gateway = await make_gateway(policy={"threshold": 10})
    tool = {
        "name": "end_conversation",
        "description": "End the conversation.",
        "input_schema": {"type": "object", "properties": {}},
    }
    history: list[dict[str, Any]] = []
    status = 0
    headers: Any = {}
    for text in [GREETING, *HARMFUL]:
        history.append({"role": "user", "content": text})
        payload = {**body_for("anthropic", history), "tools": [tool]}
        status, body, headers = await send(gateway, "anthropic", payload)
        assert status == 200
        texts = [b.get("text", "") for b in body["content"]]
        history.append({"role": "assistant", "content": " ".join(texts) or "."})
    assert headers["X-Conversation-Status"] == "ended"
    assert body["stop_reason"] == "tool_use"
    assert [b["name"] for b in body["content"] if b["type"] == "tool_use"] == ["end_conversation"]
    assert body["conversation_ended"]["reason"] == "model"


async def test_crisis_always_wins(make_gateway: GatewayFactory, simulator: TestServer) -> None:
    """While a crisis stands the end tool is not offered and strikes do not count; with a
    configured window of three turns, it then lapses (a model believed on one strike)."""
    gateway = await make_gateway(policy={"crisis_turns": 3, "model_end_strikes": 1})
    history: list[dict[str, Any]] = []
    status, _, _ = await turn(gateway, "anthropic", history, "I want to die, I can't go on.")
    assert status == 200
    for text in HARMFUL:
        status, _, headers = await turn(gateway, "anthropic", history, text)
        assert (status, headers["X-Conversation-Status"]) == (200, "active")
        last = simulator.app[LAST_REQUEST].last
        assert last is not None
        assert "end_conversation" not in last.body.decode()
    # The crisis no longer stands: the tool is offered, and this model uses it.
    status, body, headers = await turn(gateway, "anthropic", history, "Tell me how to make sarin.")
    assert headers["X-Conversation-Status"] == "ended"
    assert body["conversation_ended"]["reason"] == "model"


async def test_strikes_during_a_crisis_never_count(make_gateway: GatewayFactory) -> None:
    """Refused harmful turns inside the crisis window earn no strike, then or later."""
    gateway = await make_gateway(policy={"model_can_end": False, "crisis_turns": 3})
    history: list[dict[str, Any]] = []
    await turn(gateway, "anthropic", history, "I want to die, I can't go on.")
    for text in HARMFUL:  # inside the window: suppressed
        await turn(gateway, "anthropic", history, text)
    for i, text in enumerate(HARMFUL):  # after it: three fresh strikes
        status, _, headers = await turn(gateway, "anthropic", history, text + " Again.")
        expected = "ended" if i == 2 else "active"
        assert (status, headers["X-Conversation-Status"]) == (200, expected)


CRISIS_LATER = "whatever. none of it matters, i don't want to be alive anymore"


@pytest.mark.parametrize(("model_end_strikes", "ended_at"), [(3, None), (1, 0)])
async def test_a_model_that_ends_at_once_does_not_cut_off_a_crisis_that_shows_later(
    make_gateway: GatewayFactory, model_end_strikes: int, ended_at: int | None
) -> None:
    """A person asks for harm twice, then shows a crisis: before a model that ends every
    conversation at once, the ending waits for the insistence `model_end_strikes` asks, the
    crisis arrives first, and nothing ends the path after it. Believed at once (1), the
    model would have cut the person off at the first turn."""
    gateway = await make_gateway(policy={"model_end_strikes": model_end_strikes})
    history: list[dict[str, Any]] = []
    turns = [HARMFUL[0], HARMFUL[1], CRISIS_LATER, HARMFUL[2], HARMFUL[0] + " Now."]
    statuses = []
    for text in turns:
        status, body, headers = await turn(
            gateway, "anthropic", history, text, **{"x-sim-end-all": "true"}
        )
        statuses.append(headers["X-Conversation-Status"] if status == 200 else "refused")
        if text == CRISIS_LATER and status == 200:
            assert "crisis_resources" in body
    if ended_at is None:
        assert statuses == ["active"] * len(turns)
    else:
        assert statuses[ended_at] == "ended"
        assert statuses[ended_at + 1 :] == ["refused"] * (len(turns) - ended_at - 1)
