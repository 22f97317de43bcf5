"""The end-tool filters as event tables: upstream events in, what the client sees out."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.dialects import ANTHROPIC, OPENAI_CHAT, OPENAI_RESPONSES
from gateway.dialects.end_tool import DROP
from gateway.dialects.rewrite import END_TOOL

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
