"""The OpenAI Responses API, as the simulator speaks it (``POST /v1/responses``)."""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from typing import Any, Final

from gateway.simulate import wire
from gateway.simulate.behaviour import Reply, ToolCall, ToolSpec
from gateway.simulate.wire import BadRequest, Family, JSONObject, SimRequest, SseEvent

_TEXT: Final = frozenset({"input_text", "output_text", "text", "refusal"})
_ROLES: Final = frozenset({"user", "assistant", "system", "developer"})


def _item_text(item: Mapping[str, Any]) -> str:
    kind = item.get("type", "message")
    if kind == "message":
        wire.role_of(item, _ROLES)
        return wire.text_of(item.get("content"), _TEXT)
    if kind == "function_call_output":
        output = item.get("output")
        return output if isinstance(output, str) else wire.text_of(output, _TEXT)
    return ""


def _tools(tools: object) -> list[ToolSpec]:
    if tools is None:
        return []
    if not isinstance(tools, list) or not all(isinstance(tool, Mapping) for tool in tools):
        raise BadRequest("tools: must be a list of tool objects")
    return [
        wire.tool_spec(tool.get("name"), tool.get("parameters"))
        for tool in tools
        if tool.get("type") == "function"
    ]


def _usage(reply: Reply) -> JSONObject:
    return {
        "input_tokens": reply.input_tokens,
        "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
        "output_tokens": reply.output_tokens,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": reply.input_tokens + reply.output_tokens,
    }


def _part(reply: Reply, text: str) -> JSONObject:
    if reply.kind == "refusal":
        return {"type": "refusal", "refusal": text}
    return {"type": "output_text", "annotations": [], "logprobs": [], "text": text}


class ResponsesDialect:
    """OpenAI Responses: ``response`` bodies and ``response.*`` event streams."""

    family: Final[Family] = "openai"

    def parse(self, body: object) -> SimRequest:
        """Read a Responses request; ``input`` is a string or a list of items."""
        request = wire.require_object(body)
        model = wire.require_str(request, "model")
        raw_input = request.get("input", "")
        instructions = request.get("instructions")
        items: list[Any] = (
            [{"role": "user", "content": raw_input}] if isinstance(raw_input, str) else raw_input
        )
        if not isinstance(items, list) or not all(isinstance(item, Mapping) for item in items):
            raise BadRequest("input: must be a string or a list of input items")
        texts = [_item_text(item) for item in items]
        kinds = [
            "user"
            if item.get("type", "message") == "message" and item.get("role") == "user"
            else str(item.get("role") or item.get("type"))
            for item in items
        ]
        newest = max(
            (i for i, kind in enumerate(kinds) if kind in {"user", "function_call_output"}),
            default=-1,
        )
        user_text = texts[newest] if newest >= 0 and kinds[newest] == "user" else ""
        seed = user_text
        if newest >= 0 and not user_text:
            first = newest
            while first > 0 and kinds[first - 1] == "function_call_output":
                first -= 1
            seed = "\n".join(texts[first : newest + 1])
        history = newest if newest >= 0 else len(items)
        return SimRequest(
            conversation=wire.conversation(
                user_text=user_text,
                seed_text=seed,
                assistant_texts=[texts[i] for i in range(history) if kinds[i] == "assistant"],
                tools=_tools(request.get("tools")),
                all_text=[instructions if isinstance(instructions, str) else "", *texts],
            ),
            model=model,
            stream=request.get("stream") is True,
            include_usage=True,
            raw=request,
        )

    def body(self, reply: Reply, request: SimRequest) -> JSONObject:
        """A completed ``response`` object."""
        ids = _Ids()
        output = [ids.message_item(reply, "completed")] if reply.text else []
        if reply.tool_call is not None:
            output.append(ids.call_item(reply.tool_call, "completed"))
        return _response(request, ids.response, "completed", output, _usage(reply))

    def events(self, reply: Reply, request: SimRequest) -> Iterator[SseEvent]:
        """``response.created`` ... ``response.completed``, each with its ``sequence_number``."""
        for sequence, (payload, delta) in enumerate(self._payloads(reply, request)):
            payload["sequence_number"] = sequence
            yield SseEvent(payload, payload["type"], delta=delta)

    def _payloads(self, reply: Reply, request: SimRequest) -> Iterator[tuple[JSONObject, bool]]:
        ids = _Ids()
        pending = _response(request, ids.response, "in_progress", [], None)
        yield {"type": "response.created", "response": pending}, False
        yield {"type": "response.in_progress", "response": pending}, False
        output: list[JSONObject] = []
        if reply.text:
            yield from self._message(reply, ids, len(output))
            output.append(ids.message_item(reply, "completed"))
        if reply.tool_call is not None:
            index = len(output)
            added = ids.call_item(reply.tool_call, "in_progress")
            added["arguments"] = ""
            yield (
                {"type": "response.output_item.added", "output_index": index, "item": added},
                False,
            )
            where = {"item_id": ids.call, "output_index": index}
            arguments = reply.tool_call.arguments_json()
            for piece in wire.chunks(arguments):
                yield (
                    {"type": "response.function_call_arguments.delta", **where, "delta": piece},
                    True,
                )
            yield (
                {"type": "response.function_call_arguments.done", **where, "arguments": arguments},
                False,
            )
            done = ids.call_item(reply.tool_call, "completed")
            yield {"type": "response.output_item.done", "output_index": index, "item": done}, False
            output.append(done)
        final = _response(request, ids.response, "completed", output, _usage(reply))
        yield {"type": "response.completed", "response": final}, False

    @staticmethod
    def _message(reply: Reply, ids: _Ids, index: int) -> Iterator[tuple[JSONObject, bool]]:
        item = ids.message_item(reply, "in_progress")
        item["content"] = []
        yield {"type": "response.output_item.added", "output_index": index, "item": item}, False
        where = {"item_id": ids.message, "output_index": index, "content_index": 0}
        yield {"type": "response.content_part.added", **where, "part": _part(reply, "")}, False
        if reply.kind == "refusal":
            for piece in reply.pieces():
                yield {"type": "response.refusal.delta", **where, "delta": piece}, True
            yield {"type": "response.refusal.done", **where, "refusal": reply.text}, False
        else:
            for piece in reply.pieces():
                delta = {"type": "response.output_text.delta", **where, "delta": piece}
                yield {**delta, "logprobs": []}, True
            done = {"type": "response.output_text.done", **where, "text": reply.text}
            yield {**done, "logprobs": []}, False
        yield (
            {"type": "response.content_part.done", **where, "part": _part(reply, reply.text)},
            False,
        )
        item = ids.message_item(reply, "completed")
        yield {"type": "response.output_item.done", "output_index": index, "item": item}, False


class _Ids:
    """The ids of one response and its output items, shared by all of its events."""

    def __init__(self) -> None:
        self.response = wire.new_id("resp_", 48)
        self.message = wire.new_id("msg_", 48)
        self.call = wire.new_id("fc_", 48)
        self.call_id = wire.new_id("call_")

    def message_item(self, reply: Reply, status: str) -> JSONObject:
        return {
            "id": self.message,
            "type": "message",
            "status": status,
            "role": "assistant",
            "content": [_part(reply, reply.text)],
        }

    def call_item(self, call: ToolCall, status: str) -> JSONObject:
        return {
            "id": self.call,
            "type": "function_call",
            "status": status,
            "arguments": call.arguments_json(),
            "call_id": self.call_id,
            "name": call.name,
        }


def _response(
    request: SimRequest,
    response_id: str,
    status: str,
    output: list[JSONObject],
    usage: JSONObject | None,
) -> JSONObject:
    raw = request.raw
    now = int(time.time())
    return {
        "id": response_id,
        "object": "response",
        "created_at": now,
        "status": status,
        "background": False,
        "completed_at": now if status == "completed" else None,
        "error": None,
        "incomplete_details": None,
        "instructions": raw.get("instructions"),
        "max_output_tokens": raw.get("max_output_tokens"),
        "max_tool_calls": raw.get("max_tool_calls"),
        "model": request.model,
        "output": output,
        "parallel_tool_calls": raw.get("parallel_tool_calls", True),
        "previous_response_id": raw.get("previous_response_id"),
        "prompt_cache_key": raw.get("prompt_cache_key"),
        "reasoning": raw.get("reasoning") or {"effort": None, "summary": None},
        "safety_identifier": raw.get("safety_identifier"),
        "service_tier": "default",
        "store": raw.get("store", True),
        "temperature": raw.get("temperature", 1.0),
        "text": raw.get("text") or {"format": {"type": "text"}, "verbosity": "medium"},
        "tool_choice": raw.get("tool_choice", "auto"),
        "tools": raw.get("tools") or [],
        "top_logprobs": raw.get("top_logprobs", 0),
        "top_p": raw.get("top_p", 1.0),
        "truncation": raw.get("truncation", "disabled"),
        "usage": usage,
        "user": raw.get("user"),
        "metadata": raw.get("metadata") or {},
    }
