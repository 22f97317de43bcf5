"""Request bodies each API refuses, and so must the gateway: a 400, never forwarded.

Each case is a valid request with one thing broken (or raw bytes that are no request at
all). `CORPUS` holds them all as `(api, name, body)`; a body is bytes sent as they are, or a
JSON value.
"""

from __future__ import annotations

from typing import Any

PATHS = {
    "anthropic": "/v1/messages",
    "chat": "/v1/chat/completions",
    "responses": "/v1/responses",
}

VALID: dict[str, dict[str, Any]] = {
    "anthropic": {"model": "m", "max_tokens": 50, "messages": [{"role": "user", "content": "hi"}]},
    "chat": {"model": "m", "messages": [{"role": "user", "content": "hi"}]},
    "responses": {"model": "m", "input": "hi"},
}

# Bytes that are not a request object, for every API.
RAW = {
    "empty": b"",
    "truncated": b'{"model": "m"',
    "not json": b"{not json",
    "array": b"[1, 2]",
    "null": b"null",
    "string": b'"hello"',
    "number": b"42",
    "invalid utf-8": b'{"model": "\xff\xfe"}',
    "NaN": b'{"model": NaN}',
    "nested too deep": b'{"a":' * 2000 + b"1" + b"}" * 2000,
    "trailing garbage": b'{"model": "m"} x',
}

# Values that are wrong wherever a list, an object or a string is expected.
NOT_LIST = {"number": 5, "true": True, "string": "x", "object": {}}
NOT_OBJECT = {"number": 5, "string": "x", "list": [], "null": None}
NOT_STRING = {"number": 5, "list": ["text"], "object": {"a": 1}, "true": True}


def _anthropic(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "model": "m",
        "max_tokens": 50,
        "messages": [{"role": "user", "content": "hi"}],
    }
    body.update(changes)
    return body


def _anthropic_content(*blocks: Any, role: str = "user") -> dict[str, Any]:
    return _anthropic(messages=[{"role": role, "content": list(blocks)}])


def _chat(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
    body.update(changes)
    return body


def _chat_message(message: Any) -> dict[str, Any]:
    return _chat(messages=[{"role": "user", "content": "hi"}, message])


def _responses(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"model": "m", "input": "hi"}
    body.update(changes)
    return body


def _responses_item(item: Any) -> dict[str, Any]:
    return _responses(input=[{"role": "user", "content": "hi"}, item])


def _anthropic_cases() -> dict[str, Any]:
    cases: dict[str, Any] = {
        "no model": {"max_tokens": 5, "messages": []},
        "model empty": _anthropic(model=""),
        "model number": _anthropic(model=5),
        "no max_tokens": {"model": "m", "messages": []},
        "max_tokens string": _anthropic(max_tokens="5"),
        "max_tokens bool": _anthropic(max_tokens=True),
        "max_tokens float": _anthropic(max_tokens=1.5),
        "stream string": _anthropic(stream="yes"),
        "stream number": _anthropic(stream=1),
        "no messages": {"model": "m", "max_tokens": 5},
        "role system": _anthropic(messages=[{"role": "system", "content": "x"}]),
        "role missing": _anthropic(messages=[{"content": "x"}]),
        "role list": _anthropic(messages=[{"role": ["user"], "content": "x"}]),
        "role object": _anthropic(messages=[{"role": {"user": 1}, "content": "x"}]),
        "role number": _anthropic(messages=[{"role": 1, "content": "x"}]),
        "message not object": _anthropic(messages=["hi"]),
        "message null": _anthropic(messages=[None]),
        "user message no content": _anthropic(messages=[{"role": "user"}]),
        "content null": _anthropic(messages=[{"role": "user", "content": None}]),
        "content number": _anthropic(messages=[{"role": "user", "content": 5}]),
        "content object": _anthropic(messages=[{"role": "user", "content": {"text": "x"}}]),
        "block number": _anthropic_content(5),
        "block string": _anthropic_content("hi"),
        "block null": _anthropic_content(None),
        "block no type": _anthropic_content({"text": "hi"}),
        "block type empty": _anthropic_content({"type": "", "text": "hi"}),
        "text missing": _anthropic_content({"type": "text"}),
        "image no source": _anthropic_content({"type": "image"}),
        "image source string": _anthropic_content({"type": "image", "source": "x"}),
        "image source empty": _anthropic_content({"type": "image", "source": {}}),
        "image base64 no data": _anthropic_content(
            {"type": "image", "source": {"type": "base64", "media_type": "image/png"}}
        ),
        "document no source": _anthropic_content({"type": "document"}),
        "document url no url": _anthropic_content({"type": "document", "source": {"type": "url"}}),
        "tool_use no name": _anthropic_content(
            {"type": "tool_use", "id": "t1", "input": {}}, role="assistant"
        ),
        "tool_use name empty": _anthropic_content(
            {"type": "tool_use", "id": "t1", "name": "", "input": {}}, role="assistant"
        ),
        "tool_use name number": _anthropic_content(
            {"type": "tool_use", "id": "t1", "name": 5, "input": {}}, role="assistant"
        ),
        "tool_use input string": _anthropic_content(
            {"type": "tool_use", "id": "t1", "name": "f", "input": "{}"}, role="assistant"
        ),
        "tool_use no input": _anthropic_content(
            {"type": "tool_use", "id": "t1", "name": "f"}, role="assistant"
        ),
        "server_tool_use no name": _anthropic_content(
            {"type": "server_tool_use", "id": "s1", "input": {}}, role="assistant"
        ),
        "tool_result content number": _anthropic_content(
            {"type": "tool_result", "tool_use_id": "t1", "content": 5}
        ),
        "tool_result block no type": _anthropic_content(
            {"type": "tool_result", "tool_use_id": "t1", "content": [{"text": "x"}]}
        ),
        "tool_result text not string": _anthropic_content(
            {"type": "tool_result", "tool_use_id": "t1", "content": [{"type": "text", "text": 1}]}
        ),
        "tool_result image no source": _anthropic_content(
            {"type": "tool_result", "tool_use_id": "t1", "content": [{"type": "image"}]}
        ),
        "container_upload no file_id": _anthropic_content({"type": "container_upload"}),
        "system number": _anthropic(system=5),
        "system object": _anthropic(system={"text": "x"}),
        "system block number": _anthropic(system=[5]),
        "system block no text": _anthropic(system=[{"type": "text"}]),
        "system block image": _anthropic(
            system=[{"type": "image", "source": {"type": "url", "url": "http://x"}}]
        ),
        "tools entry number": _anthropic(tools=[1]),
        "tools entry string": _anthropic(tools=["get_weather"]),
    }
    for kind, value in NOT_LIST.items():
        cases[f"tools {kind}"] = _anthropic(tools=value)
        cases[f"messages {kind}"] = _anthropic(messages=value)
    for kind, value in NOT_STRING.items():
        cases[f"text {kind}"] = _anthropic_content({"type": "text", "text": value})
        cases[f"block type {kind}"] = _anthropic_content({"type": value, "text": "hi"})
    return cases


def _chat_cases() -> dict[str, Any]:
    cases: dict[str, Any] = {
        "no model": {"messages": [{"role": "user", "content": "hi"}]},
        "model number": _chat(model=5),
        "stream string": _chat(stream="yes"),
        "no messages": {"model": "m"},
        "messages empty": _chat(messages=[]),
        "message not object": _chat(messages=["hi"]),
        "role missing": _chat(messages=[{"content": "hi"}]),
        "role wizard": _chat(messages=[{"role": "wizard", "content": "hi"}]),
        "role number": _chat(messages=[{"role": 5, "content": "hi"}]),
        "role null": _chat(messages=[{"role": None, "content": "hi"}]),
        "user message no content": _chat(messages=[{"role": "user"}]),
        "user content null": _chat(messages=[{"role": "user", "content": None}]),
        "user content number": _chat(messages=[{"role": "user", "content": 5}]),
        "user content object": _chat(messages=[{"role": "user", "content": {"a": 1}}]),
        "system no content": _chat_message({"role": "system"}),
        "developer content null": _chat_message({"role": "developer", "content": None}),
        "system part number": _chat_message({"role": "system", "content": [5]}),
        "tool no content": _chat_message({"role": "tool", "tool_call_id": "c1"}),
        "tool content number": _chat_message({"role": "tool", "tool_call_id": "c1", "content": 5}),
        "part number": _chat(messages=[{"role": "user", "content": [5]}]),
        "part string": _chat(messages=[{"role": "user", "content": ["hi"]}]),
        "part no type": _chat(messages=[{"role": "user", "content": [{"text": "hi"}]}]),
        "text part no text": _chat(messages=[{"role": "user", "content": [{"type": "text"}]}]),
        "image_url no image": _chat(
            messages=[{"role": "user", "content": [{"type": "image_url"}]}]
        ),
        "image_url empty": _chat(
            messages=[{"role": "user", "content": [{"type": "image_url", "image_url": {}}]}]
        ),
        "image_url url number": _chat(
            messages=[{"role": "user", "content": [{"type": "image_url", "image_url": {"url": 5}}]}]
        ),
        "input_audio no audio": _chat(
            messages=[{"role": "user", "content": [{"type": "input_audio"}]}]
        ),
        "input_audio no data": _chat(
            messages=[
                {
                    "role": "user",
                    "content": [{"type": "input_audio", "input_audio": {"format": "wav"}}],
                }
            ]
        ),
        "file no file": _chat(messages=[{"role": "user", "content": [{"type": "file"}]}]),
        "file only filename": _chat(
            messages=[
                {"role": "user", "content": [{"type": "file", "file": {"filename": "a.pdf"}}]}
            ]
        ),
        "refusal part no refusal": _chat_message(
            {"role": "assistant", "content": [{"type": "refusal"}]}
        ),
        "assistant content number": _chat_message({"role": "assistant", "content": 5}),
        "assistant refusal number": _chat_message({"role": "assistant", "refusal": 5}),
        "tool_call not object": _chat_message({"role": "assistant", "tool_calls": [5]}),
        "tool_call empty": _chat_message({"role": "assistant", "tool_calls": [{}]}),
        "tool call no name": _chat_message(
            {
                "role": "assistant",
                "tool_calls": [{"id": "c1", "type": "function", "function": {"arguments": "{}"}}],
            }
        ),
        "tool call name number": _chat_message(
            {
                "role": "assistant",
                "tool_calls": [{"id": "c1", "type": "function", "function": {"name": 5}}],
            }
        ),
        "tool call function string": _chat_message(
            {"role": "assistant", "tool_calls": [{"id": "c1", "type": "function", "function": "f"}]}
        ),
        "custom call no name": _chat_message(
            {"role": "assistant", "tool_calls": [{"id": "c1", "type": "custom", "custom": {}}]}
        ),
        "function_call no name": _chat_message(
            {"role": "assistant", "function_call": {"arguments": "{}"}}
        ),
        "function_call string": _chat_message({"role": "assistant", "function_call": "f"}),
        "tools entry number": _chat(tools=[1]),
        "tools entry null": _chat(tools=[None]),
    }
    for kind, value in NOT_LIST.items():
        cases[f"tools {kind}"] = _chat(tools=value)
        cases[f"tool_calls {kind}"] = _chat_message({"role": "assistant", "tool_calls": value})
        cases[f"messages {kind}"] = _chat(messages=value)
    for kind, value in NOT_STRING.items():
        cases[f"role {kind}"] = _chat(messages=[{"role": value, "content": "hi"}])
        cases[f"part type {kind}"] = _chat(
            messages=[{"role": "user", "content": [{"type": value, "text": "hi"}]}]
        )
        cases[f"text {kind}"] = _chat(
            messages=[{"role": "user", "content": [{"type": "text", "text": value}]}]
        )
    return cases


def _responses_cases() -> dict[str, Any]:
    cases: dict[str, Any] = {
        "no model": {"input": "hi"},
        "model number": _responses(model=5),
        "stream string": _responses(stream="yes"),
        "input number": _responses(input=5),
        "input object": _responses(input={"role": "user", "content": "hi"}),
        "input true": _responses(input=True),
        "item number": _responses(input=[1]),
        "item string": _responses(input=["hi"]),
        "item null": _responses(input=[None]),
        "role missing": _responses(input=[{"content": "hi"}]),
        "role tool": _responses(input=[{"role": "tool", "content": "hi"}]),
        "user message no content": _responses(input=[{"role": "user"}]),
        "content null": _responses(input=[{"role": "user", "content": None}]),
        "content number": _responses(input=[{"role": "user", "content": 5}]),
        "content object": _responses(input=[{"role": "user", "content": {"text": "hi"}}]),
        "typed message no content": _responses(input=[{"type": "message", "role": "user"}]),
        "part number": _responses(input=[{"role": "user", "content": [5]}]),
        "part no type": _responses(input=[{"role": "user", "content": [{"text": "hi"}]}]),
        "input_text no text": _responses(
            input=[{"role": "user", "content": [{"type": "input_text"}]}]
        ),
        "input_image no source": _responses(
            input=[{"role": "user", "content": [{"type": "input_image", "detail": "auto"}]}]
        ),
        "input_image url number": _responses(
            input=[{"role": "user", "content": [{"type": "input_image", "image_url": 5}]}]
        ),
        "input_file nothing": _responses(
            input=[{"role": "user", "content": [{"type": "input_file", "filename": "a.pdf"}]}]
        ),
        "output_text null": _responses_item(
            {"role": "assistant", "content": [{"type": "output_text", "text": None}]}
        ),
        "refusal part no refusal": _responses_item(
            {"type": "message", "role": "assistant", "content": [{"type": "refusal"}]}
        ),
        "function_call no name": _responses_item(
            {"type": "function_call", "call_id": "c1", "arguments": "{}"}
        ),
        "function_call name number": _responses_item(
            {"type": "function_call", "call_id": "c1", "name": 5, "arguments": "{}"}
        ),
        "function_call name empty": _responses_item(
            {"type": "function_call", "call_id": "c1", "name": "", "arguments": "{}"}
        ),
        "custom_tool_call no name": _responses_item(
            {"type": "custom_tool_call", "call_id": "c1", "input": "x"}
        ),
        "function_call_output no output": _responses_item(
            {"type": "function_call_output", "call_id": "c1"}
        ),
        "function_call_output number": _responses_item(
            {"type": "function_call_output", "call_id": "c1", "output": 5}
        ),
        "function_call_output part number": _responses_item(
            {"type": "function_call_output", "call_id": "c1", "output": [5]}
        ),
        "function_call_output part no text": _responses_item(
            {"type": "function_call_output", "call_id": "c1", "output": [{"type": "input_text"}]}
        ),
        "custom_tool_call_output no output": _responses_item(
            {"type": "custom_tool_call_output", "call_id": "c1"}
        ),
        "instructions number": _responses(instructions=5),
        "instructions list": _responses(instructions=["be nice"]),
        "instructions object": _responses(instructions={"text": "be nice"}),
        "previous_response_id number": _responses(previous_response_id=5),
        "conversation number": _responses(conversation=5),
        "conversation id number": _responses(conversation={"id": 5}),
        "tools entry number": _responses(tools=[1]),
    }
    for kind, value in NOT_LIST.items():
        cases[f"tools {kind}"] = _responses(tools=value)
    for kind, value in NOT_STRING.items():
        cases[f"role {kind}"] = _responses(input=[{"role": value, "content": "hi"}])
        cases[f"item type {kind}"] = _responses(
            input=[{"type": value, "role": "user", "content": "hi"}]
        )
        cases[f"part type {kind}"] = _responses(
            input=[{"role": "user", "content": [{"type": value, "text": "hi"}]}]
        )
        cases[f"input_text {kind}"] = _responses(
            input=[{"role": "user", "content": [{"type": "input_text", "text": value}]}]
        )
    for kind, value in NOT_OBJECT.items():
        cases[f"message item {kind}"] = _responses_item(value)
    return cases


def _corpus() -> list[tuple[str, str, Any]]:
    out: list[tuple[str, str, Any]] = []
    builders = {"anthropic": _anthropic_cases, "chat": _chat_cases, "responses": _responses_cases}
    for api, build in builders.items():
        out += [(api, f"raw {name}", body) for name, body in RAW.items()]
        out += [(api, name, body) for name, body in build().items()]
    return out


CORPUS = _corpus()
