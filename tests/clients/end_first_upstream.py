"""A small upstream whose model calls the end tool before anything else it says.

Real models put a tool call wherever they like; the simulator always puts it last. This
one answers every request with the `end_conversation` call first, then a text item, and
echoes the tools it was sent, as OpenAI and Anthropic do.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from typing import Any

import orjson
from aiohttp import web

TEXT = "I'm ending this conversation now."
END = "end_conversation"
_ARGUMENTS = '{"reason": "persistent harmful requests"}'

JSON = dict[str, Any]


def _sse(events: Iterator[tuple[str | None, JSON]]) -> bytes:
    """Events as an SSE body; `None` names no event (Chat Completions)."""
    out = []
    for name, data in events:
        head = f"event: {name}\n" if name else ""
        out.append(head.encode() + b"data: " + orjson.dumps(data) + b"\n\n")
    return b"".join(out)


def _response(request: JSON, status: str, output: list[JSON]) -> JSON:
    return {
        "id": "resp_endfirst",
        "object": "response",
        "created_at": int(time.time()),
        "status": status,
        "model": request.get("model", "gpt-4.1"),
        "output": output,
        "tools": request.get("tools", []),
        "tool_choice": request.get("tool_choice", "auto"),
        "parallel_tool_calls": True,
        "usage": {"input_tokens": 5, "output_tokens": 9, "total_tokens": 14},
    }


def _items() -> tuple[JSON, JSON]:
    call = {
        "type": "function_call",
        "id": "fc_endfirst",
        "call_id": "call_endfirst",
        "name": END,
        "arguments": _ARGUMENTS,
        "status": "completed",
    }
    text = {"type": "output_text", "text": TEXT, "annotations": []}
    message = {
        "type": "message",
        "id": "msg_endfirst",
        "role": "assistant",
        "status": "completed",
        "content": [text],
    }
    return call, message


def _responses_events(request: JSON) -> Iterator[tuple[str | None, JSON]]:
    call, message = _items()
    seq = itertools.count()
    yield (
        "response.created",
        {
            "type": "response.created",
            "sequence_number": next(seq),
            "response": _response(request, "in_progress", []),
        },
    )
    yield (
        "response.output_item.added",
        {
            "type": "response.output_item.added",
            "sequence_number": next(seq),
            "output_index": 0,
            "item": {**call, "arguments": "", "status": "in_progress"},
        },
    )
    for kind, extra in (("delta", {"delta": _ARGUMENTS}), ("done", {"arguments": _ARGUMENTS})):
        yield (
            f"response.function_call_arguments.{kind}",
            {
                "type": f"response.function_call_arguments.{kind}",
                "sequence_number": next(seq),
                "output_index": 0,
                "item_id": call["id"],
                **extra,
            },
        )
    yield (
        "response.output_item.done",
        {
            "type": "response.output_item.done",
            "sequence_number": next(seq),
            "output_index": 0,
            "item": call,
        },
    )
    part = message["content"][0]
    at = {"output_index": 1, "item_id": message["id"], "content_index": 0}
    yield (
        "response.output_item.added",
        {
            "type": "response.output_item.added",
            "sequence_number": next(seq),
            "output_index": 1,
            "item": {**message, "content": [], "status": "in_progress"},
        },
    )
    yield (
        "response.content_part.added",
        {
            "type": "response.content_part.added",
            "sequence_number": next(seq),
            **at,
            "part": {**part, "text": ""},
        },
    )
    yield (
        "response.output_text.delta",
        {
            "type": "response.output_text.delta",
            "sequence_number": next(seq),
            **at,
            "delta": TEXT,
            "logprobs": [],
        },
    )
    yield (
        "response.output_text.done",
        {
            "type": "response.output_text.done",
            "sequence_number": next(seq),
            **at,
            "text": TEXT,
            "logprobs": [],
        },
    )
    yield (
        "response.content_part.done",
        {
            "type": "response.content_part.done",
            "sequence_number": next(seq),
            **at,
            "part": part,
        },
    )
    yield (
        "response.output_item.done",
        {
            "type": "response.output_item.done",
            "sequence_number": next(seq),
            "output_index": 1,
            "item": message,
        },
    )
    yield (
        "response.completed",
        {
            "type": "response.completed",
            "sequence_number": next(seq),
            "response": _response(request, "completed", [call, message]),
        },
    )


def _anthropic(request: JSON) -> JSON:
    return {
        "id": "msg_endfirst",
        "type": "message",
        "role": "assistant",
        "model": request.get("model", "claude"),
        "content": [
            {"type": "tool_use", "id": "toolu_endfirst", "name": END, "input": {}},
            {"type": "text", "text": TEXT},
        ],
        "stop_reason": "tool_use",
        "stop_sequence": None,
        "usage": {"input_tokens": 5, "output_tokens": 9},
    }


def _anthropic_events(request: JSON) -> Iterator[tuple[str | None, JSON]]:
    body = _anthropic(request)
    call, text = body["content"]
    start = {
        **body,
        "content": [],
        "stop_reason": None,
        "usage": {"input_tokens": 5, "output_tokens": 1},
    }
    yield "message_start", {"type": "message_start", "message": start}
    deltas = (
        {"type": "input_json_delta", "partial_json": _ARGUMENTS},
        {"type": "text_delta", "text": TEXT},
    )
    for index, (block, delta) in enumerate(zip((call, {**text, "text": ""}), deltas, strict=True)):
        yield (
            "content_block_start",
            {"type": "content_block_start", "index": index, "content_block": block},
        )
        yield "content_block_delta", {"type": "content_block_delta", "index": index, "delta": delta}
        yield "content_block_stop", {"type": "content_block_stop", "index": index}
    yield (
        "message_delta",
        {
            "type": "message_delta",
            "delta": {"stop_reason": "tool_use", "stop_sequence": None},
            "usage": {"output_tokens": 9},
        },
    )
    yield "message_stop", {"type": "message_stop"}


def _chat_events(request: JSON) -> Iterator[tuple[str | None, JSON]]:
    head = {
        "id": "chatcmpl-endfirst",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": request.get("model", "gpt-4.1"),
    }
    call = {"index": 0, "id": "call_endfirst", "type": "function"}
    deltas: list[tuple[JSON, str | None]] = [
        (
            {
                "role": "assistant",
                "tool_calls": [{**call, "function": {"name": END, "arguments": ""}}],
            },
            None,
        ),
        ({"tool_calls": [{"index": 0, "function": {"arguments": _ARGUMENTS}}]}, None),
        ({"content": TEXT}, None),
        ({}, "tool_calls"),
    ]
    for delta, finish in deltas:
        choice = {"index": 0, "delta": delta, "finish_reason": finish}
        yield None, {**head, "choices": [choice]}


def _chat(request: JSON) -> JSON:
    call = {"id": "call_endfirst", "type": "function", "function": {"name": END, "arguments": "{}"}}
    message = {"role": "assistant", "content": TEXT, "tool_calls": [call]}
    return {
        "id": "chatcmpl-endfirst",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": request.get("model", "gpt-4.1"),
        "choices": [{"index": 0, "message": message, "finish_reason": "tool_calls"}],
        "usage": {"prompt_tokens": 5, "completion_tokens": 9, "total_tokens": 14},
    }


async def responses(request: web.Request) -> web.Response:
    """POST /v1/responses: the end call at output index 0, the message at 1."""
    body = orjson.loads(await request.read())
    if body.get("stream"):
        return web.Response(body=_sse(_responses_events(body)), content_type="text/event-stream")
    call, message = _items()
    return web.json_response(_response(body, "completed", [call, message]))


async def messages(request: web.Request) -> web.Response:
    """POST /v1/messages: the tool_use block (index 0) before the text block (index 1)."""
    body = orjson.loads(await request.read())
    if body.get("stream"):
        return web.Response(body=_sse(_anthropic_events(body)), content_type="text/event-stream")
    return web.json_response(_anthropic(body))


async def chat(request: web.Request) -> web.Response:
    """POST /v1/chat/completions: the end call's chunks before the text."""
    body = orjson.loads(await request.read())
    if body.get("stream"):
        events = _sse(_chat_events(body)) + b"data: [DONE]\n\n"
        return web.Response(body=events, content_type="text/event-stream")
    return web.json_response(_chat(body))


def create_end_first_app() -> web.Application:
    """The upstream app: all three APIs, on the paths the gateway forwards to."""
    app = web.Application()
    app.router.add_post("/v1/responses", responses)
    app.router.add_post("/v1/messages", messages)
    app.router.add_post("/v1/chat/completions", chat)
    return app
