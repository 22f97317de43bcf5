"""What every API dialect provides, and the typed values that cross the dialect boundary."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol

import orjson

from gateway.conversation import Turn

if TYPE_CHECKING:
    from gateway.dialects.end_tool import EndToolFilter
    from gateway.dialects.notice_events import NoticeWriter
from gateway.errors import BadRequest

Family = Literal["anthropic", "openai"]
JSONObject = dict[str, Any]

# How much of the answer's opening text a watcher keeps for refusal-phrase checks.
TEXT_HEAD_CHARS = 400
# How much of the rest of the answer's text it keeps, from its end: a long answer points to
# helplines in its last lines as often as in its first (the model as a witness).
TEXT_TAIL_CHARS = 600


@dataclass(frozen=True, slots=True)
class ChatRequest:
    """An inspected request, parsed once at the edge.

    `body` is the decoded JSON, kept only so the dialect that parsed it can rewrite it
    (an added tool, care guidance); the rest of the gateway reads the typed fields.
    """

    model: str
    stream: bool
    system: str
    turns: tuple[Turn, ...]
    tool_names: frozenset[str]
    body: JSONObject
    previous_response_id: str | None = None
    # The platform's own user behind a shared key (Anthropic `metadata.user_id`, OpenAI
    # `safety_identifier` or `user`): part of the identity, so two people never share a path.
    end_user: str = ""
    # Responses: an OpenAI-side conversation the request continues (`conversation`).
    server_conversation: str | None = None


class EventRole(enum.IntEnum):
    """Where an SSE event stands in its stream, for the signals that ride on it."""

    OTHER = 0
    FIRST = 1  # the first event: where crisis resources ride
    FINAL = 2  # carries the stop/finish reason: where the end signal rides
    STOP = 3  # the event that closes the stream (message_stop, [DONE])
    ERROR = 4


@dataclass(frozen=True, slots=True)
class SseEvent:
    """One server-sent event: its name (if any), its data, and its bytes as received.

    `raw` leaves out the blank line that ends the event.
    """

    name: str | None
    data: bytes
    raw: bytes


@dataclass(slots=True)
class ToolCall:
    """A tool call the model made, as seen in the response (its name: what policy reads)."""

    name: str


@dataclass(slots=True)
class Observation:
    """What a watcher learned about one response."""

    events: int = 0
    stop_reason: str | None = None
    provider_refusal: bool = False
    tool_calls: list[ToolCall] = field(default_factory=list)
    text_head: str = ""
    # The last TEXT_TAIL_CHARS characters after the head (empty while the head is filling).
    text_tail: str = ""
    response_id: str | None = None
    error: bool = False
    # Events (or a body) that held something the watcher could not read: passed on as
    # they came, and counted.
    unreadable: int = 0
    # The data of the event fed last, decoded (None when it was not JSON), so that whoever
    # edits the event does not decode it a second time.
    last_data: JSONObject | None = None

    def add_text(self, text: str) -> None:
        """Keep the opening of the answer's text and its last stretch, no more."""
        if len(self.text_head) < TEXT_HEAD_CHARS:
            room = TEXT_HEAD_CHARS - len(self.text_head)
            self.text_head += text[:room]
            text = text[room:]
        if text:
            self.text_tail = (self.text_tail + text)[-TEXT_TAIL_CHARS:]


class Watcher(Protocol):
    """Reads one response, event by event or as a whole body; a pure state machine."""

    observation: Observation

    def feed(self, event: SseEvent) -> EventRole:
        """Take one streamed event; say where it stands in the stream."""
        ...

    def read_body(self, body: JSONObject) -> None:
        """Take a whole non-streaming response body."""
        ...


class Dialect(Protocol):
    """One client API: how its requests parse, its responses read and its errors look."""

    name: str
    family: Family
    # Whether streams may carry named signal events (`conversation_ended`, ...): only
    # Anthropic's SDK yields unknown events; OpenAI's would break on an extra chunk.
    named_signals: bool
    # The key of the object an event wraps (Responses: `response`), which gets the signals
    # too: the Responses stream helper rebuilds events and keeps only that object's fields.
    envelope: str | None

    def parse_request(self, body: bytes) -> ChatRequest:
        """Parse and check a request body; raise `BadRequest` in plain words."""
        ...

    def new_watcher(self) -> Watcher:
        """A fresh watcher for one response."""
        ...

    def add_end_tool(self, body: JSONObject) -> None:
        """Offer the gateway's `end_conversation` tool beside the client's (in place)."""
        ...

    def add_guidance(self, body: JSONObject, guidance: str) -> None:
        """Append care guidance to the system prompt, keeping the client's (in place)."""
        ...

    def end_tool_filter(self) -> EndToolFilter:
        """A fresh filter taking the gateway's own end-tool call out of one response."""
        ...

    def notice_writer(self) -> NoticeWriter:
        """A fresh writer of the visible notice into one response."""
        ...

    def error_object(
        self, status: int, error_type: str, message: str, param: str | None
    ) -> JSONObject:
        """An error body in the dialect's own format, as a JSON object."""
        ...

    def error_body(self, status: int, error_type: str, message: str, param: str | None) -> bytes:
        """The serialized `error_object`."""
        ...

    def stream_error_event(self, error_type: str, message: str) -> bytes:
        """A complete SSE event telling the client the stream failed."""
        ...


def load_object(body: bytes) -> JSONObject:
    """Decode a JSON request body that must be an object."""
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise BadRequest(f"The request body is not valid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise BadRequest("The request body must be a JSON object.")
    return value


def require_str(body: JSONObject, key: str) -> str:
    """A required, non-empty string field."""
    value = body.get(key)
    if not isinstance(value, str) or not value:
        raise BadRequest(f"`{key}` is required and must be a non-empty string.", param=key)
    return value


def optional_bool(body: JSONObject, key: str) -> bool:
    """An optional boolean field (false when absent or null)."""
    value = body.get(key)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise BadRequest(f"`{key}` must be a boolean.", param=key)
    return value


def end_user_of(value: Any) -> str:
    """An end-user id as the identity takes it: a string, else nothing."""
    return value if isinstance(value, str) else ""


def parse_json_data(event: SseEvent) -> JSONObject | None:
    """The event's data as a JSON object, or None when it is not one."""
    try:
        value = orjson.loads(event.data)
    except orjson.JSONDecodeError:
        return None
    return value if isinstance(value, dict) else None
