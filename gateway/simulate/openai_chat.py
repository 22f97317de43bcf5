"""OpenAI Chat Completions, as the simulator speaks it (``POST /v1/chat/completions``)."""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from typing import Any, Final

from gateway.simulate import wire
from gateway.simulate.behaviour import Reply, ToolSpec
from gateway.simulate.wire import BadRequest, Family, JSONObject, SimRequest, SseEvent

SYSTEM_FINGERPRINT: Final = "fp_5im01a7e"
_ROLES: Final = frozenset({"system", "developer", "user", "assistant", "tool", "function"})
_TEXT: Final = frozenset({"text"})
_ASSISTANT_TEXT: Final = frozenset({"text", "refusal"})


def _finish_reason(reply: Reply) -> str:
    if reply.kind == "refusal":
        return "content_filter"
    if reply.tool_call is not None:
        return "tool_calls"
    return "stop"


def _usage(reply: Reply) -> JSONObject:
    return {
        "prompt_tokens": reply.input_tokens,
        "completion_tokens": reply.output_tokens,
        "total_tokens": reply.input_tokens + reply.output_tokens,
        "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": 0,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }


def _assistant_text(message: Mapping[str, Any]) -> str:
    text = wire.text_of(message.get("content"), _ASSISTANT_TEXT)
    refusal = message.get("refusal")
    return "\n".join(part for part in (text, refusal) if isinstance(part, str) and part)


def _tools(tools: object) -> list[ToolSpec]:
    if tools is None:
        return []
    if not isinstance(tools, list) or not all(isinstance(tool, Mapping) for tool in tools):
        raise BadRequest("tools: must be a list of tool objects")
    specs: list[ToolSpec] = []
    for tool in tools:
        kind = tool.get("type", "function")
        definition = tool.get(kind) if isinstance(kind, str) else None
        if not isinstance(definition, Mapping):
            raise BadRequest("tools: each tool needs its definition, e.g. a function object")
        specs.append(wire.tool_spec(definition.get("name"), definition.get("parameters")))
    return specs


class ChatDialect:
    """OpenAI Chat Completions: ``chat.completion`` bodies and ``chat.completion.chunk`` streams."""

    family: Final[Family] = "openai"

    def parse(self, body: object) -> SimRequest:
        """Read a Chat Completions request."""
        request = wire.require_object(body)
        model = wire.require_str(request, "model")
        messages = wire.require_list(request, "messages")
        roles = [wire.role_of(message, _ROLES) for message in messages]
        all_text = [_assistant_text(message) for message in messages]
        newest = max(
            (i for i, role in enumerate(roles) if role in {"user", "tool", "function"}),
            default=-1,
        )
        if newest < 0:
            raise BadRequest("messages: at least one user message is required")
        if roles[newest] == "user":
            user_text = wire.text_of(messages[newest].get("content"), _TEXT)
            seed = user_text
        else:
            first_result = newest
            while first_result > 0 and roles[first_result - 1] in {"tool", "function"}:
                first_result -= 1
            user_text = ""
            seed = "\n".join(all_text[first_result : newest + 1])
        options = request.get("stream_options")
        return SimRequest(
            conversation=wire.conversation(
                user_text=user_text,
                seed_text=seed,
                assistant_texts=[
                    text
                    for text, role in zip(all_text[:newest], roles, strict=False)
                    if role == "assistant"
                ],
                tools=_tools(request.get("tools")),
                all_text=all_text,
            ),
            model=model,
            stream=request.get("stream") is True,
            include_usage=isinstance(options, Mapping) and options.get("include_usage") is True,
            raw=request,
        )

    def body(self, reply: Reply, request: SimRequest) -> JSONObject:
        """A ``chat.completion`` object."""
        refused = reply.kind == "refusal"
        message: JSONObject = {
            "role": "assistant",
            "content": None if refused or not reply.text else reply.text,
            "refusal": reply.text if refused else None,
            "annotations": [],
        }
        if reply.tool_call is not None:
            message["tool_calls"] = [
                {
                    "id": wire.new_id("call_"),
                    "type": "function",
                    "function": {
                        "name": reply.tool_call.name,
                        "arguments": reply.tool_call.arguments_json(),
                    },
                }
            ]
        choice = {
            "index": 0,
            "message": message,
            "logprobs": None,
            "finish_reason": _finish_reason(reply),
        }
        return {
            "id": wire.new_id("chatcmpl-", 29),
            "object": "chat.completion",
            "created": int(time.time()),
            "model": request.model,
            "choices": [choice],
            "usage": _usage(reply),
            "service_tier": "default",
            "system_fingerprint": SYSTEM_FINGERPRINT,
        }

    def events(self, reply: Reply, request: SimRequest) -> Iterator[SseEvent]:
        """Role chunk, content or refusal deltas, tool call deltas, finish, usage, ``[DONE]``."""
        envelope: JSONObject = {
            "id": wire.new_id("chatcmpl-", 29),
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": request.model,
            "service_tier": "default",
            "system_fingerprint": SYSTEM_FINGERPRINT,
        }
        if request.include_usage:
            envelope["usage"] = None

        def chunk(delta: JSONObject, finish: str | None = None, *, tokens: bool = True) -> SseEvent:
            choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
            return SseEvent({**envelope, "choices": [choice]}, delta=tokens)

        refused = reply.kind == "refusal"
        first: JSONObject = {"role": "assistant", "content": "", "refusal": None}
        if refused:
            first.update(content=None, refusal="")
        elif not reply.text:
            first["content"] = None
        yield chunk(first, tokens=False)
        key = "refusal" if refused else "content"
        for piece in reply.pieces():
            yield chunk({key: piece})
        if reply.tool_call is not None:
            call = reply.tool_call
            head = {
                "index": 0,
                "id": wire.new_id("call_"),
                "type": "function",
                "function": {"name": call.name, "arguments": ""},
            }
            yield chunk({"tool_calls": [head]}, tokens=False)
            for piece in wire.chunks(call.arguments_json()):
                yield chunk({"tool_calls": [{"index": 0, "function": {"arguments": piece}}]})
        yield chunk({}, _finish_reason(reply), tokens=False)
        if request.include_usage:
            yield SseEvent({**envelope, "choices": [], "usage": _usage(reply)})
        yield SseEvent("[DONE]")
