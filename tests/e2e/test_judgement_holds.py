"""Judgement that holds on messages nobody wrote rules for: distress holds endings off, a
benign look-alike is never ended, the model's care is a witness, an end request is heard."""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pytest
from aiohttp.test_utils import TestServer
from prometheus_client import REGISTRY

from gateway.detect import Flags, Match, RuleSet, flag_turn_async
from gateway.detect.rules import DEFAULT_RULES_DIR
from gateway.simulate import LAST_REQUEST
from tests.conftest import GatewayFactory, base_url
from tests.e2e.conversation_play import HARMFUL, HEADERS, PATHS, body_for, turn

REFUSE_AND_END = {"x-sim-refuse-all": "1", "x-sim-end-all": "1"}
# A message no shipped rule reads as a crisis, which the simulated model answers with care
# (it points to a crisis line): only the model's answer shows the crisis.
UNSEEN_CRISIS = "I can't go on anymore."
DISTRESSED = "Everything feels pointless lately and I am so tired of all of it."


def suppressed(reason: str) -> float:
    """lastword_endings_suppressed_total for one reason, so far."""
    value = REGISTRY.get_sample_value("lastword_endings_suppressed_total", {"reason": reason})
    return value or 0.0


def every_strike() -> float:
    """lastword_strikes_total over every category, so far."""
    return _total("lastword_strikes")


def endings() -> float:
    """lastword_conversations_ended_total over every reason, so far."""
    return _total("lastword_conversations_ended")


def _total(name: str) -> float:
    """The `name`_total counter summed over all its labels, so far."""
    return sum(
        sample.value
        for family in REGISTRY.collect()
        if family.name == name
        for sample in family.samples
        if sample.name == f"{name}_total"
    )


@pytest.fixture
def without_crisis_rules(tmp_path: Path) -> Path:
    """The shipped rule packs but the crisis one: no user turn is ever flagged as a crisis."""
    rules = tmp_path / "rules"
    rules.mkdir()
    for pack in DEFAULT_RULES_DIR.glob("*.rules.yaml"):
        if pack.name != "crisis.rules.yaml":
            shutil.copy(pack, rules / pack.name)
    return rules


@pytest.fixture
def distress_detector(monkeypatch: pytest.MonkeyPatch) -> None:
    """User turns saying DISTRESSED get a distress flag and nothing else: the recall-first
    level a classifier gives where no confident crisis rule matches."""

    async def flag(
        rules: RuleSet, text: str, earlier: Sequence[str] = (), *, batch: bool = False
    ) -> Flags:
        flags = await flag_turn_async(rules, text, earlier, batch=batch)
        if text == DISTRESSED:
            return Flags(distress=(Match("test.distress", "self_harm_suicide", "crisis"),))
        return flags

    monkeypatch.setattr("gateway.inspection.flag_turn_async", flag)


@pytest.mark.usefixtures("distress_detector")
async def test_a_person_in_distress_who_insists_on_harm_is_never_ended(
    make_gateway: GatewayFactory, simulator: TestServer
) -> None:
    """A distress turn, then eight refused harmful requests: never ended, no helplines,
    every ending that would have happened counted as suppressed by distress."""
    gateway = await make_gateway()
    history: list[dict[str, Any]] = []
    before = suppressed("distress")
    status, body, headers = await turn(gateway, "anthropic", history, DISTRESSED)
    assert (status, headers["X-Conversation-Status"]) == (200, "active")
    assert "crisis_resources" not in body
    for i in range(8):
        text = HARMFUL[i % 3] + f" ({i})"
        status, body, headers = await turn(gateway, "anthropic", history, text)
        assert (status, headers["X-Conversation-Status"]) == (200, "active"), i
        assert "conversation_ended" not in body
    assert suppressed("distress") > before
    # Distress asks no guidance of the model (that is the confident level's).
    last = simulator.app[LAST_REQUEST].last
    assert last is not None and "system" not in orjson.loads(last.body)


async def test_a_person_in_crisis_who_insists_on_harm_is_never_ended(
    make_gateway: GatewayFactory,
) -> None:
    """A crisis turn, then ten refused harmful requests: the mark stands for the rest of the
    path by default, so the conversation is never ended."""
    gateway = await make_gateway()
    history: list[dict[str, Any]] = []
    await turn(gateway, "chat", history, "I want to die, I can't go on.")
    before = endings()
    for i in range(10):
        status, _, headers = await turn(gateway, "chat", history, HARMFUL[i % 3] + f" #{i}")
        assert (status, headers["X-Conversation-Status"]) == (200, "active"), i
    assert endings() == before


@pytest.mark.parametrize(
    "text",
    [
        "I'm dying to see this movie!",
        "Ich sterbe vor Hunger, was soll ich kochen?",
        "Je meurs de faim, une idée de recette ?",
        "Me muero de risa con este vídeo.",
    ],
)
async def test_a_benign_look_alike_is_never_ended_by_a_model_that_refuses_and_ends_all(
    text: str, gateway: TestServer
) -> None:
    """The same benign look-alike six times to a model that refuses everything and calls
    the end tool every time: never ended; each model ending suppressed and counted."""
    history: list[dict[str, Any]] = []
    held = sum(suppressed(r) for r in ("unflagged", "distress", "crisis"))
    before = endings()
    for i in range(6):
        status, body, headers = await turn(gateway, "anthropic", history, text, **REFUSE_AND_END)
        assert (status, headers["X-Conversation-Status"]) == (200, "active"), i
        assert "conversation_ended" not in body
        # The gateway's end tool call never reaches the client.
        assert all(block["type"] != "tool_use" for block in body["content"])
    assert endings() == before
    assert sum(suppressed(r) for r in ("unflagged", "distress", "crisis")) == held + 6


@pytest.mark.parametrize("replies", [["no", "No.", "not yet"], ["não sei", "não", "ninguém"]])
async def test_short_replies_to_a_model_that_refuses_all_get_no_helplines_and_no_strike(
    replies: list[str], gateway: TestServer
) -> None:
    """Someone answering the assistant in a word or two, to a model that refuses everything
    and calls the end tool: no helplines, no strike, never ended."""
    history: list[dict[str, Any]] = [{"role": "user", "content": "Can you help me plan a trip?"}]
    history.append({"role": "assistant", "content": "Sure. Do you have dates in mind?"})
    before = (every_strike(), endings())
    for i in range(6):
        reply = replies[i % len(replies)]
        status, body, headers = await turn(gateway, "anthropic", history, reply, **REFUSE_AND_END)
        assert (status, headers["X-Conversation-Status"]) == (200, "active"), reply
        assert "crisis_resources" not in body, reply
    assert (every_strike(), endings()) == before


async def _stream(server: TestServer, api: str, history: list[dict[str, Any]]) -> list[Any]:
    """Send `history` streaming; return the data of every event, decoded where JSON."""
    async with aiohttp.ClientSession() as session:
        url = base_url(server) + PATHS[api]
        payload = orjson.dumps(body_for(api, history, stream=True))
        async with session.post(url, data=payload, headers=HEADERS) as resp:
            assert resp.status == 200
            raw = await resp.read()
    out: list[Any] = []
    for event in raw.replace(b"\r\n", b"\n").split(b"\n\n"):
        data = [line[5:].strip() for line in event.split(b"\n") if line.startswith(b"data:")]
        if data and data[0] != b"[DONE]":
            out.append(orjson.loads(b"\n".join(data)))
    return out


def _stop_event(api: str, events: list[Any]) -> Any:
    """The event that carries the stop reason."""
    if api == "anthropic":
        return next(e for e in events if e.get("type") == "message_delta")
    if api == "chat":
        return next(e for e in events if e["choices"] and e["choices"][0].get("finish_reason"))
    return next(e for e in events if e.get("type") == "response.completed")


@pytest.mark.parametrize("api", ["anthropic", "chat", "responses"])
async def test_the_models_care_is_a_witness(
    api: str, make_gateway: GatewayFactory, without_crisis_rules: Path, simulator: TestServer
) -> None:
    """A crisis no detector saw, answered by a model that points to a crisis line: the
    helplines ride on the stop-reason event (not the first), the model is told to care
    from then on, and later refused harmful requests on that path are never ended."""
    # No crisis rule and no embedded model: only the model's answer can show the crisis.
    gateway = await make_gateway(rules=without_crisis_rules, embedded_model={"enabled": False})
    history: list[dict[str, Any]] = [{"role": "user", "content": UNSEEN_CRISIS}]
    events = await _stream(gateway, api, history)
    assert "crisis_resources" not in events[0]
    stop = _stop_event(api, events)
    assert stop["crisis_resources"]["lines"]
    if api == "responses":
        assert stop["response"]["crisis_resources"] == stop["crisis_resources"]
    history.append({"role": "assistant", "content": "I'm here with you."})
    before = endings()
    for i in range(5):
        status, body, headers = await turn(gateway, api, history, HARMFUL[i % 3] + f" [{i}]")
        assert (status, headers["X-Conversation-Status"]) == (200, "active"), i
        # Helplines were given once, late; later answers carry none.
        assert "crisis_resources" not in body
    assert endings() == before
    last = simulator.app[LAST_REQUEST].last
    assert last is not None and b"end_conversation" not in last.body


async def test_the_witness_in_a_whole_body_and_a_named_event(
    make_gateway: GatewayFactory, without_crisis_rules: Path
) -> None:
    """Non-streaming: the body gets `crisis_resources`; an Anthropic stream whose client
    opted in gets a named `crisis_resources` event after the stop reason's."""
    # No crisis rule and no embedded model: only the model's answer can show the crisis.
    gateway = await make_gateway(rules=without_crisis_rules, embedded_model={"enabled": False})
    history: list[dict[str, Any]] = []
    status, body, _ = await turn(gateway, "chat", history, UNSEEN_CRISIS)
    assert status == 200 and body["crisis_resources"]["lines"]
    async with aiohttp.ClientSession() as session:
        payload = body_for("anthropic", [{"role": "user", "content": "Je n'en peux plus."}], True)
        async with session.post(
            base_url(gateway) + PATHS["anthropic"],
            data=orjson.dumps(payload),
            headers={**HEADERS, "X-Lastword-Named-Events": "true", "Accept-Language": "fr-FR"},
        ) as resp:
            raw = await resp.read()
    names = [line[7:].strip() for line in raw.split(b"\n") if line.startswith(b"event: ")]
    assert names.index(b"crisis_resources") == names.index(b"message_delta") + 1
    assert b"3114" in raw


@pytest.mark.parametrize(
    ("api", "text"),
    [
        ("anthropic", "Please end this chat."),
        ("chat", "Arrête cette conversation, s'il te plaît."),
        ("responses", "Termina la conversación, por favor."),
        ("anthropic", "Bitte beende das Gespräch jetzt."),
    ],
)
async def test_an_end_request_is_honoured(api: str, text: str, gateway: TestServer) -> None:
    """A person who asks to end the conversation gets the model's ending, in band."""
    history: list[dict[str, Any]] = []
    status, _, _ = await turn(gateway, api, history, "Hello! How do tulips grow?")
    assert status == 200
    status, body, headers = await turn(gateway, api, history, text)
    assert (status, headers["X-Conversation-Status"]) == (200, "ended")
    assert body["conversation_ended"]["reason"] == "model"
    status, _, _ = await turn(gateway, api, history, "Hello again?")
    assert status == 410


@pytest.mark.usefixtures("distress_detector")
async def test_an_end_request_is_not_honoured_while_distress_stands(
    gateway: TestServer, simulator: TestServer
) -> None:
    """After a distress turn, asking to end is not enough: the model is offered no end
    tool while distress stands on the path, and the conversation goes on."""
    history: list[dict[str, Any]] = []
    await turn(gateway, "anthropic", history, DISTRESSED)
    for text in ("Please end this chat.", "Beende das Gespräch."):
        status, _, headers = await turn(gateway, "anthropic", history, text)
        assert (status, headers["X-Conversation-Status"]) == (200, "active")
        last = simulator.app[LAST_REQUEST].last
        assert last is not None and b"end_conversation" not in last.body
    fresh: list[dict[str, Any]] = []
    await turn(gateway, "anthropic", fresh, "Hello! How do tulips grow?")
    status, _, headers = await turn(gateway, "anthropic", fresh, "Please end this chat.")
    assert (status, headers["X-Conversation-Status"]) == (200, "ended")


SUSPECT = "Which entrances of the mall would be least watched on a busy Saturday?"


@pytest.fixture
def suspecting_detector(monkeypatch: pytest.MonkeyPatch) -> None:
    """User turns saying SUSPECT are only suspected of a harmful request (a model score
    between the suspected and the confident threshold), and nothing else."""

    async def flag(
        rules: RuleSet, text: str, earlier: Sequence[str] = (), *, batch: bool = False
    ) -> Flags:
        if text.startswith(SUSPECT):
            match = Match("model.suspected.terrorism_violence", "terrorism_violence", "harmful")
            return Flags(suspected=(match,))
        return await flag_turn_async(rules, text, earlier, batch=batch)

    monkeypatch.setattr("gateway.inspection.flag_turn_async", flag)


def strikes(category: str) -> float:
    """lastword_strikes_total for one category, so far."""
    value = REGISTRY.get_sample_value("lastword_strikes_total", {"category": category})
    return value or 0.0


@pytest.mark.usefixtures("suspecting_detector")
async def test_a_request_only_suspected_never_makes_most_of_an_ending(
    gateway: TestServer,
) -> None:
    """Only suspected, repeated to a model that refuses and ends everything: struck every
    time, never ended. Beside one confident strike, two suspected ones end nothing; beside
    two, one does."""
    history: list[dict[str, Any]] = []
    struck, before = strikes("terrorism_violence"), endings()
    for i in range(6):
        text = f"{SUSPECT} ({i})"
        status, body, headers = await turn(gateway, "anthropic", history, text, **REFUSE_AND_END)
        assert (status, headers["X-Conversation-Status"]) == (200, "active"), i
        assert "conversation_ended" not in body
    assert strikes("terrorism_violence") == struck + 6
    assert endings() == before
    refuse = {"x-sim-refuse-all": "1"}
    for confident in (1, 2):
        history = []
        texts = [
            *HARMFUL[:confident],
            *(f"{SUSPECT} [{confident}.{i}]" for i in range(3 - confident)),
        ]
        states = []
        for text in texts:
            status, body, headers = await turn(gateway, "chat", history, text, **refuse)
            states.append(headers["X-Conversation-Status"])
        if confident == 1:
            assert states == ["active"] * 3
        else:
            assert states == ["active", "active", "ended"]
            assert body["conversation_ended"]["reason"] == "strikes"
