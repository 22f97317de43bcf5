"""The Anthropic Messages API, as the simulator speaks it (``POST /v1/messages``)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, Final

from gateway.simulate import wire
from gateway.simulate.behaviour import Reply, ToolSpec
from gateway.simulate.wire import BadRequest, Family, JSONObject, SimRequest, SseEvent

_TEXT: Final = frozenset({"text"})
_ROLES: Final = frozenset({"user", "assistant"})


def _stop_reason(reply: Reply) -> str:
    if reply.kind == "refusal":
        return "refusal"
    if reply.tool_call is not None:
        return "tool_use"
    return "end_turn"


def _stop_details(reply: Reply) -> JSONObject | None:
    if reply.kind != "refusal":
        return None
    category = "general_harms" if reply.harm else None
    return {"type": "refusal", "category": category, "explanation": None}


def _usage(reply: Reply, output_tokens: int) -> JSONObject:
    return {
        "input_tokens": reply.input_tokens,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 0,
        "cache_creation": {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 0},
        "output_tokens": output_tokens,
        "service_tier": "standard",
    }


def _tool_result_text(block: Mapping[str, Any]) -> str:
    return wire.text_of(block.get("content"), _TEXT)


class AnthropicDialect:
    """Anthropic Messages: ``message`` bodies and ``message_start`` ... ``message_stop`` streams."""

    family: Final[Family] = "anthropic"

    def parse(self, body: object, *, require_max_tokens: bool = True) -> SimRequest:
        """Read a Messages request; ``count_tokens`` bodies need no ``max_tokens``."""
        request = wire.require_object(body)
        model = wire.require_str(request, "model")
        messages = wire.require_list(request, "messages")
        if require_max_tokens and not isinstance(request.get("max_tokens"), int):
            raise BadRequest("max_tokens: field required (an integer)")
        system = wire.text_of(request.get("system"), _TEXT)
        all_text = [system]
        turns: list[tuple[str, str, str]] = []  # role, text, tool output
        for message in messages:
            role = wire.role_of(message, _ROLES)
            content = message.get("content")
            text = wire.text_of(content, _TEXT)
            results = ""
            if isinstance(content, list):
                results = "\n".join(
                    _tool_result_text(block)
                    for block in content
                    if block.get("type") == "tool_result"
                )
            turns.append((role, text, results))
            all_text += [text, results]
        newest = max((i for i, turn in enumerate(turns) if turn[0] == "user"), default=-1)
        if newest < 0:
            raise BadRequest("messages: at least one user message is required")
        _, user_text, results = turns[newest]
        tools = self._tools(request.get("tools"))
        return SimRequest(
            conversation=wire.conversation(
                user_text=user_text,
                seed_text=user_text or results,
                assistant_texts=[text for role, text, _ in turns[:newest] if role == "assistant"],
                tools=tools,
                all_text=all_text,
            ),
            model=model,
            stream=request.get("stream") is True,
            include_usage=True,
            raw=request,
        )

    @staticmethod
    def _tools(tools: object) -> list[ToolSpec]:
        if tools is None:
            return []
        if not isinstance(tools, list) or not all(isinstance(tool, Mapping) for tool in tools):
            raise BadRequest("tools: must be a list of tool objects")
        return [wire.tool_spec(tool.get("name"), tool.get("input_schema")) for tool in tools]

    def body(self, reply: Reply, request: SimRequest) -> JSONObject:
        """A ``message`` object."""
        content: list[JSONObject] = []
        if reply.text:
            content.append({"type": "text", "text": reply.text})
        if reply.tool_call is not None:
            content.append(
                {
                    "type": "tool_use",
                    "id": wire.new_id("toolu_01"),
                    "name": reply.tool_call.name,
                    "input": dict(reply.tool_call.arguments),
                }
            )
        return {
            "id": wire.new_id("msg_01"),
            "type": "message",
            "role": "assistant",
            "model": request.model,
            "content": content,
            "stop_reason": _stop_reason(reply),
            "stop_sequence": None,
            "stop_details": _stop_details(reply),
            "usage": _usage(reply, reply.output_tokens),
        }

    def events(self, reply: Reply, request: SimRequest) -> Iterator[SseEvent]:
        """``message_start``, a ``ping``, content blocks, ``message_delta``, ``message_stop``."""
        start = self.body(reply, request)
        start.update(content=[], stop_reason=None, stop_details=None)
        start["usage"] = _usage(reply, 1)
        yield SseEvent({"type": "message_start", "message": start}, "message_start")
        index = 0
        if reply.text:
            yield _block_start(index, {"type": "text", "text": ""})
            yield SseEvent({"type": "ping"}, "ping")
            for piece in reply.pieces():
                yield _block_delta(index, {"type": "text_delta", "text": piece})
            yield _block_stop(index)
            index += 1
        if reply.tool_call is not None:
            block = {
                "type": "tool_use",
                "id": wire.new_id("toolu_01"),
                "name": reply.tool_call.name,
                "input": {},
            }
            yield _block_start(index, block)
            if index == 0:
                yield SseEvent({"type": "ping"}, "ping")
            yield _block_delta(index, {"type": "input_json_delta", "partial_json": ""})
            for piece in wire.chunks(reply.tool_call.arguments_json()):
                yield _block_delta(index, {"type": "input_json_delta", "partial_json": piece})
            yield _block_stop(index)
        stop: JSONObject = {
            "stop_reason": _stop_reason(reply),
            "stop_sequence": None,
            "stop_details": _stop_details(reply),
        }
        usage = _usage(reply, reply.output_tokens)
        del usage["cache_creation"], usage["service_tier"]
        yield SseEvent({"type": "message_delta", "delta": stop, "usage": usage}, "message_delta")
        yield SseEvent({"type": "message_stop"}, "message_stop")

    def count_tokens(self, body: object) -> JSONObject:
        """The ``/v1/messages/count_tokens`` answer."""
        request = self.parse(body, require_max_tokens=False)
        return {"input_tokens": request.conversation.input_tokens}


def _block_start(index: int, block: JSONObject) -> SseEvent:
    payload = {"type": "content_block_start", "index": index, "content_block": block}
    return SseEvent(payload, "content_block_start")


def _block_delta(index: int, delta: JSONObject) -> SseEvent:
    payload = {"type": "content_block_delta", "index": index, "delta": delta}
    return SseEvent(payload, "content_block_delta", delta=True)


def _block_stop(index: int) -> SseEvent:
    return SseEvent({"type": "content_block_stop", "index": index}, "content_block_stop")
