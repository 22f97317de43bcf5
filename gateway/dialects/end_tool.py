"""Taking the gateway's own `end_conversation` tool call out of what the client sees.

When the gateway offered the tool, the model's call of it is the gateway's business: the
client gets a normal ending of the turn (the tool's blocks, chunks or items removed, the
stop reason made ordinary, later indexes closed up), then the end signal.
"""

from __future__ import annotations

from typing import Any, Final, Protocol

from gateway.dialects.base import JSONObject
from gateway.dialects.rewrite import END_TOOL
from gateway.dialects.shapes import is_index

DROP: Final = "drop"
# The event could not be read where the filter needed to: it is left as it came.
ODD: Final = "odd"
Edit = JSONObject | str | None  # a changed event, DROP, ODD, or None for unchanged

_BLOCK_EVENTS = frozenset({"content_block_start", "content_block_delta", "content_block_stop"})


class EndToolFilter(Protocol):
    """Removes the end tool's call from one response."""

    def event(self, data: JSONObject) -> Edit:
        """Take one streamed event's data; say how it changes."""
        ...

    def body(self, body: JSONObject) -> bool:
        """Remove the call from a whole body in place; return whether anything changed."""
        ...


def _is_end_call(item: Any) -> bool:
    return isinstance(item, dict) and item.get("name") == END_TOOL


def _is_end_item(item: Any) -> bool:
    """A Responses output item that is the end tool's call."""
    return _is_end_call(item) and item.get("type") == "function_call"


def _objects(value: Any) -> list[JSONObject] | None:
    """`value` when it is a list of objects only; None for anything else."""
    if isinstance(value, list) and all(isinstance(item, dict) for item in value):
        return value
    return None


class AnthropicEndTool:
    """Messages: drops the `tool_use` block and closes up the block indexes."""

    def __init__(self) -> None:
        self.dropped: set[int] = set()
        self.other_tools = False

    def event(self, data: JSONObject) -> Edit:
        """Drop the end tool's block events; renumber later blocks; fix the stop reason."""
        kind = data.get("type")
        if kind in _BLOCK_EVENTS:
            index = data.get("index", 0)
            if not is_index(index):
                return ODD  # a block that cannot be placed is left as it came
            block = data.get("content_block")
            if (
                kind == "content_block_start"
                and isinstance(block, dict)
                and block.get("type") == "tool_use"
            ):
                if _is_end_call(block):
                    self.dropped.add(index)
                else:
                    self.other_tools = True
            if index in self.dropped:
                return DROP
            shift = sum(1 for d in self.dropped if d < index)
            return {**data, "index": index - shift} if shift else None
        if kind == "message_delta" and self.dropped and not self.other_tools:
            delta = data.get("delta")
            if not isinstance(delta, dict):
                return ODD
            if delta.get("stop_reason") == "tool_use":
                return {**data, "delta": {**delta, "stop_reason": "end_turn"}}
        return None

    def body(self, body: JSONObject) -> bool:
        """Remove the block from `content`; fix the stop reason."""
        content = _objects(body.get("content"))
        if content is None:
            return False
        kept = [b for b in content if not (b.get("type") == "tool_use" and _is_end_call(b))]
        if len(kept) == len(content):
            return False
        body["content"] = kept
        if body.get("stop_reason") == "tool_use" and not any(
            b.get("type") == "tool_use" for b in kept
        ):
            body["stop_reason"] = "end_turn"
        return True


class ChatEndTool:
    """Chat Completions: drops the tool call's deltas and closes up tool-call indexes."""

    def __init__(self) -> None:
        self.dropped: set[int] = set()
        self.other_tools = False

    def event(self, data: JSONObject) -> Edit:
        """Drop the call's deltas (and chunks left empty); make `tool_calls` a `stop`."""
        choices = data.get("choices")
        if not choices:
            return None
        if not isinstance(choices, list) or not isinstance(choices[0], dict):
            return ODD
        choice = choices[0]
        delta = choice.get("delta") or {}
        if not isinstance(delta, dict):
            return ODD
        changed = False
        raw_calls = delta.get("tool_calls")
        calls = _objects(raw_calls)
        if raw_calls and not calls:
            return ODD
        if calls:
            kept = self._calls(calls)
            if kept is None:
                return ODD
            changed = kept is not calls
            delta = {k: v for k, v in delta.items() if k != "tool_calls"}
            if kept:
                delta["tool_calls"] = kept
        finish = choice.get("finish_reason")
        if finish == "tool_calls" and self.dropped and not self.other_tools:
            finish = "stop"
            changed = True
        if not changed:
            return None
        if finish is None and not delta:
            return DROP
        rest = choices[1:]
        return {**data, "choices": [{**choice, "delta": delta, "finish_reason": finish}, *rest]}

    def _calls(self, calls: list[JSONObject]) -> list[JSONObject] | None:
        """The calls the client sees (`calls` itself when none changes); None if unplaceable."""
        if not all(is_index(call.get("index", 0)) for call in calls):
            return None
        kept: list[JSONObject] = []
        changed = False
        for call in calls:
            index = call.get("index", 0)
            function = call.get("function")
            name = function.get("name") if isinstance(function, dict) else None
            if name == END_TOOL:
                self.dropped.add(index)
            elif name:
                self.other_tools = True
            if index in self.dropped:
                changed = True
                continue
            shift = sum(1 for d in self.dropped if d < index)
            changed = changed or bool(shift)
            kept.append({**call, "index": index - shift} if shift else call)
        return kept if changed else calls

    def body(self, body: JSONObject) -> bool:
        """Remove the call from `message.tool_calls`; fix the finish reason."""
        choices = _objects(body.get("choices"))
        if not choices:
            return False
        choice = choices[0]
        message = choice.get("message")
        calls = _objects(message.get("tool_calls")) if isinstance(message, dict) else None
        if not calls or message is None:
            return False
        kept = [c for c in calls if not _is_end_call(c.get("function"))]
        if len(kept) == len(calls):
            return False
        message["tool_calls"] = kept or None
        if choice.get("finish_reason") == "tool_calls" and not kept:
            choice["finish_reason"] = "stop"
        return True


def _without_end_tool(response: JSONObject) -> bool:
    """Take the gateway's tool out of a response's echoed `tools` (in place)."""
    tools = response.get("tools")
    if not isinstance(tools, list):
        return False
    kept = [t for t in tools if not _is_end_call(t)]
    if len(kept) == len(tools):
        return False
    response["tools"] = kept
    return True


class ResponsesEndTool:
    """Responses: drops the `function_call` item's events, closes up later `output_index`
    values, and takes the tool out of the `tools` every response object echoes."""

    def __init__(self) -> None:
        self.dropped: set[int] = set()
        self.called = False

    def event(self, data: JSONObject) -> Edit:
        """Drop the item's events, renumber later items, clean the response objects."""
        item = data.get("item")
        index = data.get("output_index")
        if _is_end_item(item):
            self.called = True
            if is_index(index):
                self.dropped.add(index)
            return DROP
        if index is not None and not is_index(index):
            return ODD
        if is_index(index) and self.dropped:
            if index in self.dropped:
                return DROP
            shift = sum(1 for d in self.dropped if d < index)
            if shift:
                return {**data, "output_index": index - shift}
        if "response" not in data:
            return None
        response = data["response"]
        if not isinstance(response, dict):
            return ODD
        output = response.get("output")
        if output is not None and _objects(output) is None:
            return ODD
        cleaned = dict(response)
        if self.body(cleaned):
            return {**data, "response": cleaned}
        return None

    def body(self, body: JSONObject) -> bool:
        """Remove the `function_call` item from `output` and the tool from `tools`."""
        changed = _without_end_tool(body)
        output = _objects(body.get("output"))
        if output is not None:
            kept = [i for i in output if not _is_end_item(i)]
            if len(kept) != len(output):
                body["output"] = kept
                changed = True
        return changed
