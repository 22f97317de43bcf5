"""Watchers read whatever an upstream sends: odd shapes are counted, never raised.

Event tables: a normal answer per dialect, then the same answer with one event (or the
body) given an odd shape. Each row states the roles that come out and what is observed;
the rest of the answer is still read, so a refusal after the odd event is still seen.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson
import pytest

from gateway.dialects import ANTHROPIC, OPENAI_CHAT, OPENAI_RESPONSES, Dialect, EventRole
from gateway.dialects.base import SseEvent

FIRST, OTHER, FINAL, STOP, ERROR = (
    EventRole.FIRST,
    EventRole.OTHER,
    EventRole.FINAL,
    EventRole.STOP,
    EventRole.ERROR,
)


def event(data: Any, name: str | None = None) -> SseEvent:
    """An event carrying `data` (bytes as they are, anything else as JSON)."""
    raw = data if isinstance(data, bytes) else orjson.dumps(data)
    head = f"event: {name}\n".encode() if name else b""
    return SseEvent(name, raw, head + b"data: " + raw + b"\n\n")


ANTHROPIC_STREAM = [
    {"type": "message_start", "message": {"id": "msg_1", "content": []}},
    {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
    {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "No."}},
    {"type": "content_block_stop", "index": 0},
    {"type": "message_delta", "delta": {"stop_reason": "refusal"}, "usage": {"output_tokens": 2}},
    {"type": "message_stop"},
]
ANTHROPIC_ROLES = [FIRST, OTHER, OTHER, OTHER, FINAL, STOP]
CHAT_STREAM: list[Any] = [
    {"id": "c1", "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}}]},
    {"id": "c1", "choices": [{"index": 0, "delta": {"content": "No."}}]},
    {"id": "c1", "choices": [{"index": 0, "delta": {}, "finish_reason": "content_filter"}]},
    b"[DONE]",
]
CHAT_ROLES = [FIRST, OTHER, FINAL, STOP]
RESPONSES_STREAM = [
    {"type": "response.created", "response": {"id": "r1", "status": "in_progress"}},
    {"type": "response.output_item.added", "output_index": 0, "item": {"type": "message"}},
    {"type": "response.output_text.delta", "output_index": 0, "delta": "No."},
    {"type": "response.completed", "response": {"id": "r1", "status": "completed"}},
]
RESPONSES_ROLES = [FIRST, OTHER, OTHER, FINAL]
NORMAL: dict[str, dict[str, Any]] = {
    "anthropic": {"stop_reason": "refusal", "provider_refusal": True, "text_head": "No."},
    "chat": {"stop_reason": "content_filter", "provider_refusal": True, "text_head": "No."},
    "responses": {"stop_reason": "completed", "text_head": "No."},
}
STREAMS: dict[str, tuple[Dialect, list[Any], list[EventRole]]] = {
    "anthropic": (ANTHROPIC, ANTHROPIC_STREAM, ANTHROPIC_ROLES),
    "chat": (OPENAI_CHAT, CHAT_STREAM, CHAT_ROLES),
    "responses": (OPENAI_RESPONSES, RESPONSES_STREAM, RESPONSES_ROLES),
}


@dataclass(frozen=True)
class Odd:
    """One event of a dialect's normal stream replaced; what is observed then."""

    api: str
    at: int
    data: Any
    role: EventRole | None = None  # None: the normal stream's role at that place
    seen: dict[str, Any] = field(default_factory=dict)  # overrides of NORMAL[api]
    unreadable: int = 1


ODD_EVENTS = {
    "anthropic: data is not JSON": Odd("anthropic", 2, b"{oops", OTHER, {"text_head": ""}),
    "anthropic: data is a JSON list": Odd("anthropic", 2, [1, 2], OTHER, {"text_head": ""}),
    "anthropic: message is a string": Odd(
        "anthropic", 0, {"type": "message_start", "message": "msg_1"}, seen={"response_id": None}
    ),
    "anthropic: content_block is a list": Odd(
        "anthropic", 1, {"type": "content_block_start", "index": 0, "content_block": [1]}
    ),
    "anthropic: delta is a string": Odd(
        "anthropic", 2, {"type": "content_block_delta", "delta": "No."}, seen={"text_head": ""}
    ),
    "anthropic: text is a number": Odd(
        "anthropic",
        2,
        {"type": "content_block_delta", "delta": {"type": "text_delta", "text": 5}},
        seen={"text_head": ""},
    ),
    "anthropic: index is a string (not read)": Odd(
        "anthropic",
        3,
        {"type": "content_block_stop", "index": "0"},
        unreadable=0,
    ),
    "anthropic: tool name is an object": Odd(
        "anthropic",
        1,
        {"type": "content_block_start", "content_block": {"type": "tool_use", "name": {"a": 1}}},
        seen={"tool_calls": [""]},
    ),
    "anthropic: message_delta's delta is a string": Odd(
        "anthropic",
        4,
        {"type": "message_delta", "delta": "refusal"},
        seen={"stop_reason": None, "provider_refusal": False},
    ),
    "anthropic: stop_reason is a number": Odd(
        "anthropic",
        4,
        {"type": "message_delta", "delta": {"stop_reason": 3}},
        seen={"stop_reason": None, "provider_refusal": False},
    ),
    "anthropic: usage is a string (not read)": Odd(
        "anthropic",
        4,
        {"type": "message_delta", "delta": {"stop_reason": "refusal"}, "usage": "lots"},
        unreadable=0,
    ),
    "chat: data is not JSON": Odd("chat", 1, b"{oops", OTHER, {"text_head": ""}),
    "chat: choices is an object": Odd(
        "chat", 1, {"id": "c1", "choices": {"0": {}}}, OTHER, {"text_head": ""}
    ),
    "chat: choices is a string": Odd("chat", 1, {"choices": "No."}, OTHER, {"text_head": ""}),
    "chat: a choice is a string": Odd("chat", 1, {"choices": ["No."]}, OTHER, {"text_head": ""}),
    "chat: delta is a string": Odd(
        "chat", 1, {"choices": [{"delta": "No."}]}, OTHER, {"text_head": ""}
    ),
    "chat: content is a number": Odd(
        "chat", 1, {"choices": [{"delta": {"content": 7}}]}, OTHER, {"text_head": ""}
    ),
    "chat: refusal is a list": Odd(
        "chat", 1, {"choices": [{"delta": {"refusal": ["No."]}}]}, OTHER, {"text_head": ""}
    ),
    "chat: tool_calls is an object": Odd(
        "chat", 1, {"choices": [{"delta": {"tool_calls": {"index": 0}}}]}, OTHER, {"text_head": ""}
    ),
    "chat: a tool call's function is null (absent)": Odd(
        "chat",
        1,
        {"choices": [{"delta": {"tool_calls": [{"index": 0, "function": None}]}}]},
        OTHER,
        {"text_head": "", "tool_calls": [""]},
        unreadable=0,
    ),
    "chat: a tool call's index is a string": Odd(
        "chat",
        1,
        {"choices": [{"delta": {"tool_calls": [{"index": "0", "function": {"name": "f"}}]}}]},
        OTHER,
        {"text_head": ""},
    ),
    "chat: a tool call's index is negative": Odd(
        "chat",
        1,
        {"choices": [{"delta": {"tool_calls": [{"index": -1, "function": {"name": "f"}}]}}]},
        OTHER,
        {"text_head": ""},
    ),
    "chat: a tool call's index is huge": Odd(
        "chat",
        1,
        {"choices": [{"delta": {"tool_calls": [{"index": 10**9, "function": {"name": "f"}}]}}]},
        OTHER,
        {"text_head": ""},
    ),
    "chat: finish_reason is a number": Odd(
        "chat",
        2,
        {"choices": [{"delta": {}, "finish_reason": 1}]},
        seen={"stop_reason": None, "provider_refusal": False},
    ),
    "chat: the id is a number": Odd(
        "chat", 0, {"id": 5, "choices": []}, seen={"response_id": "c1"}
    ),
    "responses: data is not JSON": Odd("responses", 2, b"{oops", OTHER, {"text_head": ""}),
    "responses: the created response is a string": Odd(
        "responses", 0, {"type": "response.created", "response": "r1"}
    ),
    "responses: an added item is a string": Odd(
        "responses", 1, {"type": "response.output_item.added", "item": "message"}
    ),
    "responses: a delta is a number": Odd(
        "responses",
        2,
        {"type": "response.output_text.delta", "delta": 5},
        seen={"text_head": ""},
    ),
    "responses: a refusal delta is a list": Odd(
        "responses",
        2,
        {"type": "response.refusal.delta", "delta": ["No."]},
        seen={"text_head": "", "provider_refusal": True},
    ),
    "responses: the completed response is a string": Odd(
        "responses",
        3,
        {"type": "response.completed", "response": "completed"},
        seen={"stop_reason": None},
    ),
    "responses: incomplete_details is a string": Odd(
        "responses",
        3,
        {
            "type": "response.incomplete",
            "response": {"status": "incomplete", "incomplete_details": "content_filter"},
        },
        seen={"stop_reason": "incomplete"},
    ),
}


def observed(dialect: Dialect, stream: list[Any]) -> tuple[list[EventRole], dict[str, Any]]:
    """Feed a stream to a fresh watcher; return the roles and what it observed."""
    watcher = dialect.new_watcher()
    roles = [watcher.feed(event(data)) for data in stream]
    obs = watcher.observation
    seen = {
        "stop_reason": obs.stop_reason,
        "provider_refusal": obs.provider_refusal,
        "text_head": obs.text_head,
        "response_id": obs.response_id,
        "tool_calls": [call.name for call in obs.tool_calls],
        "unreadable": obs.unreadable,
    }
    return roles, seen


def normal_seen(api: str) -> dict[str, Any]:
    """What the normal stream of `api` shows."""
    ids = {"anthropic": "msg_1", "chat": "c1", "responses": "r1"}
    base: dict[str, Any] = {
        "stop_reason": None,
        "provider_refusal": False,
        "text_head": "",
        "response_id": ids[api],
        "tool_calls": [],
        "unreadable": 0,
    }
    return {**base, **NORMAL[api]}


@pytest.mark.parametrize("api", STREAMS)
def test_a_normal_stream_is_read(api: str) -> None:
    """The baseline the odd rows vary: roles and observation of a normal answer."""
    dialect, stream, roles = STREAMS[api]
    assert observed(dialect, stream) == (roles, normal_seen(api))


@pytest.mark.parametrize("odd", ODD_EVENTS.values(), ids=ODD_EVENTS)
def test_an_odd_event_is_counted_and_the_rest_still_read(odd: Odd) -> None:
    """One odd event: no exception, its role kept, it is counted, the rest is read."""
    dialect, stream, roles = STREAMS[odd.api]
    stream = [*stream[: odd.at], odd.data, *stream[odd.at + 1 :]]
    expected_roles = list(roles)
    if odd.role is not None:
        expected_roles[odd.at] = odd.role
    expected = {**normal_seen(odd.api), **odd.seen, "unreadable": odd.unreadable}
    assert observed(dialect, stream) == (expected_roles, expected)


def test_a_huge_tool_call_index_makes_no_huge_list() -> None:
    """An index no model reaches is not followed (it would allocate that many calls)."""
    watcher = OPENAI_CHAT.new_watcher()
    call = {"index": 10**9, "function": {"name": "f"}}
    watcher.feed(event({"choices": [{"delta": {"tool_calls": [call]}}]}))
    assert watcher.observation.tool_calls == []


def test_comments_and_empty_events_are_not_unreadable() -> None:
    """An event with no data (a keep-alive comment) is legitimate SSE, not an odd one."""
    for dialect in (ANTHROPIC, OPENAI_CHAT, OPENAI_RESPONSES):
        watcher = dialect.new_watcher()
        watcher.feed(SseEvent(None, b"", b": keep-alive\n\n"))
        assert watcher.observation.unreadable == 0


def test_the_first_chat_chunk_is_first_even_after_a_comment() -> None:
    """A keep-alive comment before the first chunk does not move where FIRST is."""
    watcher = OPENAI_CHAT.new_watcher()
    watcher.feed(SseEvent(None, b"", b": OPENROUTER PROCESSING\n\n"))
    assert watcher.feed(event(CHAT_STREAM[0])) is FIRST


ANTHROPIC_BODY = {
    "id": "msg_1",
    "content": [{"type": "text", "text": "No."}],
    "stop_reason": "refusal",
    "usage": {"input_tokens": 1},
}
CHAT_BODY = {
    "id": "c1",
    "choices": [{"message": {"content": "No."}, "finish_reason": "content_filter"}],
}
RESPONSES_BODY = {
    "id": "r1",
    "status": "completed",
    "output": [{"type": "message", "content": [{"type": "output_text", "text": "No."}]}],
}
BODIES: dict[str, tuple[Dialect, dict[str, Any]]] = {
    "anthropic": (ANTHROPIC, ANTHROPIC_BODY),
    "chat": (OPENAI_CHAT, CHAT_BODY),
    "responses": (OPENAI_RESPONSES, RESPONSES_BODY),
}
# (api, fields replaced in the normal body, what is observed then, unreadable)
ODD_BODIES: dict[str, tuple[str, dict[str, Any], dict[str, Any], int]] = {
    "anthropic: content is a string": (
        "anthropic",
        {"content": "No."},
        {"text_head": ""},
        1,
    ),
    "anthropic: a content block is a string": (
        "anthropic",
        {"content": ["x", {"type": "text", "text": "No."}]},
        {},
        1,
    ),
    "anthropic: stop_reason is a number": (
        "anthropic",
        {"stop_reason": 2},
        {"stop_reason": None, "provider_refusal": False},
        1,
    ),
    "anthropic: usage is a string (not read)": ("anthropic", {"usage": "many"}, {}, 0),
    "anthropic: the id is a number": ("anthropic", {"id": 7}, {"response_id": None}, 1),
    "chat: choices is an object": (
        "chat",
        {"choices": {"0": CHAT_BODY["choices"][0]}},
        {"text_head": "", "stop_reason": None, "provider_refusal": False},
        1,
    ),
    "chat: message is a string": (
        "chat",
        {"choices": [{"message": "No.", "finish_reason": "content_filter"}]},
        {"text_head": ""},
        1,
    ),
    "chat: content is a list": (
        "chat",
        {"choices": [{"message": {"content": ["No."]}, "finish_reason": "content_filter"}]},
        {"text_head": ""},
        1,
    ),
    "chat: a tool call's function is null": (
        "chat",
        {
            "choices": [
                {
                    "message": {"content": "No.", "tool_calls": [{"id": "t", "function": None}]},
                    "finish_reason": "content_filter",
                }
            ]
        },
        {"tool_calls": [""]},
        0,
    ),
    "chat: tool_calls is a string": (
        "chat",
        {
            "choices": [
                {
                    "message": {"content": "No.", "tool_calls": "f"},
                    "finish_reason": "content_filter",
                }
            ]
        },
        {},
        1,
    ),
    "responses: output is a string": (
        "responses",
        {"output": "No."},
        {"text_head": ""},
        1,
    ),
    "responses: an output item is a string": (
        "responses",
        {"output": ["No.", *RESPONSES_BODY["output"]]},
        {},
        1,
    ),
    "responses: an item's content is a string": (
        "responses",
        {"output": [{"type": "message", "content": "No."}]},
        {"text_head": ""},
        1,
    ),
    "responses: status is a number": (
        "responses",
        {"status": 200},
        {"stop_reason": None},
        1,
    ),
}


def body_seen(dialect: Dialect, body: dict[str, Any]) -> dict[str, Any]:
    """What a fresh watcher observes of a whole body."""
    watcher = dialect.new_watcher()
    watcher.read_body(body)
    _, seen = observed(dialect, [])
    obs = watcher.observation
    return {
        **seen,
        "stop_reason": obs.stop_reason,
        "provider_refusal": obs.provider_refusal,
        "text_head": obs.text_head,
        "response_id": obs.response_id,
        "tool_calls": [call.name for call in obs.tool_calls],
        "unreadable": obs.unreadable,
    }


@pytest.mark.parametrize("api", BODIES)
def test_a_normal_body_is_read(api: str) -> None:
    """The baseline the odd body rows vary."""
    dialect, body = BODIES[api]
    assert body_seen(dialect, body) == normal_seen(api)


@pytest.mark.parametrize(
    ("api", "fields", "seen", "unreadable"), ODD_BODIES.values(), ids=ODD_BODIES
)
def test_an_odd_body_is_counted_and_the_rest_still_read(
    api: str, fields: dict[str, Any], seen: dict[str, Any], unreadable: int
) -> None:
    """A body with an odd field: no exception, counted once, the rest read."""
    dialect, body = BODIES[api]
    expected = {**normal_seen(api), **seen, "unreadable": unreadable}
    assert body_seen(dialect, {**body, **fields}) == expected
