"""What every simulated dialect shares: the parsed request, SSE events, ids, body helpers."""

from __future__ import annotations

import secrets
import string
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from gateway.simulate.behaviour import Conversation, Reply, ToolSpec, count_words

Family = Literal["anthropic", "openai"]
JSONObject = dict[str, Any]

_ALPHABET = string.ascii_letters + string.digits


class BadRequest(ValueError):
    """The request body is not one the real API would accept."""


@dataclass(frozen=True)
class SimRequest:
    """A parsed inference request: the conversation and what the answer must echo."""

    conversation: Conversation
    model: str
    stream: bool
    include_usage: bool
    raw: Mapping[str, Any]
    """The request body, for the fields a response echoes (tools, instructions, ...)."""


@dataclass(frozen=True, slots=True)
class SseEvent:
    """One server-sent event; ``name`` None for data-only events (OpenAI chat)."""

    data: JSONObject | str
    name: str | None = None
    delta: bool = False
    """Whether this event carries generated tokens, so the token delay applies before it."""


class Dialect(Protocol):
    """One wire format: parse a request, render a reply whole or as a stream of events."""

    @property
    def family(self) -> Family:
        """Which API family's error format the dialect uses."""
        ...

    def parse(self, body: object) -> SimRequest:
        """Read a request body; raise BadRequest for one the real API would reject."""
        ...

    def body(self, reply: Reply, request: SimRequest) -> JSONObject:
        """The non-streaming response body."""
        ...

    def events(self, reply: Reply, request: SimRequest) -> Iterator[SseEvent]:
        """The streamed response, event by event, in wire order."""
        ...


def new_id(prefix: str, length: int = 24) -> str:
    """A random id such as ``msg_01...``; only ids are random in the simulator."""
    return prefix + "".join(secrets.choice(_ALPHABET) for _ in range(length))


def require_object(body: object) -> Mapping[str, Any]:
    """The body as a JSON object, or BadRequest."""
    if not isinstance(body, Mapping):
        raise BadRequest("request body must be a JSON object")
    return body


def require_str(body: Mapping[str, Any], key: str) -> str:
    """A required non-empty string field."""
    value = body.get(key)
    if not isinstance(value, str) or not value:
        raise BadRequest(f"{key}: field required (a non-empty string)")
    return value


def require_list(body: Mapping[str, Any], key: str) -> list[Any]:
    """A required non-empty list field."""
    value = body.get(key)
    if not isinstance(value, list) or not value:
        raise BadRequest(f"{key}: field required (a non-empty list)")
    return value


def role_of(message: object, roles: frozenset[str]) -> str:
    """The message's role when it is one of ``roles``, else BadRequest."""
    role = message.get("role") if isinstance(message, Mapping) else None
    if not isinstance(role, str) or role not in roles:
        raise BadRequest(f"messages: each message needs a role among {sorted(roles)}")
    return role


def text_of(content: object, text_types: frozenset[str]) -> str:
    """The text in a string or a list of content parts whose type is in ``text_types``."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        raise BadRequest("content must be a string or a list of content parts")
    texts: list[str] = []
    for part in content:
        if not isinstance(part, Mapping) or not isinstance(part.get("type"), str):
            raise BadRequest("each content part must be an object with a type")
        if part["type"] in text_types:
            value = part.get("text", part.get("refusal"))
            if not isinstance(value, str):
                raise BadRequest(f"content part of type {part['type']} needs a string")
            texts.append(value)
    return "\n".join(texts)


def tool_spec(name: object, schema: object) -> ToolSpec:
    """A tool's name and the first required string property of its JSON schema."""
    if not isinstance(name, str) or not name:
        raise BadRequest("tools: each tool needs a name")
    argument: str | None = None
    if isinstance(schema, Mapping):
        properties = schema.get("properties")
        required = schema.get("required")
        if isinstance(properties, Mapping) and isinstance(required, list):
            for key in required:
                spec = properties.get(key) if isinstance(key, str) else None
                if isinstance(spec, Mapping) and spec.get("type") == "string":
                    argument = key
                    break
    return ToolSpec(name=name, argument=argument)


def conversation(
    *,
    user_text: str,
    seed_text: str,
    assistant_texts: list[str],
    tools: list[ToolSpec],
    all_text: list[str],
) -> Conversation:
    """Assemble a Conversation, counting input tokens as the words of all request text."""
    return Conversation(
        user_text=user_text,
        assistant_texts=tuple(assistant_texts),
        tools=tuple(tools),
        input_tokens=max(1, sum(count_words(text) for text in all_text)),
        seed_text=seed_text,
    )


def chunks(text: str, size: int = 12) -> Iterator[str]:
    """``text`` cut into pieces of at most ``size`` characters (streamed tool arguments)."""
    for start in range(0, len(text), size):
        yield text[start : start + size]
