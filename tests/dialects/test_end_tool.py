"""The end-tool filters take out the gateway's own call, and leave what they cannot read.

Event tables per dialect: after the end tool's call was seen, events come; each is
dropped, edited as stated, left unchanged (None), or left as it came and said to be odd
(ODD, which the editor counts). None raises.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from gateway.dialects import ANTHROPIC, OPENAI_CHAT, OPENAI_RESPONSES, Dialect
from gateway.dialects.end_tool import DROP, ODD, EndToolFilter
from gateway.dialects.rewrite import END_TOOL

DIALECTS: dict[str, Dialect] = {d.name: d for d in (ANTHROPIC, OPENAI_CHAT, OPENAI_RESPONSES)}


def end_tool_filter(name: str) -> EndToolFilter:
    """A fresh filter of the dialect named `name`."""
    return DIALECTS[name].end_tool_filter()


END_CALLS: dict[str, dict[str, Any]] = {
    "anthropic": {
        "type": "content_block_start",
        "index": 1,
        "content_block": {"type": "tool_use", "name": END_TOOL},
    },
    "openai_chat": {
        "choices": [{"delta": {"tool_calls": [{"index": 0, "function": {"name": END_TOOL}}]}}]
    },
    "openai_responses": {
        "type": "response.output_item.added",
        "output_index": 1,
        "item": {"type": "function_call", "name": END_TOOL},
    },
}
# (dialect, an event after the end call, what the filter makes of it)
AFTER_THE_CALL: dict[str, tuple[str, Any, Any]] = {
    "anthropic: the call's own delta is dropped": (
        "anthropic",
        {"type": "content_block_delta", "index": 1, "delta": {"type": "input_json_delta"}},
        DROP,
    ),
    "anthropic: a later block is renumbered": (
        "anthropic",
        {"type": "content_block_start", "index": 2, "content_block": {"type": "text"}},
        {"type": "content_block_start", "index": 1, "content_block": {"type": "text"}},
    ),
    "anthropic: a string index is left alone": (
        "anthropic",
        {"type": "content_block_delta", "index": "2", "delta": {}},
        ODD,
    ),
    "anthropic: a list index is left alone": (
        "anthropic",
        {"type": "content_block_stop", "index": [1]},
        ODD,
    ),
    "anthropic: a content_block that is a string": (
        "anthropic",
        {"type": "content_block_start", "index": 0, "content_block": "tool_use"},
        None,
    ),
    "anthropic: a message_delta whose delta is a string": (
        "anthropic",
        {"type": "message_delta", "delta": "tool_use"},
        ODD,
    ),
    "anthropic: the stop reason is made ordinary": (
        "anthropic",
        {"type": "message_delta", "delta": {"stop_reason": "tool_use"}},
        {"type": "message_delta", "delta": {"stop_reason": "end_turn"}},
    ),
    "chat: choices is an object": ("openai_chat", {"choices": {"0": {}}}, ODD),
    "chat: a choice is a string": ("openai_chat", {"choices": ["x"]}, ODD),
    "chat: delta is a string": ("openai_chat", {"choices": [{"delta": "x"}]}, ODD),
    "chat: tool_calls is an object": (
        "openai_chat",
        {"choices": [{"delta": {"tool_calls": {"index": 0}}}]},
        ODD,
    ),
    "chat: a tool call is a string": (
        "openai_chat",
        {"choices": [{"delta": {"tool_calls": ["f"]}}]},
        ODD,
    ),
    "chat: a tool call's index is a string": (
        "openai_chat",
        {"choices": [{"delta": {"tool_calls": [{"index": "0"}]}}]},
        ODD,
    ),
    "chat: a tool call's function is null": (
        "openai_chat",
        {"choices": [{"delta": {"tool_calls": [{"index": 1, "function": None}]}}]},
        {
            "choices": [
                {"delta": {"tool_calls": [{"index": 0, "function": None}]}, "finish_reason": None}
            ]
        },
    ),
    "chat: the call's own delta is dropped": (
        "openai_chat",
        {"choices": [{"delta": {"tool_calls": [{"index": 0, "function": {"arguments": "{}"}}]}}]},
        DROP,
    ),
    "chat: the finish reason is made ordinary": (
        "openai_chat",
        {"choices": [{"delta": {}, "finish_reason": "tool_calls"}]},
        {"choices": [{"delta": {}, "finish_reason": "stop"}]},
    ),
    "responses: the call's events are dropped": (
        "openai_responses",
        {"type": "response.function_call_arguments.delta", "output_index": 1},
        DROP,
    ),
    "responses: an output_index that is a list": (
        "openai_responses",
        {"type": "response.output_text.delta", "output_index": [1]},
        ODD,
    ),
    "responses: an item that is a string keeps its place, closed up": (
        "openai_responses",
        {"type": "response.output_item.added", "output_index": 2, "item": END_TOOL},
        {"type": "response.output_item.added", "output_index": 1, "item": END_TOOL},
    ),
    "responses: a final response that is a string": (
        "openai_responses",
        {"type": "response.completed", "response": "done"},
        ODD,
    ),
    "responses: a final output that is a string": (
        "openai_responses",
        {"type": "response.completed", "response": {"output": "x"}},
        ODD,
    ),
    "responses: a final output with a string item": (
        "openai_responses",
        {"type": "response.completed", "response": {"output": ["x", {"name": END_TOOL}]}},
        ODD,
    ),
    "responses: the call leaves the final output": (
        "openai_responses",
        {
            "type": "response.completed",
            "response": {"output": [{"type": "function_call", "name": END_TOOL}]},
        },
        {"type": "response.completed", "response": {"output": []}},
    ),
}


@pytest.mark.parametrize(
    ("dialect", "data", "expected"), AFTER_THE_CALL.values(), ids=AFTER_THE_CALL
)
def test_events_after_the_end_call(dialect: str, data: Any, expected: Any) -> None:
    """Each event is dropped, edited as stated, or left alone; the input is not changed."""
    end_filter = end_tool_filter(dialect)
    assert end_filter.event(END_CALLS[dialect]) == DROP
    before = copy.deepcopy(data)
    assert end_filter.event(data) == expected
    assert data == before


ODD_BODIES: dict[str, tuple[str, dict[str, Any]]] = {
    "anthropic: content is a string": ("anthropic", {"content": "x", "stop_reason": "tool_use"}),
    "anthropic: a block is a string": ("anthropic", {"content": ["x", {"name": END_TOOL}]}),
    "chat: choices is an object": ("openai_chat", {"choices": {"0": {}}}),
    "chat: a choice is a string": ("openai_chat", {"choices": ["x"]}),
    "chat: message is a string": ("openai_chat", {"choices": [{"message": "x"}]}),
    "chat: tool_calls is a string": (
        "openai_chat",
        {"choices": [{"message": {"tool_calls": "f"}}]},
    ),
    "chat: a tool call is a string": (
        "openai_chat",
        {"choices": [{"message": {"tool_calls": ["f", {"function": {"name": END_TOOL}}]}}]},
    ),
    "responses: output is a string": ("openai_responses", {"output": "x"}),
    "responses: an item is a string": ("openai_responses", {"output": ["x", {"name": END_TOOL}]}),
}


@pytest.mark.parametrize(("dialect", "body"), ODD_BODIES.values(), ids=ODD_BODIES)
def test_an_odd_body_is_left_alone(dialect: str, body: dict[str, Any]) -> None:
    """A body the filter cannot read is not changed, and nothing raises."""
    before = copy.deepcopy(body)
    assert end_tool_filter(dialect).body(body) is False
    assert body == before


BODIES_WITH_THE_CALL: dict[str, tuple[str, dict[str, Any], dict[str, Any]]] = {
    "anthropic": (
        "anthropic",
        {"content": [{"type": "tool_use", "name": END_TOOL}], "stop_reason": "tool_use"},
        {"content": [], "stop_reason": "end_turn"},
    ),
    "chat": (
        "openai_chat",
        {
            "choices": [
                {
                    "message": {"tool_calls": [{"function": {"name": END_TOOL}}]},
                    "finish_reason": "tool_calls",
                }
            ]
        },
        {"choices": [{"message": {"tool_calls": None}, "finish_reason": "stop"}]},
    ),
    "responses": (
        "openai_responses",
        {"output": [{"type": "function_call", "name": END_TOOL}]},
        {"output": []},
    ),
}


@pytest.mark.parametrize(
    ("dialect", "body", "expected"), BODIES_WITH_THE_CALL.values(), ids=BODIES_WITH_THE_CALL
)
def test_the_end_call_leaves_a_body(
    dialect: str, body: dict[str, Any], expected: dict[str, Any]
) -> None:
    """The readable case: the call is taken out and the stop reason made ordinary."""
    assert end_tool_filter(dialect).body(body) is True
    assert body == expected


CLIENT_TOOL = {"type": "function", "name": "lookup", "parameters": {}}
END_TOOL_DEF = {"type": "function", "name": END_TOOL, "parameters": {}}
END_CALL = {"type": "function_call", "id": "fc_1", "name": END_TOOL, "arguments": "{}"}
MESSAGE = {"type": "message", "id": "msg_1", "role": "assistant", "content": []}


def _response(output: list[Any]) -> dict[str, Any]:
    return {"id": "resp_1", "tools": [CLIENT_TOOL, END_TOOL_DEF], "output": output}


def _clean(output: list[Any]) -> dict[str, Any]:
    return {"id": "resp_1", "tools": [CLIENT_TOOL], "output": output}


# The end call comes first: every later item moves up one place.
RESPONSES_END_FIRST: list[tuple[dict[str, Any], Any]] = [
    (
        {"type": "response.created", "response": _response([])},
        {"type": "response.created", "response": _clean([])},
    ),
    ({"type": "response.output_item.added", "output_index": 0, "item": END_CALL}, DROP),
    (
        {"type": "response.function_call_arguments.delta", "output_index": 0, "delta": "{}"},
        DROP,
    ),
    ({"type": "response.output_item.done", "output_index": 0, "item": END_CALL}, DROP),
    (
        {"type": "response.output_item.added", "output_index": 1, "item": MESSAGE},
        {"type": "response.output_item.added", "output_index": 0, "item": MESSAGE},
    ),
    (
        {"type": "response.output_text.delta", "output_index": 1, "content_index": 0, "delta": "x"},
        {"type": "response.output_text.delta", "output_index": 0, "content_index": 0, "delta": "x"},
    ),
    (
        {"type": "response.output_item.done", "output_index": 1, "item": MESSAGE},
        {"type": "response.output_item.done", "output_index": 0, "item": MESSAGE},
    ),
    (
        {"type": "response.completed", "response": _response([END_CALL, MESSAGE])},
        {"type": "response.completed", "response": _clean([MESSAGE])},
    ),
]


def test_responses_end_call_first_closes_up_indexes_and_echoed_tools() -> None:
    """The end call before a message: its events go, the message becomes item 0, and no
    response object echoes the gateway's tool."""
    flt = OPENAI_RESPONSES.end_tool_filter()
    for event, expected in RESPONSES_END_FIRST:
        out = flt.event(event)
        assert (out if out is not None else event) == expected, event["type"]


def test_responses_tools_echo_is_cleaned_even_when_the_tool_is_not_called() -> None:
    """The offered tool never shows in `tools`, called or not, stream or body."""
    flt = OPENAI_RESPONSES.end_tool_filter()
    event = {"type": "response.in_progress", "response": _response([])}
    assert flt.event(event) == {"type": "response.in_progress", "response": _clean([])}
    body = _response([MESSAGE])
    assert OPENAI_RESPONSES.end_tool_filter().body(body)
    assert body == _clean([MESSAGE])


def test_responses_body_drops_the_call_wherever_it_stands() -> None:
    """A whole Responses body loses the end call and keeps the other items in order."""
    call = {**END_CALL}
    body = _response([call, MESSAGE, {**MESSAGE, "id": "msg_2"}])
    assert OPENAI_RESPONSES.end_tool_filter().body(body)
    assert [i["id"] for i in body["output"]] == ["msg_1", "msg_2"]


ANTHROPIC_TABLE: list[tuple[dict[str, Any], Any]] = [
    (
        {
            "type": "content_block_start",
            "index": 0,
            "content_block": {"type": "tool_use", "id": "t", "name": END_TOOL, "input": {}},
        },
        DROP,
    ),
    ({"type": "content_block_stop", "index": 0}, DROP),
    (
        {"type": "content_block_start", "index": 1, "content_block": {"type": "text", "text": ""}},
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
    ),
    (
        {"type": "message_delta", "delta": {"stop_reason": "tool_use"}},
        {"type": "message_delta", "delta": {"stop_reason": "end_turn"}},
    ),
]

CHAT_TABLE: list[tuple[dict[str, Any], Any]] = [
    (
        {
            "choices": [
                {
                    "index": 0,
                    "delta": {
                        "tool_calls": [
                            {"index": 0, "function": {"name": END_TOOL, "arguments": ""}}
                        ]
                    },
                    "finish_reason": None,
                }
            ]
        },
        DROP,
    ),
    (
        {"choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]},
        {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]},
    ),
]


@pytest.mark.parametrize(
    ("dialect", "table"),
    [(ANTHROPIC, ANTHROPIC_TABLE), (OPENAI_CHAT, CHAT_TABLE)],
    ids=["anthropic", "chat"],
)
def test_end_call_is_taken_out_and_the_stop_made_ordinary(dialect: Any, table: Any) -> None:
    """Messages and Chat: the call's events go, indexes close up, the stop is ordinary."""
    flt = dialect.end_tool_filter()
    for event, expected in table:
        out = flt.event(event)
        assert (out if out is not None else event) == expected
