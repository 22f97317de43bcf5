"""Changes the gateway makes to a request on its way upstream, per dialect.

Two, both additive: the `end_conversation` tool the model may call, and care guidance
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


def end_tool(dialect: str) -> JSONObject:
    """The end tool's definition in `dialect`'s tool format."""
    if dialect == "anthropic":
        return {
            "name": END_TOOL,
            "description": END_TOOL_DESCRIPTION,
            "input_schema": END_TOOL_SCHEMA,
        }
    if dialect == "openai_chat":
        return {
            "type": "function",
            "function": {
                "name": END_TOOL,
                "description": END_TOOL_DESCRIPTION,
                "parameters": END_TOOL_SCHEMA,
            },
        }
    return {
        "type": "function",
        "name": END_TOOL,
        "description": END_TOOL_DESCRIPTION,
        "parameters": END_TOOL_SCHEMA,
    }


def tools_allowed(body: JSONObject) -> bool:
    """Whether the request lets the model call tools at all (`tool_choice` not none)."""
    choice = body.get("tool_choice")
    if choice == "none":
        return False
    return not (isinstance(choice, dict) and choice.get("type") == "none")


def add_end_tool(dialect: str, body: JSONObject) -> None:
    """Offer the end tool beside the client's tools (in place)."""
    tools: list[Any] = list(body.get("tools") or [])
    tools.append(end_tool(dialect))
    body["tools"] = tools


def add_guidance(dialect: str, body: JSONObject, guidance: str) -> None:
    """Append care guidance to the system prompt, keeping the client's own (in place)."""
    if dialect == "anthropic":
        system = body.get("system")
        if isinstance(system, list):
            body["system"] = [*system, {"type": "text", "text": guidance}]
        elif isinstance(system, str) and system:
            body["system"] = f"{system}\n\n{guidance}"
        else:
            body["system"] = guidance
    elif dialect == "openai_chat":
        messages = list(body.get("messages") or [])
        at = 0
        while at < len(messages) and messages[at].get("role") in ("system", "developer"):
            at += 1
        messages.insert(at, {"role": "system", "content": guidance})
        body["messages"] = messages
    else:
        instructions = body.get("instructions")
        body["instructions"] = f"{instructions}\n\n{guidance}" if instructions else guidance
