"""The response editor: odd events pass through as they came, and the watching goes on.

Event tables, with a real inspection on a real (memory) store: upstream events in, the
bytes the client gets and what is recorded out.
"""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from prometheus_client import REGISTRY

from gateway.app import build_policy
from gateway.config import Settings
from gateway.detect import load_rules
from gateway.dialects import ANTHROPIC, OPENAI_CHAT, OPENAI_RESPONSES, Dialect, SseEvent
from gateway.dialects.end_tool import AnthropicEndTool
from gateway.editor import ResponseEditor
from gateway.inspection import Guard, Inspection
from gateway.sse import SseSplitter
from gateway.store import open_store
from tests.e2e.conversation_play import GREETING, HARMFUL, HEADERS, body_for

RULES = load_rules()
DIALECTS: dict[str, Dialect] = {
    "anthropic": ANTHROPIC,
    "chat": OPENAI_CHAT,
    "responses": OPENAI_RESPONSES,
}
# A refusal per dialect, by the provider's own signal, in its stream shape.
REFUSALS: dict[str, list[Any]] = {
    "anthropic": [
        ("message_start", {"type": "message_start", "message": {"id": "msg_1"}}),
        ("content_block_start", {"type": "content_block_start", "index": 0}),
        (
            "content_block_delta",
            {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta"}},
        ),
        ("message_delta", {"type": "message_delta", "delta": {"stop_reason": "refusal"}}),
        ("message_stop", {"type": "message_stop"}),
    ],
    "chat": [
        (None, {"id": "c1", "choices": [{"index": 0, "delta": {"role": "assistant"}}]}),
        (None, {"id": "c1", "choices": [{"index": 0, "delta": {"content": "Well"}}]}),
        (None, {"id": "c1", "choices": [{"index": 0, "delta": {"content": "."}}]}),
        (None, {"id": "c1", "choices": [{"index": 0, "finish_reason": "content_filter"}]}),
        (None, b"[DONE]"),
    ],
    "responses": [
        ("response.created", {"type": "response.created", "response": {"id": "r1"}}),
        ("response.output_item.added", {"type": "response.output_item.added", "item": {}}),
        ("response.refusal.delta", {"type": "response.refusal.delta", "delta": "No."}),
        ("response.output_text.delta", {"type": "response.output_text.delta", "delta": "."}),
        (
            "response.completed",
            {"type": "response.completed", "response": {"id": "r1", "status": "completed"}},
        ),
    ],
}
# (api, where an odd event goes in the refusal, the odd event's data)
ODD_STREAMS: dict[str, tuple[str, int, Any]] = {
    "anthropic: a delta that is a string": (
        "anthropic",
        2,
        {"type": "content_block_delta", "index": 0, "delta": "x"},
    ),
    "anthropic: data that is not JSON": ("anthropic", 2, b"{not json"),
    "anthropic: a content_block that is a number": (
        "anthropic",
        1,
        {"type": "content_block_start", "index": 0, "content_block": 5},
    ),
    "chat: choices that is an object": ("chat", 1, {"id": "c1", "choices": {"index": 0}}),
    "chat: a delta that is a list": ("chat", 2, {"choices": [{"delta": [1]}]}),
    "chat: a tool call with a null function": (
        "chat",
        2,
        {"choices": [{"delta": {"tool_calls": [{"index": "a", "function": None}]}}]},
    ),
    "responses: an item that is a string": (
        "responses",
        1,
        {"type": "response.output_item.added", "output_index": "0", "item": "x"},
    ),
    "responses: data that is a JSON string": ("responses", 3, b'"x"'),
}


def wire(events: list[tuple[str | None, Any]]) -> bytes:
    """The bytes of a stream of (name, data) events."""
    out = b""
    for name, data in events:
        raw = data if isinstance(data, bytes) else orjson.dumps(data)
        out += (f"event: {name}\n".encode() if name else b"") + b"data: " + raw + b"\n\n"
    return out


def with_odd(api: str, at: int, data: Any) -> bytes:
    """The refusal of `api` with an odd event put in at `at`."""
    events = list(REFUSALS[api])
    events.insert(at, (events[at][0], data))
    return wire(events)


def unreadable_count(api: str) -> float:
    """The `unreadable` upstream errors counted so far for the family of `api`."""
    family = DIALECTS[api].family
    labels = {"family": family, "kind": "unreadable"}
    return REGISTRY.get_sample_value("lastword_upstream_errors_total", labels) or 0.0


class Turn:
    """One harmful request's inspection on a shared store, and a way to read its strikes."""

    def __init__(self, guard: Guard, api: str, text: str = HARMFUL[0]) -> None:
        self.guard = guard
        self.api = api
        self.dialect = DIALECTS[api]
        self.chat = self.dialect.parse_request(
            orjson.dumps(body_for(api, [{"role": "user", "content": text}]))
        )

    async def begin(self) -> Inspection:
        """The request's inspection, as the proxy begins it."""
        return await self.guard.begin(HEADERS, self.chat, self.dialect.family)

    async def strikes(self) -> int:
        """How many strikes stand on the request's path now."""
        return len((await self.begin()).state.strikes)


@pytest.fixture
async def guard() -> Guard:
    """A guard on a fresh memory store, with the shipped rules and default policy."""
    return Guard(await open_store("memory://"), RULES, build_policy(Settings()))


async def relay(editor: ResponseEditor, stream: bytes, cut: int = 7) -> bytes:
    """Run `stream` through a splitter (in reads of `cut` bytes) and the editor."""
    splitter = SseSplitter(1 << 20)
    out = b""
    for i in range(0, len(stream), cut):
        block, events = splitter.feed(stream[i : i + cut])
        if events:
            out += await editor.block(block, events)
    await editor.finish()
    return out + splitter.rest()


@pytest.mark.parametrize(("api", "at", "data"), ODD_STREAMS.values(), ids=ODD_STREAMS)
async def test_an_odd_event_passes_and_the_refusal_after_it_is_recorded(
    guard: Guard, api: str, at: int, data: Any
) -> None:
    """The client gets the upstream's bytes; the odd event is counted; the strike stands."""
    turn = Turn(guard, api)
    stream = with_odd(api, at, data)
    before = unreadable_count(api)
    editor = ResponseEditor(turn.dialect, await turn.begin(), own_end_tool=False)
    assert await relay(editor, stream) == stream
    assert editor.finished
    assert unreadable_count(api) == before + 1
    assert await turn.strikes() == 1


# What only the end-tool filter reads: odd to it alone.
ODD_FOR_THE_FILTER: dict[str, tuple[str, int, Any]] = {
    "anthropic: an index that is a string": (
        "anthropic",
        2,
        {"type": "content_block_delta", "index": "0", "delta": {"type": "text_delta"}},
    ),
    "responses: an output_index that is a list": (
        "responses",
        3,
        {"type": "response.output_text.delta", "output_index": [0], "delta": "."},
    ),
}


@pytest.mark.parametrize(
    ("api", "at", "data"),
    [*ODD_STREAMS.values(), *ODD_FOR_THE_FILTER.values()],
    ids=[*ODD_STREAMS, *ODD_FOR_THE_FILTER],
)
async def test_with_the_end_tool_offered_an_odd_event_is_left_alone(
    guard: Guard, api: str, at: int, data: Any
) -> None:
    """With the gateway's end-tool filter on, odd events still pass byte for byte."""
    turn = Turn(guard, api)
    stream = with_odd(api, at, data)
    before = unreadable_count(api)
    editor = ResponseEditor(turn.dialect, await turn.begin(), own_end_tool=True)
    assert await relay(editor, stream) == stream
    assert unreadable_count(api) == before + 1
    assert await turn.strikes() == 1


async def test_the_third_refusal_after_odd_events_ends_in_band(guard: Guard) -> None:
    """Strikes recorded through odd events add up: the third signals the ending."""
    history: list[dict[str, Any]] = []
    outs = []
    for text in HARMFUL:
        history.append({"role": "user", "content": text})
        chat = ANTHROPIC.parse_request(orjson.dumps(body_for("anthropic", history)))
        inspection = await guard.begin(HEADERS, chat, "anthropic")
        editor = ResponseEditor(ANTHROPIC, inspection, own_end_tool=False)
        outs.append(await relay(editor, with_odd("anthropic", 2, b"{not json")))
        history.append({"role": "assistant", "content": "I can't help with that."})
    assert outs[0] == outs[1] == with_odd("anthropic", 2, b"{not json")
    final = [e for e in outs[2].split(b"\n\n") if b"message_delta" in e and b"data:" in e]
    data = orjson.loads(final[0].split(b"data: ", 1)[1])
    assert data["conversation_ended"]["status"] == "ended"
    assert b"event: conversation_ended" not in outs[2]  # named events only on request


async def test_a_watcher_fault_on_one_event_costs_only_that_event(
    guard: Guard, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A shape no watcher foresaw (here: a raise) passes as it came; the rest is read."""
    real = type(ANTHROPIC.new_watcher()).feed

    def feed(self: Any, event: SseEvent) -> Any:
        if b"boom" in event.data:
            raise RuntimeError("unforeseen")
        return real(self, event)

    monkeypatch.setattr(type(ANTHROPIC.new_watcher()), "feed", feed)
    turn = Turn(guard, "anthropic")
    stream = with_odd("anthropic", 2, {"type": "content_block_delta", "boom": 1})
    before = unreadable_count("anthropic")
    editor = ResponseEditor(ANTHROPIC, await turn.begin(), own_end_tool=False)
    assert await relay(editor, stream) == stream
    assert unreadable_count("anthropic") == before + 1
    assert await turn.strikes() == 1


async def test_an_edit_fault_passes_the_event_as_it_came(
    guard: Guard, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A failure while editing one event: that event unchanged, the stream still watched."""
    real = AnthropicEndTool.event

    def event(self: AnthropicEndTool, data: dict[str, Any]) -> Any:
        if data.get("type") == "content_block_start":
            raise RuntimeError("unforeseen")
        return real(self, data)

    monkeypatch.setattr(AnthropicEndTool, "event", event)
    turn = Turn(guard, "anthropic")
    stream = wire(REFUSALS["anthropic"])
    editor = ResponseEditor(ANTHROPIC, await turn.begin(), own_end_tool=True)
    assert await relay(editor, stream) == stream
    assert await turn.strikes() == 1


async def test_an_unreadable_stop_reason_is_recorded_at_the_closing_event(guard: Guard) -> None:
    """No readable `message_delta`: the answer is recorded at `message_stop`, not lost."""
    turn = Turn(guard, "anthropic")
    events = list(REFUSALS["anthropic"])
    events[2] = ("content_block_delta", _text_delta("I can't help with that."))
    events[3] = ("message_delta", b"{broken")
    stream = wire(events)
    editor = ResponseEditor(ANTHROPIC, await turn.begin(), own_end_tool=False)
    assert await relay(editor, stream) == stream
    assert editor.finished and editor.recorded
    assert await turn.strikes() == 1


def _text_delta(text: str) -> dict[str, Any]:
    return {
        "type": "content_block_delta",
        "index": 0,
        "delta": {"type": "text_delta", "text": text},
    }


@pytest.mark.parametrize("odd", [b"[1]", b'{"type":"message_start","message":"m"}'])
async def test_resources_ride_on_the_first_event_that_can_carry_them(
    guard: Guard, odd: bytes
) -> None:
    """A first event that cannot be read is passed as it came; the next one carries them."""
    turn = Turn(guard, "anthropic", GREETING)
    events = [("message_start", odd), *REFUSALS["anthropic"]]
    resources = {"country": "FR", "lines": []}
    editor = ResponseEditor(ANTHROPIC, await turn.begin(), own_end_tool=False, resources=resources)
    out = await relay(editor, wire(events))
    first, second = out.split(b"\n\n")[:2]
    assert first == b"event: message_start\ndata: " + odd
    assert orjson.loads(second.split(b"data: ", 1)[1])["crisis_resources"] == resources


# (api, the body the upstream sends, whether its refusal can still be read)
ODD_BODIES: dict[str, tuple[str, bytes, bool]] = {
    "anthropic: content is a string": (
        "anthropic",
        orjson.dumps({"id": "m", "content": "No.", "stop_reason": "refusal"}),
        True,
    ),
    "anthropic: stop_reason is a number": (
        "anthropic",
        orjson.dumps({"content": [{"type": "text", "text": "Sure"}], "stop_reason": 1}),
        False,
    ),
    "anthropic: not JSON": ("anthropic", b"{not json", False),
    "anthropic: a JSON list": ("anthropic", b"[1, 2]", False),
    "chat: choices is an object": (
        "chat",
        orjson.dumps({"choices": {"message": {"content": "x"}}, "usage": "many"}),
        False,
    ),
    "chat: a null tool function, then a refusal": (
        "chat",
        orjson.dumps(
            {
                "choices": [
                    {
                        "message": {"tool_calls": [{"function": None}], "content": 4},
                        "finish_reason": "content_filter",
                    }
                ]
            }
        ),
        True,
    ),
    "responses: output items are strings": (
        "responses",
        orjson.dumps(
            {"output": ["x", {"content": [{"type": "refusal", "refusal": "No."}]}], "id": 3}
        ),
        True,
    ),
    "responses: content is a string": (
        "responses",
        orjson.dumps({"output": [{"type": "message", "content": "x"}], "status": 5}),
        False,
    ),
}


@pytest.mark.parametrize(("api", "raw", "refusal"), ODD_BODIES.values(), ids=ODD_BODIES)
@pytest.mark.parametrize("own_end_tool", [False, True])
async def test_an_odd_body_passes_as_it_came(
    guard: Guard, api: str, raw: bytes, refusal: bool, own_end_tool: bool
) -> None:
    """An odd body reaches the client byte for byte, is counted, and what it shows counts."""
    turn = Turn(guard, api)
    before = unreadable_count(api)
    editor = ResponseEditor(turn.dialect, await turn.begin(), own_end_tool=own_end_tool)
    assert await editor.body(raw) == raw
    assert editor.recorded
    assert unreadable_count(api) == before + 1
    assert await turn.strikes() == (1 if refusal else 0)


# An answer that points the person to a crisis line, in each dialect's stream shape.
CARE = "I'm so sorry you feel this way. Please call or text 988, they are there for you."
CARING: dict[str, list[Any]] = {
    "anthropic": [
        ("message_start", {"type": "message_start", "message": {"id": "msg_1"}}),
        (
            "content_block_delta",
            {
                "type": "content_block_delta",
                "index": 0,
                "delta": {"type": "text_delta", "text": CARE},
            },
        ),
        ("message_delta", {"type": "message_delta", "delta": {"stop_reason": "end_turn"}}),
        ("message_stop", {"type": "message_stop"}),
    ],
    "chat": [
        (None, {"id": "c1", "choices": [{"index": 0, "delta": {"content": CARE}}]}),
        (None, {"id": "c1", "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}),
        (None, b"[DONE]"),
    ],
    "responses": [
        ("response.created", {"type": "response.created", "response": {"id": "r1"}}),
        ("response.output_text.delta", {"type": "response.output_text.delta", "delta": CARE}),
        (
            "response.completed",
            {"type": "response.completed", "response": {"id": "r1", "status": "completed"}},
        ),
    ],
}
# Where the stop reason rides, by dialect: the event (by position) that gets the helplines.
STOP_AT = {"anthropic": 2, "chat": 1, "responses": 2}
LINES = {"lines": [{"name": "988 Suicide & Crisis Lifeline"}]}


def _data(stream: bytes) -> list[Any]:
    """The decoded data of each event of `stream` ([DONE] as bytes)."""
    out = []
    for event in stream.split(b"\n\n"):
        for line in event.split(b"\n"):
            if line.startswith(b"data: "):
                raw = line[6:]
                out.append(raw if raw == b"[DONE]" else orjson.loads(raw))
    return out


@pytest.mark.parametrize("api", sorted(CARING))
async def test_care_in_the_answer_brings_helplines_on_the_stop_event(
    guard: Guard, api: str
) -> None:
    """An answer that points to a crisis line, on a turn no detector flagged: every event
    passes as it came but the stop reason's, which gets `crisis_resources`; the path is
    marked as a crisis."""
    # A turn no detector flags (rules and model): only the answer shows the crisis.
    turn = Turn(guard, api, "Any tips for my week?")
    asked: list[str] = []

    def helplines(category: str) -> dict[str, Any]:
        asked.append(category)
        return LINES

    stream = wire(CARING[api])
    editor = ResponseEditor(
        turn.dialect, await turn.begin(), own_end_tool=False, helplines=helplines
    )
    out = _data(await relay(editor, stream))
    sent = _data(stream)
    assert asked == ["self_harm_suicide"]
    for i, (got, was) in enumerate(zip(out, sent, strict=True)):
        if i == STOP_AT[api]:
            expected = {**was, "crisis_resources": LINES}
            if api == "responses":  # the envelope, which stream helpers rebuild, too
                expected["response"] = {**was["response"], "crisis_resources": LINES}
            assert got == expected
        else:
            assert got == was
    marks = (await turn.begin()).state.crisis
    assert [(m.level, m.category) for m in marks] == [("crisis", "self_harm_suicide")]


async def test_care_after_helplines_were_given_brings_none_late(guard: Guard) -> None:
    """Helplines already given at the start of the answer are not given again at its end."""
    turn = Turn(guard, "anthropic", "I want to kill myself.")
    asked: list[str] = []

    def helplines(category: str) -> dict[str, Any]:
        asked.append(category)
        return LINES

    editor = ResponseEditor(
        turn.dialect,
        await turn.begin(),
        own_end_tool=False,
        resources=LINES,
        helplines=helplines,
    )
    out = _data(await relay(editor, wire(CARING["anthropic"])))
    assert asked == []
    assert out[0]["crisis_resources"] == LINES
    assert "crisis_resources" not in out[STOP_AT["anthropic"]]
