"""Valid requests with unusual but legal shapes: the gateway must forward each as it is."""

from __future__ import annotations

from typing import Any

PNG = (
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQ"
    "AAAABJRU5ErkJggg=="
)
USER_HI = {"role": "user", "content": "hi"}


def _anthropic(*messages: Any, **extra: Any) -> dict[str, Any]:
    return {"model": "m", "max_tokens": 50, "messages": list(messages), **extra}


def _user(*blocks: Any) -> dict[str, Any]:
    return {"role": "user", "content": list(blocks)}


def _assistant(*blocks: Any) -> dict[str, Any]:
    return {"role": "assistant", "content": list(blocks)}


SEARCH_RESULT = {
    "type": "search_result",
    "source": "https://example.com/a",
    "title": "A page",
    "content": [{"type": "text", "text": "Some found text."}],
    "citations": {"enabled": True},
}

ANTHROPIC: dict[str, dict[str, Any]] = {
    "thinking and redacted_thinking": _anthropic(
        USER_HI,
        _assistant(
            {"type": "thinking", "thinking": "Let me think.", "signature": "c2ln"},
            {"type": "redacted_thinking", "data": "ZW5jcnlwdGVk"},
            {"type": "text", "text": "Hello."},
        ),
        {"role": "user", "content": "and then?"},
        thinking={"type": "enabled", "budget_tokens": 1024},
    ),
    "server_tool_use and web_search_tool_result": _anthropic(
        USER_HI,
        _assistant(
            {"type": "server_tool_use", "id": "srv_1", "name": "web_search", "input": {"q": "x"}},
            {
                "type": "web_search_tool_result",
                "tool_use_id": "srv_1",
                "content": [
                    {
                        "type": "web_search_result",
                        "url": "https://example.com",
                        "title": "Example",
                        "encrypted_content": "ZW5j",
                        "page_age": "1 day",
                    }
                ],
            },
            {"type": "text", "text": "Found it."},
        ),
        {"role": "user", "content": "thanks"},
        tools=[{"type": "web_search_20250305", "name": "web_search", "max_uses": 3}],
    ),
    "search_result in user content": _anthropic(
        _user({"type": "text", "text": "hi"}, SEARCH_RESULT)
    ),
    "search_result in a tool_result": _anthropic(
        USER_HI,
        _assistant({"type": "tool_use", "id": "t1", "name": "search", "input": {"q": "x"}}),
        _user({"type": "tool_result", "tool_use_id": "t1", "content": [SEARCH_RESULT]}),
    ),
    "document with a text source": _anthropic(
        _user(
            {
                "type": "document",
                "source": {"type": "text", "media_type": "text/plain", "data": "A plain text."},
                "title": "Notes",
                "context": "My notes",
                "citations": {"enabled": True},
            },
            {"type": "text", "text": "Summarize."},
        )
    ),
    "document with a content source": _anthropic(
        _user(
            {
                "type": "document",
                "source": {"type": "content", "content": [{"type": "text", "text": "Part one."}]},
            },
            {"type": "text", "text": "Summarize."},
        )
    ),
    "document by url, base64 and file": _anthropic(
        _user(
            {"type": "document", "source": {"type": "url", "url": "https://example.com/a.pdf"}},
            {
                "type": "document",
                "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBERi0="},
            },
            {"type": "document", "source": {"type": "file", "file_id": "file_011"}},
            {"type": "text", "text": "Compare them."},
        )
    ),
    "images by base64, url and file": _anthropic(
        _user(
            {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}},
            {"type": "image", "source": {"type": "url", "url": "https://example.com/a.png"}},
            {"type": "image", "source": {"type": "file", "file_id": "file_012"}},
            {"type": "text", "text": "What is this?"},
        )
    ),
    "container_upload": _anthropic(
        _user(
            {"type": "container_upload", "file_id": "file_013"},
            {"type": "text", "text": "Analyse the file."},
        ),
        tools=[{"type": "code_execution_20250825", "name": "code_execution"}],
    ),
    "mcp_tool_use and mcp_tool_result": _anthropic(
        USER_HI,
        _assistant(
            {
                "type": "mcp_tool_use",
                "id": "m1",
                "name": "echo",
                "server_name": "srv",
                "input": {"x": 1},
            },
            {
                "type": "mcp_tool_result",
                "tool_use_id": "m1",
                "is_error": False,
                "content": [{"type": "text", "text": "1"}],
            },
        ),
        {"role": "user", "content": "ok"},
        mcp_servers=[{"type": "url", "url": "https://mcp.example.com", "name": "srv"}],
        tools=[{"type": "mcp_toolset", "mcp_server_name": "srv"}],
    ),
    "tool_result without content, and is_error": _anthropic(
        USER_HI,
        _assistant({"type": "tool_use", "id": "t1", "name": "f", "input": {}}),
        _user(
            {"type": "tool_result", "tool_use_id": "t1"},
            {"type": "tool_result", "tool_use_id": "t2", "is_error": True, "content": "boom"},
        ),
    ),
    "system blocks with cache_control": _anthropic(
        USER_HI,
        system=[{"type": "text", "text": "Be brief.", "cache_control": {"type": "ephemeral"}}],
    ),
    "empty messages, stream null": _anthropic(stream=None),
}


def _chat(*messages: Any, **extra: Any) -> dict[str, Any]:
    return {"model": "m", "messages": list(messages), **extra}


CHAT: dict[str, dict[str, Any]] = {
    "input_audio": _chat(
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "What is said?"},
                {"type": "input_audio", "input_audio": {"data": "UklGRg==", "format": "wav"}},
            ],
        }
    ),
    "refusal part and refusal field": _chat(
        USER_HI,
        {"role": "assistant", "content": [{"type": "refusal", "refusal": "I can't help."}]},
        {"role": "assistant", "content": None, "refusal": "I can't help."},
        {"role": "user", "content": "ok"},
    ),
    "tool calls, null content, tool message": _chat(
        USER_HI,
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}},
                {"id": "c2", "type": "custom", "custom": {"name": "g", "input": "raw"}},
            ],
        },
        {"role": "tool", "tool_call_id": "c1", "content": [{"type": "text", "text": "42"}]},
        {"role": "tool", "tool_call_id": "c2", "content": "done"},
        tools=[
            {"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}},
            {"type": "custom", "custom": {"name": "g"}},
        ],
    ),
    "legacy function_call and function role": _chat(
        USER_HI,
        {"role": "assistant", "content": None, "function_call": {"name": "f", "arguments": "{}"}},
        {"role": "function", "name": "f", "content": None},
    ),
    "developer, images and files": _chat(
        {"role": "developer", "content": [{"type": "text", "text": "Be brief."}]},
        {
            "role": "user",
            "content": [
                {
                    "type": "image_url",
                    "image_url": {"url": "https://example.com/a.png", "detail": "low"},
                },
                {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}"}},
                {"type": "file", "file": {"file_id": "file-1"}},
                {
                    "type": "file",
                    "file": {
                        "filename": "a.pdf",
                        "file_data": "data:application/pdf;base64,JVBERi0=",
                    },
                },
                {"type": "text", "text": "Describe."},
            ],
        },
    ),
    "assistant audio reference": _chat(
        USER_HI,
        {"role": "assistant", "audio": {"id": "audio_1"}},
        {"role": "user", "content": "ok"},
    ),
}


def _responses(*items: Any, **extra: Any) -> dict[str, Any]:
    return {"model": "m", "input": list(items), **extra}


RESPONSES: dict[str, dict[str, Any]] = {
    "reasoning": _responses(
        USER_HI,
        {
            "type": "reasoning",
            "id": "rs_1",
            "summary": [{"type": "summary_text", "text": "Thought."}],
            "encrypted_content": "ZW5j",
        },
        {
            "type": "message",
            "role": "assistant",
            "content": [{"type": "output_text", "text": "Hi."}],
        },
        {"role": "user", "content": "more"},
    ),
    "item_reference": _responses(
        {"type": "item_reference", "id": "msg_1"}, {"role": "user", "content": "and then?"}
    ),
    "web_search_call": _responses(
        USER_HI,
        {
            "type": "web_search_call",
            "id": "ws_1",
            "status": "completed",
            "action": {"type": "search", "query": "x"},
        },
        {"role": "user", "content": "thanks"},
        tools=[{"type": "web_search"}],
    ),
    "computer_call and computer_call_output": _responses(
        USER_HI,
        {
            "type": "computer_call",
            "id": "cu_1",
            "call_id": "call_1",
            "action": {"type": "screenshot"},
            "pending_safety_checks": [],
            "status": "completed",
        },
        {
            "type": "computer_call_output",
            "call_id": "call_1",
            "output": {"type": "computer_screenshot", "image_url": f"data:image/png;base64,{PNG}"},
        },
        tools=[
            {
                "type": "computer_use_preview",
                "display_width": 800,
                "display_height": 600,
                "environment": "browser",
            }
        ],
    ),
    "mcp items": _responses(
        USER_HI,
        {
            "type": "mcp_list_tools",
            "id": "ml_1",
            "server_label": "srv",
            "tools": [{"name": "echo", "input_schema": {"type": "object"}}],
        },
        {
            "type": "mcp_approval_request",
            "id": "mr_1",
            "server_label": "srv",
            "name": "echo",
            "arguments": "{}",
        },
        {"type": "mcp_approval_response", "approval_request_id": "mr_1", "approve": True},
        {
            "type": "mcp_call",
            "id": "mc_1",
            "server_label": "srv",
            "name": "echo",
            "arguments": "{}",
            "output": "ok",
        },
        tools=[{"type": "mcp", "server_label": "srv", "server_url": "https://mcp.example.com"}],
    ),
    "function and custom tool calls with outputs": _responses(
        USER_HI,
        {"type": "function_call", "call_id": "c1", "name": "f", "arguments": "{}"},
        {
            "type": "function_call_output",
            "call_id": "c1",
            "output": [{"type": "input_text", "text": "42"}],
        },
        {"type": "custom_tool_call", "call_id": "c2", "name": "g", "input": "raw"},
        {"type": "custom_tool_call_output", "call_id": "c2", "output": "done"},
        tools=[{"type": "function", "name": "f", "parameters": {"type": "object"}}],
    ),
    "local shell call and output": _responses(
        USER_HI,
        {
            "type": "local_shell_call",
            "id": "ls_1",
            "call_id": "c3",
            "action": {"type": "exec", "command": ["ls"], "env": {}},
            "status": "completed",
        },
        {"type": "local_shell_call_output", "id": "ls_1", "output": "a.txt"},
    ),
    "images and files": _responses(
        {
            "role": "user",
            "content": [
                {"type": "input_image", "file_id": "file-1", "detail": "auto"},
                {"type": "input_image", "image_url": "https://example.com/a.png"},
                {"type": "input_file", "file_url": "https://example.com/a.pdf"},
                {
                    "type": "input_file",
                    "filename": "a.pdf",
                    "file_data": "data:application/pdf;base64,JVBERi0=",
                },
                {"type": "input_text", "text": "Describe."},
            ],
        }
    ),
    "instructions, conversation object, developer message": {
        "model": "m",
        "instructions": "Be brief.",
        "conversation": {"id": "conv_abc"},
        "input": [{"role": "developer", "content": "Be kind."}, USER_HI],
    },
    "no input at all": {"model": "m", "previous_response_id": "resp_0"},
}

LEGAL: list[tuple[str, str, dict[str, Any]]] = [
    *(("anthropic", name, body) for name, body in ANTHROPIC.items()),
    *(("chat", name, body) for name, body in CHAT.items()),
    *(("responses", name, body) for name, body in RESPONSES.items()),
]
