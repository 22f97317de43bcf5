"""OpenAI Responses: request parsing, event watching, errors."""

from __future__ import annotations

import orjson

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
from gateway.dialects.end_tool import ResponsesEndTool
from gateway.dialects.notice_events import ResponsesNotice
from gateway.dialects.request_shapes import generic_blocks, name_at, optional_str, tool_objects
from gateway.dialects.rewrite import (
    END_TOOL,
    END_TOOL_DESCRIPTION,
    END_TOOL_SCHEMA,
    append_tool,
    appended_text,
)
from gateway.dialects.shapes import Shapes
from gateway.errors import BadRequest

_FINAL_EVENTS = frozenset({"response.completed", "response.incomplete", "response.failed"})
_CALL_ITEMS = frozenset({"function_call", "custom_tool_call"})
_OUTPUT_ITEMS = frozenset({"function_call_output", "custom_tool_call_output"})


# Items only the model writes (reasoning, its own tool calls, MCP listings and approval
# requests): the answer's side, which carries nothing a person wrote. Any `*_call` item is
# one, including kinds added after this list was written.
_MODEL_ITEMS = frozenset({"reasoning", "mcp_list_tools", "mcp_approval_request", "compaction"})


def _item(item: JSONObject, where: str, system: list[str]) -> tuple[Role, list[Block]] | None:
    kind = item.get("type", "message")
    if not isinstance(kind, str):
        raise BadRequest(f"`{where}.type` must be a string.", param="input")
    if kind == "message":
        return _message(item, where, system)
    if kind in _CALL_ITEMS:
        args = item.get("arguments", item.get("input"))
        return "assistant", [tool_call_block(name_at(item, where), args)]
    if kind in _OUTPUT_ITEMS:
        output = item.get("output")
        inner = openai_common.content_parts(output, f"{where}.output", required=True)
        return "user", [Block("tool_result", " ".join(b.value for b in inner))]
    if kind == "item_reference":
        # Stands for an earlier item the client does not resend: followed by the store.
        return None
    if kind in _MODEL_ITEMS or kind.endswith("_call"):
        return None
    if kind.endswith("_output"):
        # The results of the API's other tools (computer, shell, ...), read as results.
        text = " ".join(b.value for b in generic_blocks(item))
        return "user", [Block("tool_result", text)]
    return "user", generic_blocks(item)


def _message(item: JSONObject, where: str, system: list[str]) -> tuple[Role, list[Block]] | None:
    role = item.get("role")
    if role not in ("user", "assistant", "system", "developer"):
        raise BadRequest(f"`{where}.role` must be user, assistant, system or developer.")
    blocks = openai_common.content_parts(item.get("content"), where, required=True)
    if role in ("system", "developer"):
        system.extend(b.value for b in blocks)
        return None
    return role, blocks


class OpenAIResponsesDialect:
    """The OpenAI Responses API (`POST /v1/responses`)."""

    name = "openai_responses"
    family: Family = "openai"

    def parse_request(self, body: bytes) -> ChatRequest:
        """Parse a Responses request; reject what the API itself would reject."""
        data = load_object(body)
        model = require_str(data, "model")
        raw_input = data.get("input")
        system: list[str] = []
        instructions = optional_str(data, "instructions")
        if instructions is not None:
            system.append(instructions)
        items: list[tuple[Role, list[Block]]] = []
        if isinstance(raw_input, str):
            items.append(("user", openai_common.content_parts(raw_input, "input")))
        elif isinstance(raw_input, list):
            for i, item in enumerate(raw_input):
                if not isinstance(item, dict):
                    raise BadRequest(f"`input[{i}]` must be an object.", param="input")
                turn = _item(item, f"input[{i}]", system)
                if turn is not None:
                    items.append(turn)
        elif raw_input is not None:
            raise BadRequest("`input` must be a string or a list of items.", param="input")
        previous = optional_str(data, "previous_response_id")
        server = data.get("conversation")
        if isinstance(server, dict):
            server = server.get("id")
        if server is not None and not isinstance(server, str):
            raise BadRequest("`conversation` must be an id or an object with an `id`.")
        return ChatRequest(
            model=model,
            stream=optional_bool(data, "stream"),
            system=" ".join(system),
            turns=user_side(items),
            tool_names=_tool_names(tool_objects(data)),
            body=data,
            end_user=end_user_of(data.get("safety_identifier") or data.get("user")),
            previous_response_id=previous,
            server_conversation=server,
        )

    def new_watcher(self) -> ResponsesWatcher:
        """A watcher for one Responses response."""
        return ResponsesWatcher()

    def add_end_tool(self, body: JSONObject) -> None:
        """Offer the end tool as a function tool (in place)."""
        append_tool(
            body,
            {
                "type": "function",
                "name": END_TOOL,
                "description": END_TOOL_DESCRIPTION,
                "parameters": END_TOOL_SCHEMA,
            },
        )

    def add_guidance(self, body: JSONObject, guidance: str) -> None:
        """Append care guidance to `instructions` (in place)."""
        body["instructions"] = appended_text(body.get("instructions"), guidance)

    def end_tool_filter(self) -> ResponsesEndTool:
        """A filter taking the gateway's end-tool call out of one Responses answer."""
        return ResponsesEndTool()

    def notice_writer(self) -> ResponsesNotice:
        """A writer of the visible notice into one response."""
        return ResponsesNotice()

    named_signals = False
    envelope: str | None = "response"

    def error_object(
        self, status: int, error_type: str, message: str, param: str | None
    ) -> JSONObject:
        """`{"error":{"message","type","param","code"}}`."""
        return openai_common.error_object(status, error_type, message, param)

    def error_body(self, status: int, error_type: str, message: str, param: str | None) -> bytes:
        """The serialized `error_object`."""
        return openai_common.error_body(status, error_type, message, param)

    def stream_error_event(self, error_type: str, message: str) -> bytes:
        """An `error` event: the Responses error fields, plus the `error` object the SDK raises."""
        event = {"type": "error", "code": error_type, "message": message, "param": None}
        event.update(openai_common.error_object(502, error_type, message, None))
        return b"event: error\ndata: " + orjson.dumps(event) + b"\n\n"


def _tool_names(tools: list[JSONObject]) -> frozenset[str]:
    return frozenset(t["name"] for t in tools if isinstance(t.get("name"), str))


class ResponsesWatcher:
    """Reads Responses events: output text, refusals, function calls, the final status.

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
        data = obs.last_data = parse_json_data(event)
        if data is None:
            # Every Responses event is a JSON object; an event with no data is a comment.
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
        if kind == "response.output_text.delta":
            obs.add_text(shapes.text(data, "delta") or "")
        elif kind == "response.refusal.delta":
            obs.provider_refusal = True
            obs.add_text(shapes.text(data, "delta") or "")
        elif kind == "response.output_item.added":
            self._call(shapes.obj(data, "item"), shapes)
        elif kind in _FINAL_EVENTS:
            self._final(shapes.obj(data, "response"), shapes)
            return EventRole.FINAL
        elif kind == "response.created":
            obs.response_id = shapes.text(shapes.obj(data, "response"), "id")
            return EventRole.FIRST
        elif kind == "error":
            obs.error = True
            return EventRole.ERROR
        return EventRole.OTHER

    def read_body(self, body: JSONObject) -> None:
        """Take a whole `response` object."""
        obs = self.observation
        shapes = self._shapes
        shapes.odd = False
        obs.response_id = shapes.text(body, "id")
        for item in shapes.objects(body, "output"):
            self._call(item, shapes)
            for part in shapes.objects(item, "content"):
                kind = part.get("type")
                if kind == "output_text":
                    obs.add_text(shapes.text(part, "text") or "")
                elif kind == "refusal":
                    obs.provider_refusal = True
                    obs.add_text(shapes.text(part, "refusal") or "")
        self._final(body, shapes)
        if shapes.odd:
            obs.unreadable += 1

    def _call(self, item: JSONObject, shapes: Shapes) -> None:
        if item.get("type") in _CALL_ITEMS:
            self.observation.tool_calls.append(ToolCall(shapes.text(item, "name") or ""))

    def _final(self, response: JSONObject, shapes: Shapes) -> None:
        obs = self.observation
        if obs.response_id is None:
            obs.response_id = shapes.text(response, "id")
        obs.stop_reason = shapes.text(response, "status")
        if shapes.text(shapes.obj(response, "incomplete_details"), "reason") == "content_filter":
            obs.provider_refusal = True
