"""The client APIs the gateway inspects, by route."""

from __future__ import annotations

from gateway.dialects.anthropic import AnthropicDialect
from gateway.dialects.base import ChatRequest, Dialect, EventRole, Observation, SseEvent, Watcher
from gateway.dialects.openai_chat import OpenAIChatDialect
from gateway.dialects.openai_responses import OpenAIResponsesDialect

ANTHROPIC = AnthropicDialect()
OPENAI_CHAT = OpenAIChatDialect()
OPENAI_RESPONSES = OpenAIResponsesDialect()

# The inspected routes, in one place.
INSPECTED_ROUTES: dict[str, Dialect] = {
    "/v1/messages": ANTHROPIC,
    "/v1/chat/completions": OPENAI_CHAT,
    "/v1/responses": OPENAI_RESPONSES,
}

__all__ = [
    "ANTHROPIC",
    "INSPECTED_ROUTES",
    "OPENAI_CHAT",
    "OPENAI_RESPONSES",
    "ChatRequest",
    "Dialect",
    "EventRole",
    "Observation",
    "SseEvent",
    "Watcher",
]
