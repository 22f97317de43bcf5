"""The client APIs the gateway inspects, by route."""

from __future__ import annotations

from gateway.dialects.anthropic import AnthropicDialect
from gateway.dialects.base import ChatRequest, Dialect, EventRole, Observation, SseEvent, Watcher
from gateway.dialects.openai_chat import OpenAIChatDialect
from gateway.dialects.openai_responses import OpenAIResponsesDialect

ANTHROPIC = AnthropicDialect()
OPENAI_CHAT = OpenAIChatDialect()
OPENAI_RESPONSES = OpenAIResponsesDialect()

# Bodies longer than this are parsed in the scanning process (`parse_named`): reading a
# megabyte of text into turns (JSON, Unicode normalization, whitespace) would hold the
# event loop 10 to 20 ms, and every other request on the worker with it.
OFF_LOOP_BODY_BYTES = 256 * 1024


def parse_named(dialect: str, body: bytes) -> ChatRequest:
    """`parse_request` of the dialect named `dialect`: what runs in another process."""
    return _BY_NAME[dialect].parse_request(body)


# The inspected routes, in one place.
INSPECTED_ROUTES: dict[str, Dialect] = {
    "/v1/messages": ANTHROPIC,
    "/v1/chat/completions": OPENAI_CHAT,
    "/v1/responses": OPENAI_RESPONSES,
}
_BY_NAME: dict[str, Dialect] = {d.name: d for d in INSPECTED_ROUTES.values()}

__all__ = [
    "ANTHROPIC",
    "INSPECTED_ROUTES",
    "OFF_LOOP_BODY_BYTES",
    "OPENAI_CHAT",
    "OPENAI_RESPONSES",
    "ChatRequest",
    "Dialect",
    "EventRole",
    "Observation",
    "SseEvent",
    "Watcher",
    "parse_named",
]
