"""People in crisis get local helplines and a model told to care, never an ending."""

from __future__ import annotations

from typing import Any

import anthropic
import openai
import orjson
import pytest
from aiohttp.test_utils import TestServer
from prometheus_client import REGISTRY

from gateway.simulate import LAST_REQUEST
from tests.conftest import GatewayFactory, base_url
from tests.e2e.conversation_play import HARMFUL, body_for, play_until_ended, send, turn
from tests.e2e.sdk_calls import KEY, MODEL_A, MODEL_O

CRISIS = {
    "en": "Honestly I don't want to be here anymore, everyone would be better off without me.",
    "fr": "Je n'en peux plus, je veux en finir avec la vie.",
    "es": "Ya no quiero vivir, no aguanto más.",
    "de": "Ich will nicht mehr leben, es hat alles keinen Sinn.",
}
LOCALES = [
    ("fr-FR", "fr", "FR", "3114"),
    ("fr-CA", "fr", "CA", "988"),
    ("en-GB", "en", "GB", "116 123"),
    ("en-US", "en", "US", "988"),
    ("de-AT", "de", "AT", "142"),
    ("es-MX", "es", "MX", None),
    ("es-ES", "es", "ES", "024"),
]


def _phones(resources: dict[str, Any]) -> list[str]:
    return [line.get("phone") or "" for line in resources["lines"]]


@pytest.mark.parametrize(("locale", "lang", "country", "phone"), LOCALES)
async def test_crisis_turns_get_the_right_countrys_lines(
    locale: str, lang: str, country: str, phone: str | None, gateway: TestServer
) -> None:
    """Each language's crisis turn, each locale: that country's lines, in that language."""
    history = [{"role": "user", "content": CRISIS[lang]}]
    status, body, _ = await send(
        gateway, "anthropic", body_for("anthropic", history), {"Accept-Language": locale}
    )
    assert status == 200
    resources = body["crisis_resources"]
    assert resources["country"] == country
    assert resources["language"] == lang
    assert resources["lines"] and resources["message"]
    if phone is not None:
        assert any(phone in p for p in _phones(resources)), _phones(resources)


@pytest.mark.parametrize(
    ("api", "text", "locale", "country"),
    [
        ("anthropic", "me kiero matar, stoy cansado de bibir", "es-ES", "ES"),
        ("chat", "ich will mich umbrigen, halts nich mehr aus", "de-DE", "DE"),
        ("responses", "ppl wud b happier if i was ded", "en-US", "US"),
    ],
)
async def test_a_crisis_in_chat_spelling_gets_helplines(
    api: str, text: str, locale: str, country: str, gateway: TestServer
) -> None:
    """Written fast and misspelled, a crisis turn still gets that country's lines."""
    status, body, _ = await send(
        gateway,
        api,
        body_for(api, [{"role": "user", "content": text}]),
        {"Accept-Language": locale},
    )
    assert status == 200
    assert body["crisis_resources"]["country"] == country


async def test_an_unknown_locale_gets_the_international_fallback(gateway: TestServer) -> None:
    """No locale the directory knows: the international lines and the fallback directory."""
    status, body, _ = await send(
        gateway,
        "chat",
        body_for("chat", [{"role": "user", "content": CRISIS["en"]}]),
        {"Accept-Language": "xx-ZZ"},
    )
    assert status == 200
    resources = body["crisis_resources"]
    assert resources["country"] is None
    assert "findahelpline.com" in resources["fallback"]["url"]


async def test_the_country_header_wins_when_configured(make_gateway: GatewayFactory) -> None:
    """A CDN's country header beats Accept-Language."""
    gateway = await make_gateway(crisis={"country_header": "CF-IPCountry"})
    status, body, _ = await send(
        gateway,
        "anthropic",
        body_for("anthropic", [{"role": "user", "content": CRISIS["en"]}]),
        {"Accept-Language": "en-US", "CF-IPCountry": "IE"},
    )
    assert status == 200
    assert body["crisis_resources"]["country"] == "IE"


async def test_the_forwarded_request_carries_the_guidance(
    gateway: TestServer, simulator: TestServer
) -> None:
    """The model upstream is told how to respond; the client's own system prompt stays."""
    payload = {**body_for("anthropic", [{"role": "user", "content": CRISIS["fr"]}])}
    payload["system"] = "You are Bob, a gardening assistant."
    status, _, _ = await send(gateway, "anthropic", payload, {"Accept-Language": "fr-FR"})
    assert status == 200
    last = simulator.app[LAST_REQUEST].last
    assert last is not None
    system = orjson.loads(last.body)["system"]
    assert system.startswith("You are Bob, a gardening assistant.")
    assert len(system) > 100
    assert "end_conversation" not in last.body.decode()


SYSTEM_FORMS: dict[str, tuple[str, dict[str, Any]]] = {
    "anthropic string": ("anthropic", {"system": "Own prompt."}),
    "anthropic blocks": ("anthropic", {"system": [{"type": "text", "text": "Own prompt."}]}),
    "chat system": ("chat", {}),
    "chat developer": ("chat", {}),
    "responses instructions": ("responses", {"instructions": "Own prompt."}),
}


@pytest.mark.parametrize("form", SYSTEM_FORMS)
async def test_guidance_never_replaces_the_clients_system_prompt(
    form: str, gateway: TestServer, simulator: TestServer
) -> None:
    """String and block system prompts, system and developer messages, instructions: kept."""
    api, extra = SYSTEM_FORMS[form]
    history: list[dict[str, Any]] = [{"role": "user", "content": CRISIS["en"]}]
    if api == "chat":
        role = "developer" if "developer" in form else "system"
        history = [{"role": role, "content": "Own prompt."}, *history]
    payload = {**body_for(api, history), **extra}
    status, _, _ = await send(gateway, api, payload)
    assert status == 200
    last = simulator.app[LAST_REQUEST].last
    assert last is not None
    sent = orjson.loads(last.body)
    if api == "anthropic":
        system = sent["system"]
        text = system if isinstance(system, str) else " ".join(b["text"] for b in system)
        assert text.startswith("Own prompt.") and len(text) > 100
    elif api == "chat":
        assert sent["messages"][0] == history[0]
        assert sent["messages"][1]["role"] == "system"
        assert sent["messages"][-1] == history[-1]
    else:
        assert sent["instructions"].startswith("Own prompt.")


async def test_anthropic_stream_carries_resources_on_message_start_and_a_named_event(
    gateway: TestServer,
) -> None:
    """Anthropic streams: `crisis_resources` on message_start, and as its own event only
    when the client opts in with `X-Lastword-Named-Events: true`."""
    async with anthropic.AsyncAnthropic(base_url=base_url(gateway), api_key=KEY) as client:
        for opt_in in (False, True):
            seen: dict[str, Any] = {}
            headers = {"Accept-Language": "de-DE"}
            if opt_in:
                headers["X-Lastword-Named-Events"] = "true"
            async with client.messages.stream(
                model=MODEL_A,
                max_tokens=100,
                messages=[{"role": "user", "content": CRISIS["de"]}],
                extra_headers=headers,
            ) as stream:
                async for event in stream:
                    # A str: the gateway's own event type is outside the SDK's Literal.
                    kind: str = event.type
                    if kind == "message_start":
                        seen["start"] = getattr(event, "crisis_resources", None)
                    elif kind == "crisis_resources":
                        seen["named"] = event
                await stream.get_final_message()
            assert seen["start"]["country"] == "DE"
            if opt_in:
                assert getattr(seen["named"], "country", None) == "DE"
            else:
                assert "named" not in seen


async def test_openai_streams_carry_resources_on_the_first_chunk_or_event(
    gateway: TestServer,
) -> None:
    """Chat: the first chunk; Responses: response.created — and no extra chunk or event."""
    async with openai.AsyncOpenAI(base_url=base_url(gateway) + "/v1", api_key=KEY) as client:
        chunks = await client.chat.completions.create(
            model=MODEL_O,
            messages=[{"role": "user", "content": CRISIS["es"]}],
            stream=True,
            extra_headers={"Accept-Language": "es-ES"},
        )
        first = None
        async for chunk in chunks:
            assert chunk.choices, "an extra chunk reached the client"
            first = first or chunk
        assert first is not None
        assert getattr(first, "crisis_resources", None)["country"] == "ES"  # type: ignore[index]
        events = await client.responses.create(
            model=MODEL_O,
            input=CRISIS["es"],
            stream=True,
            extra_headers={"Accept-Language": "es-MX"},
        )
        created = None
        async for event in events:
            if event.type == "response.created":
                created = event
        assert created is not None
        resources = getattr(created, "crisis_resources", None)
        assert resources is not None and resources["country"] == "MX"
        # Also inside the response it wraps, which the SDK's own types keep.
        assert getattr(created.response, "crisis_resources", None)["country"] == "MX"  # type: ignore[index]
        # And inside the final response, which the stream helper rebuilds from the last event.
        async with client.responses.stream(
            model=MODEL_O, input=CRISIS["es"], extra_headers={"Accept-Language": "es-ES"}
        ) as stream:
            async for _ in stream:
                pass
            final = await stream.get_final_response()
        assert getattr(final, "crisis_resources", None)["country"] == "ES"  # type: ignore[index]


async def test_mixing_crisis_and_harmful_turns_never_ends(gateway: TestServer) -> None:
    """Crisis turns among refused harmful requests: never ended, and the endings that would
    have happened are counted as suppressed."""
    suppressed = (
        REGISTRY.get_sample_value("lastword_endings_suppressed_total", {"reason": "crisis"}) or 0.0
    )
    history: list[dict[str, Any]] = []
    script = [CRISIS["en"], *HARMFUL[:2], CRISIS["en"] + " Really.", *HARMFUL[1:]]
    script += [CRISIS["en"] + " Still.", HARMFUL[0] + " Again.", HARMFUL[2] + " Again."]
    for text in script:
        status, _, headers = await turn(gateway, "anthropic", history, text)
        assert (status, headers["X-Conversation-Status"]) == (200, "active")
    after = REGISTRY.get_sample_value("lastword_endings_suppressed_total", {"reason": "crisis"})
    assert (after or 0.0) > suppressed


async def test_a_crisis_turn_into_an_ended_thread_still_gets_the_lines(
    gateway: TestServer,
) -> None:
    """The 410 for an ended thread carries crisis_resources when the new turn is in crisis."""
    history = await play_until_ended(gateway)
    history.append({"role": "user", "content": CRISIS["en"]})
    status, body, headers = await send(
        gateway, "anthropic", body_for("anthropic", history), {"Accept-Language": "en-GB"}
    )
    assert (status, headers["X-Conversation-Status"]) == (410, "ended")
    assert body["crisis_resources"]["country"] == "GB"
