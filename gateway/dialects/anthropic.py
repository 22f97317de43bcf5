"""Anthropic Messages: request parsing, response watching, errors."""

from __future__ import annotations

from typing import Any

import orjson

from gateway.conversation import (
    Block,
    Role,
    content_hash,
    media_hash,
    tool_call_block,
    user_side,
)
from gateway.conversation import text_block as make_text
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
from gateway.dialects.end_tool import AnthropicEndTool
from gateway.dialects.notice_events import AnthropicNotice
from gateway.dialects.request_shapes import (
    generic_blocks,
    kind_of,
    name_at,
    object_at,
    string_at,
    tool_objects,
)
from gateway.dialects.rewrite import (
    END_TOOL,
    END_TOOL_DESCRIPTION,
    END_TOOL_SCHEMA,
    append_tool,
    appended_text,
)
from gateway.dialects.shapes import Shapes
from gateway.errors import BadRequest

# Our descriptive error types, in the names Anthropic's own errors use for the same status.
# The error types Anthropic's API itself sends (and its SDKs map), plus the gateway's own
# terminal answer. Any other type the gateway uses is written as Anthropic's type for the
# same status, so a client never meets a type its API does not have.
NATIVE_TYPES = frozenset(
    {
        "invalid_request_error",
        "authentication_error",
        "permission_error",
        "not_found_error",
        "request_too_large",
        "rate_limit_error",
        "api_error",
        "timeout_error",
        "overloaded_error",
        "conversation_ended",
    }
)
_BY_STATUS = {
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    408: "timeout_error",
    413: "request_too_large",
    429: "rate_limit_error",
    504: "timeout_error",
    529: "overloaded_error",
}


# A timeout is a timeout whatever status carries it (an in-stream error has none of its own).
_TIMEOUTS = frozenset({"upstream_timeout", "request_timeout"})


def native_type(status: int, error_type: str) -> str:
    """`error_type` as Anthropic's API would name an error of `status`."""
    if error_type in NATIVE_TYPES:
        return error_type
    if error_type in _TIMEOUTS:
        return "timeout_error"
    return _BY_STATUS.get(status, "invalid_request_error" if status < 500 else "api_error")


def _source_hash(source: JSONObject) -> str:
    for key in ("data", "url", "file_id"):
        value = source.get(key)
        if isinstance(value, str):
            return media_hash(value)
    return content_hash(orjson.dumps(source, option=orjson.OPT_SORT_KEYS))


def _source(item: JSONObject, where: str) -> JSONObject:
    """An image's or document's `source`, which must say where its content is."""
    source = item.get("source")
    if isinstance(source, dict) and (
        any(isinstance(source.get(key), str) for key in ("data", "url", "file_id"))
        or isinstance(source.get("content"), str | list)
    ):
        return source
    raise BadRequest(
        f"`{where}.source` is required: base64 data, a url, a file_id or content.", param=where
    )


# Content only the model writes: on an assistant turn it carries nothing a person wrote.
_MODEL_ONLY = frozenset({"thinking", "redacted_thinking"})
_TOOL_CALLS = frozenset({"tool_use", "server_tool_use", "mcp_tool_use"})


def content_blocks(content: Any, where: str, role: Role = "user") -> list[Block]:
    """Canonical blocks of one message's `content` (a string or a list of blocks)."""
    if isinstance(content, str):
        block = make_text(content)
        return [block] if block else []
    if not isinstance(content, list):
        raise BadRequest(f"`{where}.content` must be a string or a list of content blocks.")
    out: list[Block] = []
    for i, item in enumerate(content):
        at = f"{where}.content.{i}"
        out += _block(object_at(item, at), kind_of(item, at), at, role)
    return out


def _block(item: JSONObject, kind: str, where: str, role: Role) -> list[Block]:
    if kind == "text":
        block = make_text(string_at(item, "text", where))
        return [block] if block else []
    if kind in _TOOL_CALLS:
        arguments = item.get("input")
        if not isinstance(arguments, dict):
            raise BadRequest(f"`{where}.input` is required and must be an object.")
        return [tool_call_block(name_at(item, where), arguments)]
    if kind == "tool_result":
        content = item.get("content")
        inner = [] if content is None else content_blocks(content, where)
        return [Block("tool_result", " ".join(b.value for b in inner))]
    if kind == "image":
        return [Block("image", _source_hash(_source(item, where)))]
    if kind == "document":
        return _document(item, where)
    if kind == "container_upload":
        return [Block("file", media_hash(string_at(item, "file_id", where)))]
    if role == "assistant" and (kind in _MODEL_ONLY or kind.endswith("_tool_result")):
        # Thinking and the results of the API's own server tools are the model's side.
        return []
    return generic_blocks(item)


def _document(item: JSONObject, where: str) -> list[Block]:
    """A document: its content by hash, and whatever text it carries, for the detectors."""
    source = _source(item, where)
    blocks = [Block("file", _source_hash(source))]
    if source.get("type") == "text":
        blocks += generic_blocks(source.get("data"))
    elif source.get("type") == "content" and "content" in source:
        blocks += content_blocks(source["content"], f"{where}.source")
    blocks += generic_blocks([item.get("title"), item.get("context")])
    return blocks


def _system_text(system: Any) -> str:
    if system is None:
        return ""
    if isinstance(system, str):
        return system
    if isinstance(system, list):
        parts = []
        for i, block in enumerate(system):
            at = f"system.{i}"
            if kind_of(object_at(block, at), at) != "text":
                raise BadRequest(f"`{at}.type` must be 'text'.", param="system")
            parts.append(string_at(block, "text", at))
        return " ".join(parts)
    raise BadRequest("`system` must be a string or a list of text blocks.", param="system")


class AnthropicDialect:
    """The Anthropic Messages API (`POST /v1/messages`)."""

    name = "anthropic"
    family: Family = "anthropic"

    def parse_request(self, body: bytes) -> ChatRequest:
        """Parse a Messages request; reject what the API itself would reject."""
        data = load_object(body)
        model = require_str(data, "model")
        if not isinstance(data.get("max_tokens"), int) or isinstance(data["max_tokens"], bool):
            raise BadRequest("`max_tokens` is required and must be an integer.")
        messages = data.get("messages")
        if not isinstance(messages, list):
            raise BadRequest("`messages` is required and must be a list.")
        items: list[tuple[Role, list[Block]]] = []
        for i, message in enumerate(messages):
            if not isinstance(message, dict):
                raise BadRequest(f"`messages.{i}` must be an object.")
            role = message.get("role")
            # A tuple compares by equality: a list or object in `role` is refused, not hashed.
            if role not in ("user", "assistant"):
                raise BadRequest(f"`messages.{i}.role` must be 'user' or 'assistant'.")
            items.append((role, content_blocks(message.get("content"), f"messages.{i}", role)))
        names = frozenset(t["name"] for t in tool_objects(data) if isinstance(t.get("name"), str))
        metadata = data.get("metadata")
        return ChatRequest(
            model=model,
            stream=optional_bool(data, "stream"),
            system=_system_text(data.get("system")),
            turns=user_side(items),
            tool_names=names,
            body=data,
            end_user=end_user_of(metadata.get("user_id") if isinstance(metadata, dict) else None),
        )

    def new_watcher(self) -> AnthropicWatcher:
        """A watcher for one Messages response."""
        return AnthropicWatcher()

    def add_end_tool(self, body: JSONObject) -> None:
        """Offer the end tool as a Messages tool (in place)."""
        append_tool(
            body,
            {
                "name": END_TOOL,
                "description": END_TOOL_DESCRIPTION,
                "input_schema": END_TOOL_SCHEMA,
            },
        )

    def add_guidance(self, body: JSONObject, guidance: str) -> None:
        """Append care guidance to `system`, a string or a list of text blocks (in place)."""
        system = body.get("system")
        if isinstance(system, list):
            body["system"] = [*system, {"type": "text", "text": guidance}]
        else:
            body["system"] = appended_text(system, guidance)

    def end_tool_filter(self) -> AnthropicEndTool:
        """A filter taking the gateway's end-tool call out of one Messages response."""
        return AnthropicEndTool()

    def notice_writer(self) -> AnthropicNotice:
        """A writer of the visible notice into one response."""
        return AnthropicNotice()

    named_signals = True
    envelope: str | None = None

    def error_object(
        self, status: int, error_type: str, message: str, param: str | None
    ) -> JSONObject:
        """`{"type":"error","error":{"type":...,"message":...}}`."""
        native = native_type(status, error_type)
        return {"type": "error", "error": {"type": native, "message": message}}

    def error_body(self, status: int, error_type: str, message: str, param: str | None) -> bytes:
        """The serialized `error_object`."""
        return orjson.dumps(self.error_object(status, error_type, message, param))

    def stream_error_event(self, error_type: str, message: str) -> bytes:
        """An `error` event, as the API sends when a stream fails."""
        return b"event: error\ndata: " + self.error_body(502, error_type, message, None) + b"\n\n"


class AnthropicWatcher:
    """Reads a Messages response: text, tool calls, the stop reason, refusals.

    Never raises on what the upstream sends: a field of the wrong type reads as absent, and
    the event or body that held it is counted as unreadable.
    """

    def __init__(self) -> None:
        self.observation = Observation()
        self._shapes = Shapes()

    def feed(self, event: SseEvent) -> EventRole:
        """Take one streamed event."""
        obs = self.observation
        obs.events += 1
        if event.name == "ping":
            obs.last_data = None
            return EventRole.OTHER
        data = obs.last_data = parse_json_data(event)
        if data is None:
            # Every Messages event is a JSON object; an event with no data is a comment.
            if event.data:
                obs.unreadable += 1
            return EventRole.OTHER
        shapes = self._shapes
        shapes.odd = False
        role = self._event(data, shapes)
        if shapes.odd:
            obs.unreadable += 1
        return role

    def _event(self, data: JSONObject, shapes: Shapes) -> EventRole:
        obs = self.observation
        kind = data.get("type")
        if kind == "content_block_delta":
            delta = shapes.obj(data, "delta")
            if delta.get("type") == "text_delta":
                obs.add_text(shapes.text(delta, "text") or "")
            return EventRole.OTHER
        if kind == "content_block_start":
            self._block(shapes.obj(data, "content_block"), shapes)
            return EventRole.OTHER
        if kind == "message_delta":
            self._stop(shapes.obj(data, "delta"), shapes)
            return EventRole.FINAL
        if kind == "message_start":
            obs.response_id = shapes.text(shapes.obj(data, "message"), "id")
            return EventRole.FIRST
        if kind == "message_stop":
            return EventRole.STOP
        if kind == "error":
            obs.error = True
            return EventRole.ERROR
        return EventRole.OTHER

    def read_body(self, body: JSONObject) -> None:
        """Take a whole `message` object."""
        shapes = self._shapes
        shapes.odd = False
        self.observation.response_id = shapes.text(body, "id")
        for block in shapes.objects(body, "content"):
            self._block(block, shapes)
        self._stop(body, shapes)
        if shapes.odd:
            self.observation.unreadable += 1

    def _block(self, block: JSONObject, shapes: Shapes) -> None:
        kind = block.get("type")
        if kind == "text":
            self.observation.add_text(shapes.text(block, "text") or "")
        elif kind == "tool_use":
            self.observation.tool_calls.append(ToolCall(shapes.text(block, "name") or ""))

    def _stop(self, holder: JSONObject, shapes: Shapes) -> None:
        reason = shapes.text(holder, "stop_reason")
        if reason is not None:
            self.observation.stop_reason = reason
            self.observation.provider_refusal = reason == "refusal"
