"""OpenAI Chat Completions: request parsing, chunk watching, errors."""

from __future__ import annotations

from typing import Any

from gateway.conversation import Block, Role, tool_call_block, user_side
from gateway.dialects import openai_common
from gateway.dialects.base import (
    ChatRequest,
    EventRole,
    Family,
    JSONObject,
    Observation,
    SseEvent,
    ToolCall,
    end_user_of,
    load_object,
    optional_bool,
    parse_json_data,
    require_str,
)
from gateway.dialects.end_tool import ChatEndTool
from gateway.dialects.notice_events import ChatNotice
from gateway.dialects.request_shapes import name_at, object_at, tool_objects
from gateway.dialects.rewrite import END_TOOL, END_TOOL_DESCRIPTION, END_TOOL_SCHEMA, append_tool
from gateway.dialects.shapes import Shapes
from gateway.errors import BadRequest

_SYSTEM_ROLES = frozenset({"system", "developer"})
_ROLES = frozenset({"system", "developer", "user", "assistant", "tool", "function"})
# More tool calls than any model makes in one answer: an index past it is not followed.
_MAX_TOOL_CALLS = 256


def _assistant_blocks(message: JSONObject, where: str) -> list[Block]:
    blocks = openai_common.content_parts(message.get("content"), where)
    refusal = message.get("refusal")
    if refusal is not None:
        if not isinstance(refusal, str):
            raise BadRequest(f"`{where}.refusal` must be a string.", param=where)
        blocks += openai_common.content_parts(refusal, where)
    calls = message.get("tool_calls")
    if calls is not None and not isinstance(calls, list):
        raise BadRequest(f"`{where}.tool_calls` must be a list.", param=where)
    for i, call in enumerate(calls or ()):
        blocks.append(_tool_call(object_at(call, f"{where}.tool_calls[{i}]"), where))
    legacy = message.get("function_call")
    if legacy is not None:
        at = f"{where}.function_call"
        fn = object_at(legacy, at)
        blocks.append(tool_call_block(name_at(fn, at), fn.get("arguments")))
    return blocks


def _tool_call(call: JSONObject, where: str) -> Block:
    """A function call (name + arguments) or a custom tool call (name + input)."""
    for key, arguments in (("function", "arguments"), ("custom", "input")):
        if key in call:
            at = f"{where}.{key}"
            fn = object_at(call[key], at)
            return tool_call_block(name_at(fn, at), fn.get(arguments))
    raise BadRequest(f"`{where}` must be a function or a custom tool call.", param=where)


def _tool_result(message: JSONObject, where: str) -> list[Block]:
    inner = openai_common.content_parts(message.get("content"), where, required=True)
    return [Block("tool_result", " ".join(b.value for b in inner))]


class OpenAIChatDialect:
    """The OpenAI Chat Completions API (`POST /v1/chat/completions`)."""

    name = "openai_chat"
    family: Family = "openai"

    def parse_request(self, body: bytes) -> ChatRequest:
        """Parse a Chat Completions request; reject what the API itself would reject."""
        data = load_object(body)
        model = require_str(data, "model")
        messages = data.get("messages")
        if not isinstance(messages, list) or not messages:
            raise BadRequest(
                "`messages` is required and must be a non-empty list.", param="messages"
            )
        system: list[str] = []
        items: list[tuple[Role, list[Block]]] = []
        for i, message in enumerate(messages):
            where = f"messages[{i}]"
            role = message.get("role") if isinstance(message, dict) else None
            if not isinstance(role, str) or role not in _ROLES:
                raise BadRequest(
                    f"`{where}` must be an object with a valid `role`.", param="messages"
                )
            if role in _SYSTEM_ROLES:
                parts = openai_common.content_parts(message.get("content"), where, required=True)
                system += [b.value for b in parts]
            elif role == "user":
                content = message.get("content")
                items.append(("user", openai_common.content_parts(content, where, required=True)))
            elif role == "assistant":
                items.append(("assistant", _assistant_blocks(message, where)))
            elif role == "tool":
                items.append(("user", _tool_result(message, where)))
            else:
                # The older `function` role: its content may be null.
                inner = openai_common.content_parts(message.get("content"), where)
                items.append(("user", [Block("tool_result", " ".join(b.value for b in inner))]))
        return ChatRequest(
            model=model,
            stream=optional_bool(data, "stream"),
            system=" ".join(system),
            turns=user_side(items),
            tool_names=_tool_names(tool_objects(data)),
            body=data,
            end_user=end_user_of(data.get("safety_identifier") or data.get("user")),
        )

    def new_watcher(self) -> ChatWatcher:
        """A watcher for one Chat Completions response."""
        return ChatWatcher()

    def add_end_tool(self, body: JSONObject) -> None:
        """Offer the end tool as a function tool (in place)."""
        function = {
            "name": END_TOOL,
            "description": END_TOOL_DESCRIPTION,
            "parameters": END_TOOL_SCHEMA,
        }
        append_tool(body, {"type": "function", "function": function})

    def add_guidance(self, body: JSONObject, guidance: str) -> None:
        """Insert care guidance as a system message after the client's own (in place)."""
        messages = list(body.get("messages") or [])
        at = 0
        while (
            at < len(messages)
            and isinstance(messages[at], dict)
            and messages[at].get("role") in _SYSTEM_ROLES
        ):
            at += 1
        messages.insert(at, {"role": "system", "content": guidance})
        body["messages"] = messages

    def end_tool_filter(self) -> ChatEndTool:
        """A filter taking the gateway's end-tool call out of one Chat response."""
        return ChatEndTool()

    def notice_writer(self) -> ChatNotice:
        """A writer of the visible notice into one response."""
        return ChatNotice()

    named_signals = False
    envelope: str | None = None

    def error_object(
        self, status: int, error_type: str, message: str, param: str | None
    ) -> JSONObject:
        """`{"error":{"message","type","param","code"}}`."""
        return openai_common.error_object(status, error_type, message, param)

    def error_body(self, status: int, error_type: str, message: str, param: str | None) -> bytes:
        """The serialized `error_object`."""
        return openai_common.error_body(status, error_type, message, param)

    def stream_error_event(self, error_type: str, message: str) -> bytes:
        """A `data: {"error":...}` chunk, which the OpenAI SDK raises as an APIError."""
        return b"data: " + self.error_body(502, error_type, message, None) + b"\n\n"


def _tool_names(tools: list[JSONObject]) -> frozenset[str]:
    names: set[str] = set()
    for tool in tools:
        fn = tool.get("function") or tool.get("custom")
        if isinstance(fn, dict) and isinstance(fn.get("name"), str):
            names.add(fn["name"])
    return frozenset(names)


class ChatWatcher:
    """Reads chat chunks: content, refusals, tool calls, the finish reason.

    Never raises on what the upstream sends: a field of the wrong type reads as absent, and
    the chunk or body that held it is counted as unreadable.
    """

    def __init__(self) -> None:
        self.observation = Observation()
        self._shapes = Shapes()
        self._began = False

    def feed(self, event: SseEvent) -> EventRole:
        """Take one streamed chunk."""
        obs = self.observation
        obs.events += 1
        if event.data == b"[DONE]":
            obs.last_data = None
            return EventRole.STOP
        data = obs.last_data = parse_json_data(event)
        if data is None:
            # Every chunk is a JSON object; an event with no data is a comment (keep-alive).
            if event.data:
                obs.unreadable += 1
            return EventRole.OTHER
        if "error" in data:
            obs.error = True
            return EventRole.ERROR
        shapes = self._shapes
        shapes.odd = False
        role = self._chunk(data, shapes)
        if shapes.odd:
            obs.unreadable += 1
        return role

    def _chunk(self, data: JSONObject, shapes: Shapes) -> EventRole:
        obs = self.observation
        if obs.response_id is None:
            obs.response_id = shapes.text(data, "id")
        first = not self._began
        self._began = True
        choice = shapes.first(data, "choices")
        if choice is None:
            return EventRole.FIRST if first else EventRole.OTHER
        self._delta(shapes.obj(choice, "delta"), shapes)
        reason = choice.get("finish_reason")
        if reason is not None:
            # A finish reason of any kind closes the choice: the signal rides here.
            self._finish(reason, shapes)
            return EventRole.FINAL
        return EventRole.FIRST if first else EventRole.OTHER

    def read_body(self, body: JSONObject) -> None:
        """Take a whole `chat.completion` object."""
        shapes = self._shapes
        shapes.odd = False
        self.observation.response_id = shapes.text(body, "id")
        choice = shapes.first(body, "choices") or {}
        self._delta(shapes.obj(choice, "message"), shapes)
        self._finish(choice.get("finish_reason"), shapes)
        if shapes.odd:
            self.observation.unreadable += 1

    def _delta(self, delta: JSONObject, shapes: Shapes) -> None:
        obs = self.observation
        content = shapes.text(delta, "content")
        if content:
            obs.add_text(content)
        refusal = shapes.text(delta, "refusal")
        if refusal is not None:
            obs.provider_refusal = True
            obs.add_text(refusal)
        for call in shapes.objects(delta, "tool_calls"):
            index = shapes.index(call, "index", len(obs.tool_calls))
            if index is None or index >= _MAX_TOOL_CALLS:
                # A call that cannot be placed (or an index no model reaches) is not
                # followed: a huge index must not make a huge list.
                shapes.odd = True
                continue
            while index >= len(obs.tool_calls):
                obs.tool_calls.append(ToolCall(""))
            name = shapes.text(shapes.obj(call, "function"), "name")
            if name:
                obs.tool_calls[index].name = name

    def _finish(self, reason: Any, shapes: Shapes) -> None:
        if isinstance(reason, str):
            self.observation.stop_reason = reason
            if reason == "content_filter":
                self.observation.provider_refusal = True
        elif reason is not None:
            shapes.odd = True
