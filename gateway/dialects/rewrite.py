"""What the gateway adds to a request on its way upstream, shared by the dialects.

Two additions, both made by each dialect in its own format (`Dialect.add_end_tool`,
`Dialect.add_guidance`): the `end_conversation` tool the model may call, and care guidance
appended to the system prompt. The client's own tools and system prompt are kept whole.
"""

from __future__ import annotations

from typing import Any

from gateway.dialects.base import JSONObject

END_TOOL = "end_conversation"
END_TOOL_DESCRIPTION = (
    "End this conversation. Use it only as a last resort: after the user has insisted "
    "several times on harmful content (sexual content involving minors, help with weapons "
    "of mass destruction, terrorism or mass violence) even though you refused and tried to "
    "redirect, or when the user asks you to end the conversation. Never use it when the "
    "user may be at risk of harming themselves or others: help them and point them to "
    "support instead. Once called, the user cannot send further messages in this thread."
)
END_TOOL_SCHEMA: JSONObject = {
    "type": "object",
    "properties": {
        "reason": {"type": "string", "description": "Why the conversation is ending, briefly."}
    },
}


def tools_allowed(body: JSONObject) -> bool:
    """Whether the request lets the model call tools at all (`tool_choice` not none)."""
    choice = body.get("tool_choice")
    if choice == "none":
        return False
    return not (isinstance(choice, dict) and choice.get("type") == "none")


def append_tool(body: JSONObject, tool: JSONObject) -> None:
    """Offer `tool` beside the client's tools (in place)."""
    tools: list[Any] = list(body.get("tools") or [])
    tools.append(tool)
    body["tools"] = tools


def appended_text(text: Any, guidance: str) -> str:
    """`guidance` after the client's own text, when it has any."""
    return f"{text}\n\n{guidance}" if isinstance(text, str) and text else guidance
