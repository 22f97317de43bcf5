"""The visible notice written into each dialect's answers (see `gateway.notice`).

A writer follows one answer on its way to the client and, at the event that carries the
stop reason, adds the notice as ordinary content of the dialect: a text block (Messages),
more text on the final chunk (Chat), a message item (Responses). Only event types the
client already knows are used, so strict stream parsers accept them.
"""

from __future__ import annotations

from typing import Any, Protocol

from gateway.dialects.base import JSONObject

Event = tuple[str | None, JSONObject]


class NoticeWriter(Protocol):
    """Adds a visible notice to one answer, stream or body."""

    def see(self, data: JSONObject) -> None:
        """Note one event on its way to the client (as the client will get it)."""
        ...

    def before_final(self, final: JSONObject, text: str) -> tuple[list[Event], JSONObject]:
        """The events to send before the final one, and the final event's data."""
        ...

    def body(self, body: JSONObject, text: str) -> None:
        """Add the notice to a whole answer (in place)."""
        ...


class AnthropicNotice:
    """Messages: one more text block after the answer's own blocks."""

    def __init__(self) -> None:
        self.next_index = 0

    def see(self, data: JSONObject) -> None:
        """Count the content blocks the client has seen."""
        index = data.get("index")
        if data.get("type") == "content_block_start" and isinstance(index, int):
            self.next_index = max(self.next_index, index + 1)

    def before_final(self, final: JSONObject, text: str) -> tuple[list[Event], JSONObject]:
        """A text block's start, delta and stop before `message_delta`."""
        index = self.next_index
        self.next_index += 1
        events: list[Event] = [
            (
                "content_block_start",
                {
                    "type": "content_block_start",
                    "index": index,
                    "content_block": {"type": "text", "text": ""},
                },
            ),
            (
                "content_block_delta",
                {
                    "type": "content_block_delta",
                    "index": index,
                    "delta": {"type": "text_delta", "text": text},
                },
            ),
            ("content_block_stop", {"type": "content_block_stop", "index": index}),
        ]
        return events, final

    def body(self, body: JSONObject, text: str) -> None:
        """Append a text block to `content`."""
        content = body.get("content")
        blocks: list[Any] = content if isinstance(content, list) else []
        body["content"] = [*blocks, {"type": "text", "text": text}]


class ChatNotice:
    """Chat Completions: the notice is more content on the chunk with `finish_reason`."""

    def see(self, data: JSONObject) -> None:
        """Chat needs nothing from earlier chunks."""

    def before_final(self, final: JSONObject, text: str) -> tuple[list[Event], JSONObject]:
        """No extra chunk: code that reads `chunk.choices[0]` keeps working."""
        choices = final.get("choices")
        if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
            return [], final
        choice = choices[0]
        raw = choice.get("delta")
        delta: JSONObject = raw if isinstance(raw, dict) else {}
        content = delta.get("content")
        joined = f"{content}{text}" if isinstance(content, str) else text
        first = {**choice, "delta": {**delta, "content": joined}}
        return [], {**final, "choices": [first, *choices[1:]]}

    def body(self, body: JSONObject, text: str) -> None:
        """Append the notice to the first choice's message content."""
        choices = body.get("choices")
        if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
            return
        message = choices[0].get("message")
        if isinstance(message, dict):
            content = message.get("content")
            message["content"] = f"{content}{text}" if isinstance(content, str) else text.strip()


class ResponsesNotice:
    """Responses: one more `message` output item after the answer's own items."""

    def __init__(self) -> None:
        self.next_index = 0
        self.sequence: int | None = None
        self.response_id = "resp"

    def see(self, data: JSONObject) -> None:
        """Count the output items and follow the sequence numbers."""
        index = data.get("output_index")
        if isinstance(index, int):
            self.next_index = max(self.next_index, index + 1)
        number = data.get("sequence_number")
        if isinstance(number, int):
            self.sequence = number
        response = data.get("response")
        if isinstance(response, dict) and isinstance(response.get("id"), str):
            self.response_id = response["id"]

    def _item(self, text: str, status: str) -> JSONObject:
        part = {"type": "output_text", "text": text, "annotations": [], "logprobs": []}
        return {
            "id": f"msg_notice_{self.response_id}",
            "type": "message",
            "status": status,
            "role": "assistant",
            "content": [part] if status == "completed" else [],
        }

    def before_final(self, final: JSONObject, text: str) -> tuple[list[Event], JSONObject]:
        """The item's events (added, part, delta, done) before `response.completed`."""
        index = self.next_index
        self.next_index += 1
        item = self._item(text, "completed")
        where = {"item_id": item["id"], "output_index": index, "content_index": 0}
        part = item["content"][0]
        bodies: list[JSONObject] = [
            {"type": "response.output_item.added", "output_index": index,
             "item": self._item(text, "in_progress")},
            {"type": "response.content_part.added", **where,
             "part": {**part, "text": ""}},
            {"type": "response.output_text.delta", **where, "delta": text, "logprobs": []},
            {"type": "response.output_text.done", **where, "text": text, "logprobs": []},
            {"type": "response.content_part.done", **where, "part": part},
            {"type": "response.output_item.done", "output_index": index, "item": item},
        ]  # fmt: skip
        if self.sequence is not None:
            for offset, data in enumerate(bodies, start=1):
                data["sequence_number"] = self.sequence + offset
            final = {**final, "sequence_number": self.sequence + len(bodies) + 1}
        response = final.get("response")
        if isinstance(response, dict):
            output = response.get("output")
            items: list[Any] = output if isinstance(output, list) else []
            final = {**final, "response": {**response, "output": [*items, item]}}
        return [(str(data["type"]), data) for data in bodies], final

    def body(self, body: JSONObject, text: str) -> None:
        """Append a message item to `output`."""
        if isinstance(body.get("id"), str):
            self.response_id = body["id"]
        output = body.get("output")
        items: list[Any] = output if isinstance(output, list) else []
        body["output"] = [*items, self._item(text, "completed")]
